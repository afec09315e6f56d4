/*
 * xen_dev.c - the xen backend's disks (vbd) and network interfaces (vif):
 * what libxl 4.17 does for them when `xl restore` builds a domain.
 * xen_priv.h has the interface.
 *
 * xen_devs_parse reads "disks" and "nics" of the libxl domain config
 * (libxl_types.idl names; libxl's JSON leaves out fields at their default)
 * and applies libxl's defaults: libxl_disk.c libxl__device_disk_setdefault
 * with libxl_device.c libxl__device_disk_set_backend (phy only), and
 * libxl_nic.c libxl__device_nic_setdefault.  The config comes from a
 * stream: every field is checked, a field we do not know is refused, and a
 * hotplug script can only be one of SCRIPT_DIR.
 *
 * xen_devs_add writes each device as libxl_device.c
 * libxl__device_generic_add does (frontend, backend, and the copy under
 * /libxl/N/device that libxl__devices_destroy reads for xl destroy), waits
 * for the backend's InitWait as libxl__wait_device_connection, runs the
 * hotplug script with libxl_linux.c's argv and environment, and checks
 * that it connected the device.  A failure undoes every device it added.
 *
 * The undo and xen_devs_remove are libxl__initiate_device_generic_remove
 * with the force of xl destroy: frontend removed, backend online 0 and
 * Closing, a bounded wait for Closed, the remove script, then
 * libxl__device_destroy's removal of the three directories.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "libxl_json.h"
#include "progress.h"
#include "xen_priv.h"

#include <xen/io/xenbus.h>

#define XD_MAX_DISKS	16
#define XD_MAX_NICS	16
#define XD_STR		256		/* a path, a list of addresses */
#define XD_IFNAME	16		/* IFNAMSIZ */
#define XD_NAME		64		/* a script's name */
#define XD_PATH		160		/* a xenstore path */
#define XD_KV		20		/* keys of one directory */

#ifndef SCRIPT_DIR
#define SCRIPT_DIR	"/etc/xen/scripts"	/* Debian's XEN_SCRIPT_DIR */
#endif
#ifndef HOTPLUG_LOG_DIR
#define HOTPLUG_LOG_DIR	"/var/log/xen"
#endif
#define HOTPLUG_LOG	HOTPLUG_LOG_DIR "/xenpipe-hotplug.log"

#define INIT_MS		10000	/* libxl_internal.h LIBXL_INIT_TIMEOUT */
#define DESTROY_MS	10000	/* LIBXL_DESTROY_TIMEOUT */
#define HOTPLUG_MS	40000	/* LIBXL_HOTPLUG_TIMEOUT */
#define POLL_MS		50
#define MTU_DEFAULT	1500	/* LIBXL_DEVICE_NIC_MTU_DEFAULT */

struct xd_disk {
	char vdev[16];
	int devid;			/* libxl__device_disk_dev_number */
	char pdev[XD_STR];
	char script[XD_STR];		/* absolute */
	int rw, removable, cdrom, direct_io, discard, trusted;
};

struct xd_nic {
	int devid;			/* -1 until given one */
	uint8_t mac[6];
	unsigned int mtu;
	char bridge[XD_IFNAME], ifname[XD_IFNAME], gatewaydev[XD_IFNAME];
	char ip[XD_STR];
	char script[XD_STR];		/* absolute */
	uint64_t rate_bytes;
	uint32_t rate_usecs;
	int trusted;
};

struct xen_devs {
	unsigned int ndisks, nnics;
	struct xd_disk disk[XD_MAX_DISKS];
	struct xd_nic nic[XD_MAX_NICS];
};

/* One device in xenstore. */
struct xd_dev {
	const char *kind;		/* "vbd" or "vif": frontend, /libxl */
	char bkind[16];			/* the backend's kind */
	uint32_t bdom;			/* the backend's domain */
	int devid;
	char name[32];			/* "vbd xvda", "vif 0": for messages */
	char fe[XD_PATH], be[XD_PATH], lx[XD_PATH];
	int state;			/* removal: the backend's, -1 gone */
};

struct kv {
	const char *k;
	char v[XD_STR + 32];
};

struct kvs {
	unsigned int n;
	struct kv e[XD_KV];
};

/* What libxl__device_generic_add writes for one device. */
struct xd_add {
	uint32_t domid;
	const struct xd_dev *v;
	struct kvs back, front, ro;	/* ro: frontend keys the guest only reads */
};

struct saved_err {
	enum xp_errclass cls;
	char msg[512];
};

static void
save_err(struct saved_err *s)
{
	s->cls = xp_errclass();
	snprintf(s->msg, sizeof(s->msg), "%s", xp_errmsg());
}

static void
restore_err(const struct saved_err *s)
{
	errno = 0;
	xp_seterr(s->cls, "%s", s->msg);
}

/* s fit for a one-line message: control and non-ASCII bytes as '?' */
static const char *
clean(const char *s, char *buf, size_t n)
{
	size_t i;

	for (i = 0; i + 1 < n && s[i] != '\0'; i++)
		buf[i] = s[i] < ' ' || s[i] > '~' ? '?' : s[i];
	buf[i] = '\0';
	return buf;
}

/* ---- the config ---- */

/* libxl's backend_domid and backend_domname unset: the backend in dom0. */
static int
dom0_backend(yajl_val o, const char *what)
{
	const char *s;
	long long n;

	if (lj_int(o, what, "backend_domid", 0, DOMID_FIRST_RESERVED - 1, 0,
	    &n) < 0 || lj_str(o, what, "backend_domname", &s) < 0)
		return -1;
	if (n != 0 || s != NULL) {
		xp_seterr(XE_STREAM, "domain config: %s: a backend domain "
		    "(driver domain) is not supported", what);
		return -1;
	}
	return 0;
}

/* An enum member that must be ok, "unknown" or absent. */
static int
get_only(yajl_val o, const char *what, const char *k, const char *ok)
{
	const char *s;
	char buf[64];

	if (lj_str(o, what, k, &s) < 0)
		return -1;
	if (s != NULL && strcmp(s, ok) != 0 && strcmp(s, "unknown") != 0) {
		xp_seterr(XE_STREAM, "domain config: %s: %s \"%s\" is not "
		    "supported (only %s)", what, k, clean(s, buf, sizeof(buf)),
		    ok);
		return -1;
	}
	return 0;
}

