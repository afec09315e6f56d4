/*
 * logdirty-probe - is log-dirty tracking on for a Xen domain?  For the lab
 * suites only: Xen reports it nowhere (PEEK works either way), so this asks
 * it to turn tracking on: EINVAL means it already was; otherwise it was
 * off, and is turned off again at once.  Prints "on" or "off".
 *
 * usage: logdirty-probe DOMID
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenctrl.h>

int
main(int argc, char **argv)
{
	xc_interface *xch;
	char *end;
	unsigned long domid;
	int rc, err;

	if (argc != 2) {
		fprintf(stderr, "usage: logdirty-probe DOMID\n");
		return 2;
	}
	domid = strtoul(argv[1], &end, 10);
	if (*argv[1] == '\0' || *end != '\0' || domid >= DOMID_FIRST_RESERVED) {
		fprintf(stderr, "logdirty-probe: %s: not a domain id\n", argv[1]);
		return 2;
	}
	if ((xch = xc_interface_open(NULL, NULL, 0)) == NULL) {
		fprintf(stderr, "logdirty-probe: xc_interface_open: %s\n",
		    strerror(errno));
		return 1;
	}
	rc = xc_shadow_control(xch, domid,
	    XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, NULL, 0);
	err = errno;
	if (rc == 0) {
		if (xc_shadow_control(xch, domid, XEN_DOMCTL_SHADOW_OP_OFF,
		    NULL, 0) < 0) {
			fprintf(stderr, "logdirty-probe: turning it off again: "
			    "%s\n", strerror(errno));
			return 1;
		}
		puts("off");
	} else if (err == EINVAL) {
		puts("on");
	} else {
		fprintf(stderr, "logdirty-probe: domain %lu: %s\n", domid,
		    strerror(err));
		return 1;
	}
	xc_interface_close(xch);
	return 0;
}
