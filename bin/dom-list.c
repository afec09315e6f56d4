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
#include "libxl_json.h"
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

/* -j: one object, the domains in an array, through yajl's generator. */
static void
print_json(const char *backend, const struct dom_info *v, size_t n)
{
	yajl_gen g;
	char *out;
	size_t i;
	int bad = 0;

	if ((g = yajl_gen_alloc(NULL)) == NULL)
		die(EX_SYS, "JSON: out of memory");
	yajl_gen_config(g, yajl_gen_beautify, 1);
	bad |= yajl_gen_map_open(g);
	bad |= lj_gen_kv_str(g, "backend", backend);
	bad |= lj_gen_str(g, "domains");
	bad |= yajl_gen_array_open(g);
	for (i = 0; i < n; i++) {
		bad |= yajl_gen_map_open(g);
		bad |= lj_gen_kv_str(g, "name", v[i].name);
		bad |= lj_gen_kv_int(g, "id", v[i].domid);
		bad |= lj_gen_kv_int(g, "pages", v[i].mem_pages);
		bad |= lj_gen_kv_int(g, "pfns", v[i].nr_pages);
		bad |= lj_gen_kv_int(g, "vcpus", v[i].nr_vcpus);
		bad |= lj_gen_kv_str(g, "type", type_str(v[i].dom_type));
		bad |= lj_gen_kv_str(g, "state", dom_state_name(v[i].state));
		bad |= lj_gen_str(g, "logdirty");
		bad |= v[i].logdirty < 0 ? yajl_gen_null(g) :
		    yajl_gen_bool(g, v[i].logdirty > 0);
		bad |= yajl_gen_map_close(g);
	}
	bad |= yajl_gen_array_close(g);
	bad |= yajl_gen_map_close(g);
	if (bad || (out = lj_gen_take(g)) == NULL)
		die(EX_SYS, "JSON: cannot generate it");
	fputs(out, stdout);
	free(out);
	yajl_gen_free(g);
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
		print_json(be->name, v, n);
	else
		printf("%-32s %5s %10s %5s %-4s %-9s %s\n", "Name", "ID",
		    "Pages", "VCPUs", "Type", "State", "LogDirty");
	for (i = 0; !jflag && i < n; i++)
		printf("%-32s %5" PRIu32 " %10" PRIu64 " %5" PRIu32
		    " %-4s %-9s %s\n", v[i].name[0] ? v[i].name : "-",
		    v[i].domid, v[i].mem_pages, v[i].nr_vcpus,
		    type_str(v[i].dom_type), dom_state_name(v[i].state),
		    logdirty_str(v[i].logdirty, "on", "off", "-"));
	free(v);
	if (fflush(stdout) == EOF || ferror(stdout))
		die(EX_SYS, "stdout: write error");
	return 0;
}