/* 1..max-1 bytes, each a letter, a digit or one of extra. */
static int
chars_ok(const char *s, const char *extra, size_t max)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (i + 1 >= max)
			return 0;
		if ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9'))
			continue;
		if (strchr(extra, s[i]) == NULL)
			return 0;
	}
	return i > 0;
}

/* A network interface's name, as Linux takes it. */
static int
ifname_ok(const char *s)
{
	return chars_ok(s, "_.-", XD_IFNAME) && s[0] != '-' && s[0] != '.';
}

/* An absolute path without surprises (it reaches a shell script). */
static int
path_ok(const char *s)
{
	return s[0] == '/' && chars_ok(s, "/_.,:+=@-", XD_STR) &&
	    strstr(s, "/../") == NULL;
}

/*
 * A hotplug script: a name in SCRIPT_DIR, or its path there (libxl__abs_path
 * of libxl__xen_script_dir_path).  buf gets the path.  Nothing else: the
 * stream does not choose what runs as root.
 */
static int
script_path(const char *s, char *buf, size_t n)
{
	size_t dl = strlen(SCRIPT_DIR);

	if (strncmp(s, SCRIPT_DIR "/", dl + 1) == 0)
		s += dl + 1;
	if (!chars_ok(s, "_.-", XD_NAME) || s[0] == '.' || s[0] == '-')
		return -1;
	snprintf(buf, n, "%s/%s", SCRIPT_DIR, s);
	return 0;
}

/* "xx:xx:xx:xx:xx:xx" */
static int
parse_mac(const char *s, uint8_t *mac)
{
	int i, hi, lo;

	if (strlen(s) != 17)
		return -1;
	for (i = 0; i < 6; i++, s += 3) {
		if (i < 5 && s[2] != ':')
			return -1;
		hi = s[0] >= '0' && s[0] <= '9' ? s[0] - '0' :
		    (s[0] | 0x20) >= 'a' && (s[0] | 0x20) <= 'f' ?
		    (s[0] | 0x20) - 'a' + 10 : -1;
		lo = s[1] >= '0' && s[1] <= '9' ? s[1] - '0' :
		    (s[1] | 0x20) >= 'a' && (s[1] | 0x20) <= 'f' ?
		    (s[1] | 0x20) - 'a' + 10 : -1;
		if (hi < 0 || lo < 0)
			return -1;
		mac[i] = hi << 4 | lo;
	}
	return 0;
}

/*
 * After "xvd", "hd" or "sd": drive letters (a..z, aa.., counted as libxl's
 * device_virtdisk_matches does) and an optional partition, no leading 0.
 */
static int
vdev_letters(const char *s, long maxdisk, long maxpart, int *disk, int *part)
{
	long d = -1, p = 0;

	if (*s < 'a' || *s > 'z')
		return -1;
	for (; *s >= 'a' && *s <= 'z'; s++) {
		d = (d + 1) * 26 + (*s - 'a');
		if (d > maxdisk)
			return -1;
	}
	if (*s == '0')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		p = p * 10 + (*s - '0');
		if (p > maxpart)
			return -1;
	}
	if (*s != '\0')
		return -1;
	*disk = d;
	*part = p;
	return 0;
}

/*
 * The Linux virtual-device number of a vdev, as libxl_device.c
 * libxl__device_disk_dev_number (xvda 51712); -1 when not one.  Numbers
 * are decimal only (libxl's strtoul base 0 would take 0x.. and 0..).
 */
static int
vdev_number(const char *s)
{
	int disk, part;
	long n = 0;
	const char *p;

	if (strncmp(s, "xvd", 3) == 0 &&
	    vdev_letters(s + 3, (1L << 20) - 1, 255, &disk, &part) == 0)
		return disk <= 15 && part <= 15 ? 202 << 8 | disk << 4 | part :
		    1 << 28 | disk << 8 | part;
	if ((s[0] >= '1' && s[0] <= '9') || strcmp(s, "0") == 0) {
		for (p = s; *p >= '0' && *p <= '9'; p++) {
			n = n * 10 + (*p - '0');
			if (n > INT32_MAX)
				return -1;
		}
		return *p == '\0' ? (int)n : -1;
	}
	if (strncmp(s, "hd", 2) == 0 &&
	    vdev_letters(s + 2, 3, 63, &disk, &part) == 0)
		return (disk < 2 ? 3 : 22) << 8 | (disk & 1) << 6 | part;
	if (strncmp(s, "sd", 2) == 0 &&
	    vdev_letters(s + 2, 15, 15, &disk, &part) == 0)
		return 8 << 8 | disk << 4 | part;
	return -1;
}

static const char *const disk_keys[] = {
	"backend_domid", "backend_domname", "pdev_path", "vdev", "backend",
	"format", "script", "removable", "readwrite", "is_cdrom",
	"direct_io_safe", "discard_enable", "specification", "transport",
	"irq", "base", "colo_enable", "colo_restore_enable", "colo_host",
	"colo_port", "colo_export", "active_disk", "hidden_disk", "trusted",
	NULL
};

