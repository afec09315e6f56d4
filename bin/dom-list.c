/*
 * dom-list - list the domains of the backend in use, like xl list:
 * name, id, pages (valid pfns), vCPUs, type and state.  dom0 is not listed.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "backend.h"
#include "cli.h"
#include "err.h"
#include "stream_format.h"

#define USAGE "dom-list [-j]"

static const char *
type_str(uint32_t t)
{
	return t == DHDR_TYPE_X86_HVM ? "hvm" : t == DHDR_TYPE_X86_PV ?
	    "pv" : "?";
}

static const char *
logdirty_str(int logdirty, const char *on, const char *off, const char *unknown)
{
	return logdirty > 0 ? on : logdirty == 0 ? off : unknown;
}

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

int
main(int argc, char **argv)
{
	const struct backend *be;
	struct dom_info *v;
	size_t n, i;
	int ch, jflag = 0;

	cli_common(argc, argv, USAGE);
	while ((ch = getopt(argc, argv, "j")) != -1) {
		switch (ch) {
		case 'j':
			jflag = 1;
			break;
		default:
			usage_exit(USAGE);
		}
	}
	if (optind != argc)
		usage_exit(USAGE);
	if ((be = backend_get()) == NULL)
		die_xp(NULL);
	if (be->list(&v, &n) < 0)
		die_xp(be->name);
	if (jflag)
		printf("{\"backend\": \"%s\", \"domains\": [", be->name);
	else
		printf("%-32s %5s %10s %5s %-4s %-9s %s\n", "Name", "ID",
		    "Pages", "VCPUs", "Type", "State", "LogDirty");
	for (i = 0; i < n; i++) {
		if (jflag) {
			printf("%s\n  {\"name\": ", i ? "," : "");
			json_str(v[i].name);
			printf(", \"id\": %" PRIu32 ", \"pages\": %" PRIu64
			    ", \"pfns\": %" PRIu64 ", \"vcpus\": %" PRIu32
			    ", \"type\": \"%s\", \"state\": \"%s\", "
			    "\"logdirty\": %s}", v[i].domid, v[i].mem_pages,
			    v[i].nr_pages, v[i].nr_vcpus,
			    type_str(v[i].dom_type),
			    dom_state_name(v[i].state),
			    logdirty_str(v[i].logdirty, "true", "false",
			    "null"));
		} else
			printf("%-32s %5" PRIu32 " %10" PRIu64 " %5" PRIu32
			    " %-4s %-9s %s\n", v[i].name[0] ? v[i].name : "-",
			    v[i].domid, v[i].mem_pages, v[i].nr_vcpus,
			    type_str(v[i].dom_type), dom_state_name(v[i].state),
			    logdirty_str(v[i].logdirty, "on", "off", "-"));
	}
	if (jflag)
		printf("%s]}\n", n ? "\n" : "");
	free(v);
	if (fflush(stdout) == EOF || ferror(stdout))
		die(EX_SYS, "stdout: write error");
	return 0;
}