static int
parse_disk(yajl_val o, unsigned int idx, struct xd_disk *d)
{
	const char *s, *script;
	char what[32], buf[64];
	struct stat st;
	long long n;
	int colo;

	snprintf(what, sizeof(what), "disks[%u]", idx);
	if (lj_keys(o, what, disk_keys, 0) < 0 ||
	    lj_str(o, what, "vdev", &s) < 0)
		return -1;
	if (s == NULL || strlen(s) >= sizeof(d->vdev) ||
	    (d->devid = vdev_number(s)) < 0) {
		xp_seterr(XE_STREAM, "domain config: %s: %s virtual disk "
		    "\"%s\"", what, s ? "bad" : "no", s ? clean(s, buf,
		    sizeof(buf)) : "");
		return -1;
	}
	snprintf(d->vdev, sizeof(d->vdev), "%s", s);
	snprintf(what, sizeof(what), "vbd %s", d->vdev);

	/* libxl__device_disk_set_backend: phy, or unknown that turns phy */
	if (dom0_backend(o, what) < 0 ||
	    get_only(o, what, "backend", "phy") < 0 ||
	    get_only(o, what, "specification", "xen") < 0 ||
	    get_only(o, what, "transport", "unknown") < 0 ||
	    lj_str(o, what, "format", &s) < 0)
		return -1;
	if (s == NULL || strcmp(s, "raw") != 0) {
		xp_seterr(XE_STREAM, "domain config: %s: format \"%s\" is not "
		    "supported (phy takes raw only)", what,
		    s ? clean(s, buf, sizeof(buf)) : "unknown");
		return -1;
	}
	if (lj_int(o, what, "irq", 0, 0, 0, &n) < 0 ||
	    lj_int(o, what, "base", 0, 0, 0, &n) < 0 ||
	    lj_defbool(o, what, "colo_enable", 0, &colo) < 0)
		return -1;
	if (colo) {
		xp_seterr(XE_STREAM, "domain config: %s: COLO is not "
		    "supported", what);
		return -1;
	}

	if (lj_str(o, what, "pdev_path", &s) < 0)
		return -1;
	if (s == NULL || !path_ok(s)) {
		xp_seterr(XE_STREAM, "domain config: %s: %s pdev_path \"%s\"",
		    what, s ? "bad" : "no", s ? clean(s, buf, sizeof(buf)) :
		    "");
		return -1;
	}
	snprintf(d->pdev, sizeof(d->pdev), "%s", s);
	if (lj_str(o, what, "script", &script) < 0)
		return -1;
	if (script_path(script ? script : "block", d->script,
	    sizeof(d->script)) < 0) {
		xp_seterr(XE_STREAM, "domain config: %s: script \"%s\" is not "
		    "a name in " SCRIPT_DIR, what, clean(script, buf,
		    sizeof(buf)));
		return -1;
	}
	if (lj_flag(o, what, "readwrite", &d->rw) < 0 ||
	    lj_flag(o, what, "removable", &d->removable) < 0 ||
	    lj_flag(o, what, "is_cdrom", &d->cdrom) < 0 ||
	    lj_bool(o, what, "direct_io_safe", &d->direct_io) < 0 ||
	    lj_defbool(o, what, "discard_enable", d->rw, &d->discard) < 0 ||
	    lj_defbool(o, what, "colo_restore_enable", 0, &colo) < 0 ||
	    lj_defbool(o, what, "trusted", 1, &d->trusted) < 0)
		return -1;

	/* without a script, libxl's phy wants a block device or a file */
	if (script != NULL)
		return 0;
	if (stat(d->pdev, &st) < 0) {
		xp_seterr(XE_SYS, "%s: %s", what, d->pdev);
		return -1;
	}
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode)) {
		xp_seterr(XE_STREAM, "domain config: %s: %s is neither a block "
		    "device nor a file", what, d->pdev);
		return -1;
	}
	return 0;
}

static const char *const nic_keys[] = {
	"backend_domid", "backend_domname", "devid", "mtu", "model", "mac",
	"ip", "bridge", "ifname", "script", "nictype",
	"rate_bytes_per_interval", "rate_interval_usecs", "gatewaydev",
	"trusted", NULL
};

/* An optional interface name; def when absent. */
static int
get_ifname(yajl_val o, const char *what, const char *k, const char *def,
    char *out)
{
	const char *s;
	char buf[64];

	if (lj_str(o, what, k, &s) < 0)
		return -1;
	if (s == NULL)
		s = def;
	if (s[0] != '\0' && !ifname_ok(s)) {
		xp_seterr(XE_STREAM, "domain config: %s: bad %s \"%s\"", what,
		    k, clean(s, buf, sizeof(buf)));
		return -1;
	}
	snprintf(out, XD_IFNAME, "%s", s);
	return 0;
}

static int
parse_nic(yajl_val o, unsigned int idx, struct xd_nic *nic)
{
	static const uint8_t zero[6];
	const char *s;
	char what[32], buf[64];
	uint8_t r[3];
	long long n;

	snprintf(what, sizeof(what), "nics[%u]", idx);
	if (lj_keys(o, what, nic_keys, 1) < 0 ||
	    lj_int(o, what, "devid", -1, 65535, -1, &n) < 0)
		return -1;
	nic->devid = n;
	if (n >= 0)
		snprintf(what, sizeof(what), "vif %d", nic->devid);
	/* PV and PVH: vif, never vif_ioemu (libxl__device_nic_setdefault) */
	if (dom0_backend(o, what) < 0 ||
	    get_only(o, what, "nictype", "vif") < 0 ||
	    lj_str(o, what, "model", &s) < 0 ||	/* only qemu's */
	    lj_int(o, what, "mtu", 0, 65535, 0, &n) < 0)
		return -1;
	if (n != 0 && n < 68) {
		xp_seterr(XE_STREAM, "domain config: %s: mtu %lld", what, n);
		return -1;
	}
	nic->mtu = n ? n : MTU_DEFAULT;

	if (lj_str(o, what, "mac", &s) < 0)
		return -1;
	if (s != NULL && parse_mac(s, nic->mac) < 0) {
		xp_seterr(XE_STREAM, "domain config: %s: bad mac \"%s\"", what,
		    clean(s, buf, sizeof(buf)));
		return -1;
	}
	if (s == NULL || memcmp(nic->mac, zero, 6) == 0) {
		/* libxl: Xen's OUI, then random */
		if (getrandom(r, sizeof(r), 0) != sizeof(r)) {
			xp_seterr(XE_SYS, "%s: random mac", what);
			return -1;
		}
		nic->mac[0] = 0x00;
		nic->mac[1] = 0x16;
		nic->mac[2] = 0x3e;
		nic->mac[3] = r[0] & 0x7f;
		nic->mac[4] = r[1];
		nic->mac[5] = r[2];
	}

	if (lj_str(o, what, "ip", &s) < 0)
		return -1;
	if (s != NULL && !chars_ok(s, ".:/ ", XD_STR)) {
		xp_seterr(XE_STREAM, "domain config: %s: bad ip \"%s\"", what,
		    clean(s, buf, sizeof(buf)));
		return -1;
	}
	snprintf(nic->ip, sizeof(nic->ip), "%s", s ? s : "");
	if (get_ifname(o, what, "bridge", "xenbr0", nic->bridge) < 0 ||
	    get_ifname(o, what, "ifname", "", nic->ifname) < 0 ||
	    get_ifname(o, what, "gatewaydev", "", nic->gatewaydev) < 0)
		return -1;
	if (nic->bridge[0] == '\0') {
		xp_seterr(XE_STREAM, "domain config: %s: empty bridge", what);
		return -1;
	}
	if (lj_str(o, what, "script", &s) < 0)
		return -1;
	if (script_path(s ? s : "vif-bridge", nic->script,
	    sizeof(nic->script)) < 0) {
		xp_seterr(XE_STREAM, "domain config: %s: script \"%s\" is not "
		    "a name in " SCRIPT_DIR, what, clean(s, buf, sizeof(buf)));
		return -1;
	}
	if (lj_int(o, what, "rate_bytes_per_interval", 0, INT64_MAX, 0,
	    &n) < 0)
		return -1;
	nic->rate_bytes = n;
	if (lj_int(o, what, "rate_interval_usecs", 0, UINT32_MAX, 0, &n) < 0)
		return -1;
	nic->rate_usecs = n;
	return lj_defbool(o, what, "trusted", 1, &nic->trusted);
}

/* The kinds libxl_domain_config has besides disks and nics. */
static const char *const other_kinds[] = {
	"pcidevs", "dtdevs", "vfbs", "vkbs", "vtpms", "p9s", "pvcallsifs",
	"vdispls", "vsnds", "channels", "usbctrls", "usbdevs", NULL
};

int
xen_devs_parse(yajl_val root, struct xen_devs **out)
{
	struct xen_devs *d = NULL;
	yajl_val disks, nics, v;
	unsigned int i, j;
	int next = 0, rc = -1;

	*out = NULL;
	if (root == NULL) {
		xp_seterr(XE_STREAM, "domain config is not a JSON object");
		goto out;
	}
	for (i = 0; other_kinds[i] != NULL; i++) {
		if (lj_array(root, other_kinds[i], SIZE_MAX, &v) < 0)
			goto out;
		if (v != NULL && YAJL_GET_ARRAY(v)->len > 0) {
			xp_seterr(XE_STREAM, "domain config has %s, which the "
			    "xen backend does not build", other_kinds[i]);
			goto out;
		}
	}
	if (lj_array(root, "disks", XD_MAX_DISKS, &disks) < 0 ||
	    lj_array(root, "nics", XD_MAX_NICS, &nics) < 0)
		goto out;
	if ((disks == NULL || YAJL_GET_ARRAY(disks)->len == 0) &&
	    (nics == NULL || YAJL_GET_ARRAY(nics)->len == 0)) {
		rc = 0;
		goto out;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		xp_seterr(XE_SYS, "devices");
		goto out;
	}
	for (i = 0; disks != NULL && i < YAJL_GET_ARRAY(disks)->len; i++) {
		if (parse_disk(YAJL_GET_ARRAY(disks)->values[i], i,
		    &d->disk[i]) < 0)
			goto out;
		for (j = 0; j < i; j++)
			if (d->disk[j].devid == d->disk[i].devid) {
				xp_seterr(XE_STREAM, "domain config: vbd %s is "
				    "the same device as vbd %s",
				    d->disk[i].vdev, d->disk[j].vdev);
				goto out;
			}
		d->ndisks++;
	}
	for (i = 0; nics != NULL && i < YAJL_GET_ARRAY(nics)->len; i++) {
		if (parse_nic(YAJL_GET_ARRAY(nics)->values[i], i,
		    &d->nic[i]) < 0)
			goto out;
		for (j = 0; j < i; j++)
			if (d->nic[i].devid >= 0 &&
			    d->nic[j].devid == d->nic[i].devid) {
				xp_seterr(XE_STREAM, "domain config: vif %d "
				    "twice", d->nic[i].devid);
				goto out;
			}
		if (d->nic[i].devid >= next)
			next = d->nic[i].devid + 1;
		d->nnics++;
	}
	/* no devid: the next free ones, in order (libxl__device_nextid) */
	for (i = 0; i < d->nnics; i++)
		if (d->nic[i].devid < 0)
			d->nic[i].devid = next++;
	*out = d;
	d = NULL;
	rc = 0;
out:
	free(d);
	return rc;
}

void
xen_devs_free(struct xen_devs *devs)
{
	free(devs);
}

/* ---- xenstore ---- */

static void __attribute__((format(printf, 3, 4)))
kv_add(struct kvs *l, const char *k, const char *fmt, ...)
{
	va_list ap;

	if (l->n == XD_KV)	/* not reached: the lists below are shorter */
		return;
	l->e[l->n].k = k;
	va_start(ap, fmt);
	vsnprintf(l->e[l->n].v, sizeof(l->e[l->n].v), fmt, ap);
	va_end(ap);
	l->n++;
}

/* libxl_device.c: the frontend, backend and libxl paths of a device. */
static void
dev_init(struct xd_dev *v, uint32_t domid, const char *kind,
    const char *bkind, uint32_t bdom, int devid)
{
	memset(v, 0, sizeof(*v));
	v->kind = kind;
	snprintf(v->bkind, sizeof(v->bkind), "%s", bkind);
	v->bdom = bdom;
	v->devid = devid;
	snprintf(v->name, sizeof(v->name), "%s %d", kind, devid);
	snprintf(v->fe, sizeof(v->fe), "/local/domain/%u/device/%s/%d",
	    domid, kind, devid);
	snprintf(v->be, sizeof(v->be), "/local/domain/%u/backend/%s/%u/%d",
	    bdom, bkind, domid, devid);
	snprintf(v->lx, sizeof(v->lx), "/libxl/%u/device/%s/%d", domid, kind,
	    devid);
}

/* libxl_disk.c device_disk_add's keys, in its order. */
static void
build_disk(uint32_t domid, const struct xd_disk *d, const char *proto,
    struct xd_add *a, struct xd_dev *v)
{
	const char *dt = d->cdrom ? "cdrom" : "disk";

	memset(a, 0, sizeof(*a));
	dev_init(v, domid, "vbd", "vbd", 0, d->devid);
	snprintf(v->name, sizeof(v->name), "vbd %s", d->vdev);
	a->domid = domid;
	a->v = v;
	kv_add(&a->back, "params", "%s", d->pdev);
	kv_add(&a->back, "script", "%s", d->script);
	kv_add(&a->back, "frontend-id", "%u", domid);
	kv_add(&a->back, "online", "1");
	kv_add(&a->back, "removable", "%d", d->removable);
	kv_add(&a->back, "bootable", "1");
	kv_add(&a->back, "state", "%d", XenbusStateInitialising);
	kv_add(&a->back, "dev", "%s", d->vdev);
	kv_add(&a->back, "type", "phy");
	kv_add(&a->back, "mode", "%s", d->rw ? "w" : "r");
	kv_add(&a->back, "device-type", "%s", dt);
	if (d->direct_io)
		kv_add(&a->back, "direct-io-safe", "1");
	kv_add(&a->back, "discard-enable", "%d", d->discard);
	kv_add(&a->back, "specification", "xen");
	kv_add(&a->front, "backend-id", "0");
	kv_add(&a->front, "state", "%d", XenbusStateInitialising);
	kv_add(&a->front, "virtual-device", "%d", d->devid);
	kv_add(&a->front, "device-type", "%s", dt);
	kv_add(&a->front, "trusted", "%d", d->trusted);
	if (proto != NULL)	/* PV: for frontends older than 2.6.26 */
		kv_add(&a->front, "protocol", "%s", proto);
}

#define MAC_FMT		"%02x:%02x:%02x:%02x:%02x:%02x"
#define MAC_ARGS(m)	(m)[0], (m)[1], (m)[2], (m)[3], (m)[4], (m)[5]

/* libxl__device_add_async's keys, then libxl_nic.c libxl__set_xenstore_nic's. */
static void
build_nic(uint32_t domid, const struct xd_nic *n, struct xd_add *a,
    struct xd_dev *v)
{
	memset(a, 0, sizeof(*a));
	dev_init(v, domid, "vif", "vif", 0, n->devid);
	a->domid = domid;
	a->v = v;
	kv_add(&a->back, "frontend-id", "%u", domid);
	kv_add(&a->back, "online", "1");
	kv_add(&a->back, "state", "%d", XenbusStateInitialising);
	kv_add(&a->back, "script", "%s", n->script);
	if (n->ifname[0] != '\0')
		kv_add(&a->back, "vifname", "%s", n->ifname);
	kv_add(&a->back, "mac", MAC_FMT, MAC_ARGS(n->mac));
	if (n->ip[0] != '\0')
		kv_add(&a->back, "ip", "%s", n->ip);
	if (n->gatewaydev[0] != '\0')
		kv_add(&a->back, "gatewaydev", "%s", n->gatewaydev);
	if (n->rate_usecs > 0)
		kv_add(&a->back, "rate", "%" PRIu64 ",%" PRIu32,
		    n->rate_bytes, n->rate_usecs);
	if (n->mtu != MTU_DEFAULT)
		kv_add(&a->back, "mtu", "%u", n->mtu);
	kv_add(&a->back, "bridge", "%s", n->bridge);
	kv_add(&a->back, "handle", "%d", n->devid);
	kv_add(&a->back, "type", "vif");
	/* netback waits for the script before it connects */
	kv_add(&a->back, "hotplug-status", "%s", "");
	kv_add(&a->front, "backend-id", "0");
	kv_add(&a->front, "state", "%d", XenbusStateInitialising);
	kv_add(&a->front, "handle", "%d", n->devid);
	kv_add(&a->front, "mac", MAC_FMT, MAC_ARGS(n->mac));
	kv_add(&a->front, "trusted", "%d", n->trusted);
	kv_add(&a->ro, "mtu", "%u", n->mtu);
}


/* A new directory path with perms p (whatever was there removed). */
static int
newdir(xs_transaction_t t, const char *path, struct xs_permissions *p)
{
	if ((!xs_rm(xen_xsh, t, path) && errno != ENOENT) ||
	    !xs_mkdir(xen_xsh, t, path) ||
	    !xs_set_permissions(xen_xsh, t, path, p, 2)) {
		xp_seterr(XE_SYS, "xenstore: %s", path);
		return -1;
	}
	return 0;
}

/* libxl__device_generic_add, with device_disk_add's "already exists". */
static int
fill_dev(xs_transaction_t t, void *arg)
{
	struct xd_add *a = arg;
	const struct xd_dev *v = a->v;
	struct xs_permissions fe_perm[2] = {
		{ a->domid, XS_PERM_NONE }, { v->bdom, XS_PERM_READ },
	};
	struct xs_permissions be_perm[2] = {
		{ v->bdom, XS_PERM_NONE }, { a->domid, XS_PERM_READ },
	};
	unsigned int i;
	char *old;

	errno = 0;
	if ((old = xen_xs_get(t, "%s", v->lx)) != NULL) {
		free(old);
		errno = 0;
		xp_seterr(XE_STATE, "%s: domain %u has it already (%s)",
		    v->name, a->domid, v->lx);
		return -1;
	}
	if (errno != ENOENT) {
		xp_seterr(XE_SYS, "xenstore: reading %s", v->lx);
		return -1;
	}
	if (xen_xs_put(t, NULL, 0, v->fe, "%s/frontend", v->lx) < 0 ||
	    xen_xs_put(t, NULL, 0, v->be, "%s/backend", v->lx) < 0)
		return -1;

	if (newdir(t, v->fe, fe_perm) < 0 ||
	    xen_xs_put(t, NULL, 0, v->be, "%s/backend", v->fe) < 0)
		return -1;
	for (i = 0; i < a->front.n; i++)
		if (xen_xs_put(t, fe_perm, 2, a->front.e[i].v, "%s/%s", v->fe,
		    a->front.e[i].k) < 0)
			return -1;
	for (i = 0; i < a->ro.n; i++)
		if (xen_xs_put(t, be_perm, 2, a->ro.e[i].v, "%s/%s", v->fe,
		    a->ro.e[i].k) < 0)
			return -1;

	if (newdir(t, v->be, be_perm) < 0 ||
	    xen_xs_put(t, NULL, 0, v->fe, "%s/frontend", v->be) < 0)
		return -1;
	for (i = 0; i < a->back.n; i++)
		if (xen_xs_put(t, NULL, 0, a->back.e[i].v, "%s/%s", v->be,
		    a->back.e[i].k) < 0)
			return -1;
	/* libxl's own copy, which xl destroy reads */
	for (i = 0; i < a->back.n; i++)
		if (xen_xs_put(t, NULL, 0, a->back.e[i].v, "%s/%s", v->lx,
		    a->back.e[i].k) < 0)
			return -1;
	return 0;
}

/* ---- waiting ---- */


static void
nap(void)
{
	struct timespec ts = { 0, POLL_MS * 1000000L };

	nanosleep(&ts, NULL);
}

/* The backend's state, -1 when it has none. */
static int
be_state(const struct xd_dev *v)
{
	char *s = xen_xs_get(XBT_NULL, "%s/state", v->be);
	int st = -1;

	if (s != NULL && s[0] >= '0' && s[0] <= '9' && s[1] == '\0')
		st = s[0] - '0';
	else if (s != NULL)
		st = XenbusStateUnknown;
	free(s);
	return st;
}

/* libxl__wait_device_connection: the backend in InitWait. */
static int
wait_initwait(const struct xd_dev *v)
{
	long long end = (long long)(now_ns() / 1000000) + INIT_MS;
	int st;

	for (;;) {
		if ((st = be_state(v)) == XenbusStateInitWait)
			return 0;
		errno = 0;
		if (st < 0) {
			xp_seterr(XE_SYS, "%s: %s is gone", v->name, v->be);
			return -1;
		}
		if (xp_interrupted) {
			errno = EINTR;
			xp_seterr(XE_SYS, "%s: waiting for the backend",
			    v->name);
			return -1;
		}
		if ((long long)(now_ns() / 1000000) >= end) {
			xp_seterr(XE_SYS, "%s: the backend is in state %d, not "
			    "InitWait, after %d s (is %s loaded?)", v->name, st,
			    INIT_MS / 1000, strcmp(v->kind, "vbd") == 0 ?
			    "xen-blkback" : "xen-netback");
			return -1;
		}
		nap();
	}
}

/*
 * Wait up to ms for pid; past that (or interrupted, with intr) kill it and
 * its process group (what a script started).  0 and *status when it ended
 * by itself, -1 (errno) otherwise.
 */
static int
reap(pid_t pid, int ms, int intr, int *status)
{
	long long end = (long long)(now_ns() / 1000000) + ms;
	pid_t r;

	for (;;) {
		r = waitpid(pid, status, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if ((long long)(now_ns() / 1000000) >= end || (intr && xp_interrupted)) {
			kill(-pid, SIGKILL);
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			errno = intr && xp_interrupted ? EINTR : ETIMEDOUT;
			return -1;
		}
		nap();
	}
}

/* Where the scripts' output goes (theirs go to xen-hotplug.log too). */
static int
log_fd(void)
{
	int fd;

	if (mkdir(HOTPLUG_LOG_DIR, 0755) < 0 && errno != EEXIST)
		return open("/dev/null", O_WRONLY | O_CLOEXEC);
	fd = open(HOTPLUG_LOG, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
	    O_NOCTTY, 0644);
	if (fd < 0)
		fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	return fd;
}

/* environ with set (NAME=value each) over it, as libxl__exec's setenv. */
static char **
make_env(char **set, unsigned int nset)
{
	char **env;
	size_t n = 0, i, j, k = 0, l;

	while (environ != NULL && environ[n] != NULL)
		n++;
	if ((env = calloc(n + nset + 1, sizeof(*env))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		for (j = 0; j < nset; j++) {
			l = strchr(set[j], '=') - set[j] + 1;
			if (strncmp(environ[i], set[j], l) == 0)
				break;
		}
		if (j == nset)
			env[k++] = environ[i];
	}
	for (j = 0; j < nset; j++)
		env[k++] = set[j];
	return env;
}

/* The environment libxl gives a hotplug script (libxl__get_hotplug_env). */
struct hp_env {
	char script[XD_STR + 8], type[32], path[XD_PATH], net[40], vif[40];
	char *set[6];
	unsigned int n;
};

static char **
hotplug_env(struct hp_env *e, uint32_t domid, const struct xd_dev *v,
    const char *script, const char *gw)
{
	snprintf(e->script, sizeof(e->script), "script=%s", script);
	snprintf(e->type, sizeof(e->type), "XENBUS_TYPE=%s", v->bkind);
	snprintf(e->path, sizeof(e->path), "XENBUS_PATH=backend/%s/%u/%d",
	    v->bkind, domid, v->devid);
	e->n = 0;
	e->set[e->n++] = e->script;
	e->set[e->n++] = e->type;
	e->set[e->n++] = e->path;
	e->set[e->n++] = "XENBUS_BASE_PATH=backend";
	if (strcmp(v->bkind, "vif") == 0) {
		snprintf(e->net, sizeof(e->net), "netdev=%s",
		    gw != NULL && ifname_ok(gw) ? gw : "");
		snprintf(e->vif, sizeof(e->vif), "vif=vif%u.%d", domid,
		    v->devid);
		e->set[e->n++] = e->net;
		e->set[e->n++] = e->vif;
	}
	return make_env(e->set, e->n);
}

/*
 * Run the script with its output to the hotplug log, in a process group
 * of its own with default signals, and wait for it (HOTPLUG_MS at most).
 * *st: its wait status.
 */
static int
hotplug_run(uint32_t domid, const struct xd_dev *v, char *const argv[],
    char *const envp[], int intr, int *st)
{
	const char *sname = strrchr(argv[0], '/') + 1, *act = argv[1];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	char line[XD_STR + 96];
	sigset_t mask, def;
	int fd, e, rc = -1;
	pid_t pid;

	if ((fd = log_fd()) < 0) {
		xp_seterr(XE_SYS, "%s: /dev/null", v->name);
		return -1;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	/* the hotplug log, as xl's: a file, never the user's terminal */
	snprintf(line, sizeof(line), "xenpipe: domain %u %s: %s %s\n",
	    domid, v->name, argv[0], act);
	if (write(fd, line, strlen(line)) < 0)
		errno = 0;	/* a log line lost is no reason to fail */
	sigemptyset(&mask);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGHUP);
	sigaddset(&def, SIGQUIT);
	sigaddset(&def, SIGCHLD);
	if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY,
	    0) != 0 || posix_spawn_file_actions_adddup2(&fa, fd, 1) != 0 ||
	    posix_spawn_file_actions_adddup2(&fa, fd, 2) != 0 ||
	    posix_spawnattr_setsigmask(&at, &mask) != 0 ||
	    posix_spawnattr_setsigdefault(&at, &def) != 0 ||
	    posix_spawnattr_setpgroup(&at, 0) != 0 ||
	    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP) != 0) {
		xp_seterr(XE_SYS, "%s: hotplug script %s", v->name, sname);
		goto out;
	}
	if ((e = posix_spawn(&pid, argv[0], &fa, &at, argv, envp)) != 0) {
		errno = e;
		xp_seterr(XE_SYS, "%s: hotplug script %s", v->name, argv[0]);
		goto out;
	}
	if (reap(pid, HOTPLUG_MS, intr, st) < 0) {
		if (errno == ETIMEDOUT) {
			errno = 0;
			xp_seterr(XE_SYS, "%s: hotplug script %s %s: killed "
			    "after %d s", v->name, sname, act,
			    HOTPLUG_MS / 1000);
		} else
			xp_seterr(XE_SYS, "%s: hotplug script %s %s", v->name,
			    sname, act);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	return rc;
}

/* What the script says it did: its exit status, hotplug-error/status. */
static int
hotplug_result(const struct xd_dev *v, const char *sname, const char *act,
    int add, int st)
{
	char *herr, *hs = NULL, buf[200], why[40];
	int rc = -1;

	herr = xen_xs_get(XBT_NULL, "%s/hotplug-error", v->be);
	errno = 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		snprintf(why, sizeof(why), WIFEXITED(st) ? "exit status %d" :
		    "killed by signal %d", WIFEXITED(st) ? WEXITSTATUS(st) :
		    WTERMSIG(st));
		xp_seterr(XE_SYS, "%s: hotplug script %s %s failed: %s",
		    v->name, sname, act, herr != NULL ? clean(herr, buf,
		    sizeof(buf)) : why);
		goto out;
	}
	hs = xen_xs_get(XBT_NULL, "%s/hotplug-status", v->be);
	errno = 0;
	if (add && (hs == NULL || strcmp(hs, "connected") != 0)) {
		xp_seterr(XE_SYS, "%s: hotplug script %s %s did not connect "
		    "the device: %s", v->name, sname, act, herr != NULL ?
		    clean(herr, buf, sizeof(buf)) : hs == NULL ?
		    "no hotplug-status" : hs[0] == '\0' ? "hotplug-status "
		    "empty" : "hotplug-status not connected");
		goto out;
	}
	rc = 0;
out:
	free(herr);
	free(hs);
	return rc;
}

/*
 * Run v's hotplug script as libxl_linux.c libxl__get_hotplug_script_info
 * and libxl_device.c device_hotplug: the script in the backend's "script",
 * argv "add"/"remove" (vbd) or "online"/"offline" type_if=vif (vif), the
 * environment of get_hotplug_env; stdin /dev/null, stdout and stderr to
 * HOTPLUG_LOG; in a process group of its own, killed after HOTPLUG_MS
 * (libxl kills the script alone).  For add, the script must also
 * have written hotplug-status "connected".  0, or -1 and xp_err.
 */
static int
hotplug(uint32_t domid, const struct xd_dev *v, int add, int intr)
{
	char *script = NULL, *type = NULL, *gw = NULL, **envp = NULL;
	char *argv[4], chk[XD_STR];
	const char *act;
	struct hp_env env;
	int vif = strcmp(v->bkind, "vif") == 0;
	int st = 0, rc = -1;

	errno = 0;
	script = xen_xs_get(XBT_NULL, "%s/script", v->be);
	if (script == NULL || strncmp(script, SCRIPT_DIR "/",
	    strlen(SCRIPT_DIR) + 1) != 0 ||
	    script_path(script, chk, sizeof(chk)) < 0) {
		xp_seterr(XE_STATE, "%s: no hotplug script of " SCRIPT_DIR
		    " in %s/script", v->name, v->be);
		goto out;
	}
	if (vif) {
		type = xen_xs_get(XBT_NULL, "%s/type", v->be);
		if (type == NULL || strcmp(type, "vif") != 0) {
			xp_seterr(XE_STATE, "%s: nic type is not vif", v->name);
			goto out;
		}
		gw = xen_xs_get(XBT_NULL, "%s/gatewaydev", v->be);
	}
	act = vif ? (add ? "online" : "offline") : (add ? "add" : "remove");
	argv[0] = script;
	argv[1] = (char *)act;
	argv[2] = vif ? "type_if=vif" : NULL;
	argv[3] = NULL;
	if ((envp = hotplug_env(&env, domid, v, script, gw)) == NULL) {
		xp_seterr(XE_SYS, "%s: hotplug environment", v->name);
		goto out;
	}
	if (hotplug_run(domid, v, argv, envp, intr, &st) < 0 ||
	    hotplug_result(v, strrchr(script, '/') + 1, act, add, st) < 0)
		goto out;
	rc = 0;
out:
	free(envp);
	free(script);
	free(type);
	free(gw);
	return rc;
}

/* ---- removal ---- */

/* libxl_xshelp.c libxl__xs_path_cleanup: path, then its empty parents. */
static void
path_cleanup(xs_transaction_t t, const char *path)
{
	char p[XD_PATH], *slash, *val, **ents;
	unsigned int len, n;
	int empty;

	snprintf(p, sizeof(p), "%s", path);
	if (!xs_rm(xen_xsh, t, p))
		return;
	while ((slash = strrchr(p, '/')) != NULL && slash != p) {
		*slash = '\0';
		val = xs_read(xen_xsh, t, p, &len);
		empty = val != NULL && len == 0;
		free(val);
		if (!empty)
			return;
		ents = xs_directory(xen_xsh, t, p, &n);
		empty = ents != NULL && n == 0;
		free(ents);
		if (!empty || !xs_rm(xen_xsh, t, p))
			return;
	}
}

/*
 * libxl__initiate_device_generic_remove with LIBXL__FORCE_ON (xl destroy):
 * the frontend removed, then online 0 and Closing unless Closed already.
 */
static int
start_remove(xs_transaction_t t, void *arg)
{
	struct xd_dev *v = arg;
	char *s;

	path_cleanup(t, v->fe);
	s = xen_xs_get(t, "%s/state", v->be);
	v->state = s == NULL ? -1 : s[0] >= '0' && s[0] <= '9' &&
	    s[1] == '\0' ? s[0] - '0' : XenbusStateUnknown;
	free(s);
	if (v->state < 0)		/* backend gone: cleanup only */
		return 0;
	if (xen_xs_put(t, NULL, 0, "0", "%s/online", v->be) < 0)
		return -1;
	if (v->state != XenbusStateClosed && xen_xs_put(t, NULL, 0, "5",
	    "%s/state", v->be) < 0)
		return -1;
	return 0;
}

/* libxl__device_destroy: the frontend, libxl and backend directories. */
static int
destroy_dev(xs_transaction_t t, void *arg)
{
	struct xd_dev *v = arg;

	path_cleanup(t, v->fe);
	path_cleanup(t, v->lx);
	path_cleanup(t, v->be);
	return 0;
}

/*
 * Remove n devices of domid, all at once as libxl's multidev: start each,
 * wait up to DESTROY_MS for every backend to close, run the remove scripts
 * of dom0's vbd and vif backends, and remove the entries.  Unlike libxl,
 * the scripts run also after a timeout (a file's loop device, a vif's
 * iptables rules would stay otherwise).  Never fails; xp_err is kept.
 */
static void
teardown(uint32_t domid, struct xd_dev *v, unsigned int n)
{
	struct saved_err se;
	long long end;
	unsigned int i, open;

	save_err(&se);
	for (i = 0; i < n; i++)
		if (xen_xs_txn(start_remove, &v[i], v[i].name) < 0)
			v[i].state = -1;
	end = (long long)(now_ns() / 1000000) + DESTROY_MS;
	for (;;) {
		open = 0;
		for (i = 0; i < n; i++) {
			if (v[i].state < 0 || v[i].state == XenbusStateClosed)
				continue;
			v[i].state = be_state(&v[i]);
			if (v[i].state >= 0 &&
			    v[i].state != XenbusStateClosed)
				open++;
		}
		if (open == 0 || (long long)(now_ns() / 1000000) >= end)
			break;
		nap();
	}
	for (i = n; i-- > 0; ) {
		if (v[i].state >= 0 && v[i].bdom == 0 &&
		    (strcmp(v[i].bkind, "vbd") == 0 ||
		    strcmp(v[i].bkind, "vif") == 0))
			hotplug(domid, &v[i], 0, 0);	/* errors ignored */
		xen_xs_txn(destroy_dev, &v[i], v[i].name);
	}
	restore_err(&se);
}

/* ---- the interface ---- */

/* Add devices in order; the first failure removes those added. */
static int
add_all(uint32_t domid, const struct xen_devs *devs, const char *proto)
{
	struct xd_dev done[XD_MAX_DISKS + XD_MAX_NICS];
	struct xd_add *a;
	struct saved_err se;
	unsigned int i, n = 0;

	if ((a = malloc(sizeof(*a))) == NULL) {
		xp_seterr(XE_SYS, "devices");
		return -1;
	}
	for (i = 0; i < devs->ndisks + devs->nnics; i++) {
		if (i < devs->ndisks)
			build_disk(domid, &devs->disk[i], proto, a, &done[n]);
		else
			build_nic(domid, &devs->nic[i - devs->ndisks], a,
			    &done[n]);
		if (xen_xs_txn(fill_dev, a, done[n].name) < 0)
			goto err;
		n++;
		trace_point("%s: backend written", done[n - 1].name);
		if (wait_initwait(&done[n - 1]) < 0)
			goto err;
		trace_point("%s: backend in InitWait", done[n - 1].name);
		if (hotplug(domid, &done[n - 1], 1, 1) < 0)
			goto err;
		trace_point("%s: hotplug script done", done[n - 1].name);
	}
	free(a);
	return 0;
err:
	save_err(&se);
	teardown(domid, done, n);
	restore_err(&se);
	free(a);
	return -1;
}

int
xen_devs_add(uint32_t domid, const struct xen_devs *devs)
{
	xc_domaininfo_t xi;
	const char *proto = NULL;

	if (devs == NULL || devs->ndisks + devs->nnics == 0)
		return 0;
	if (xen_getinfo(domid, &xi) < 0)
		return -1;
	/* libxl_disk.c device_disk_add: PV guests get the protocol */
	if (!(xi.flags & XEN_DOMINF_hvm_guest))
		proto = xc_domain_get_native_protocol(xen_xch, domid);
	return add_all(domid, devs, proto);
}

/*
 * A device of /libxl/N/device as libxl__devices_destroy reads it: the
 * backend path parsed as libxl__parse_backend_path.
 */
static int
dev_from_libxl(uint32_t domid, const char *kind, const char *id,
    struct xd_dev *v)
{
	char bkind[16], *be, *end;
	unsigned int bdom, dom;
	long devid;
	int dev, used = -1;

	errno = 0;
	devid = strtol(id, &end, 10);
	if (*id < '0' || *id > '9' || *end != '\0' || errno != 0 ||
	    devid > INT32_MAX)
		return -1;
	be = xen_xs_get(XBT_NULL, "/libxl/%u/device/%s/%s/backend", domid, kind,
	    id);
	if (be == NULL)
		return -1;
	if (sscanf(be, "/local/domain/%u/backend/%15[^/]/%u/%d%n", &bdom,
	    bkind, &dom, &dev, &used) != 4 || used < 0 ||
	    be[used] != '\0' || dom != domid || dev != devid ||
	    !chars_ok(bkind, "_-", sizeof(bkind))) {
		free(be);
		return -1;
	}
	free(be);
	dev_init(v, domid, kind, bkind, bdom, devid);
	return 0;
}

void
xen_devs_remove(uint32_t domid)
{
	static const char *const kinds[] = { "vbd", "vif" };
	struct saved_err se;
	struct xd_dev *v = NULL, *nv;
	char p[XD_PATH], **ids;
	unsigned int k, i, ni, n = 0;

	save_err(&se);
	if (xen_handles() < 0)
		goto out;
	for (k = 0; k < 2; k++) {
		snprintf(p, sizeof(p), "/libxl/%u/device/%s", domid, kinds[k]);
		if ((ids = xs_directory(xen_xsh, XBT_NULL, p, &ni)) == NULL)
			continue;
		if ((nv = reallocarray(v, n + ni + 1, sizeof(*v))) == NULL) {
			free(ids);
			continue;
		}
		v = nv;
		for (i = 0; i < ni; i++)
			if (dev_from_libxl(domid, kinds[k], ids[i], &v[n]) == 0)
				n++;
		free(ids);
	}
	teardown(domid, v, n);
out:
	free(v);
	restore_err(&se);
}
