/*
 * simdom - create, inspect, check and destroy domains of the simulated
 * hypervisor (the sim backend), the test bed of every pipeline.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>

#include "backend.h"
#include "cli.h"
#include "err.h"
#include "sim.h"
#include "stream_format.h"

#define USAGE \
	"simdom create name --memory size [--dirty-rate rate] " \
	"[--working-set size] [--workload shape] [--zero pct] " \
	"[--refuse-suspend]\n" \
	"       simdom list\n" \
	"       simdom info name\n" \
	"       simdom check name\n" \
	"       simdom pause | unpause | suspend | resume | destroy name\n" \
	"       simdom set name refuse-suspend on | off\n" \
	"       simdom set name throttle pct\n" \
	"       simdom set name rate rate\n" \
	"       simdom set name workload shape\n" \
	"       simdom dirty [--clean | --list | --off] name"

#define BE	"sim"

/* One line for a mistake; --help gives the whole synopsis. */
static void __attribute__((noreturn))
usage(const char *cmd)
{
	if (cmd != NULL && strcmp(cmd, "create") == 0)
		fprintf(stderr, "simdom: bad usage; usage: simdom create name --memory size "
		    "[--dirty-rate rate] [--working-set size] "
		    "[--workload shape] [--zero pct] [--refuse-suspend]\n");
	else if (cmd != NULL && strcmp(cmd, "set") == 0)
		fprintf(stderr, "simdom: bad usage; usage: simdom set name refuse-suspend on | off "
		    "| throttle pct | rate rate | workload shape\n");
	else if (cmd != NULL && strcmp(cmd, "dirty") == 0)
		fprintf(stderr, "simdom: bad usage; usage: simdom dirty [--clean | --list | --off] "
		    "name\n");
	else if (cmd != NULL && strcmp(cmd, "list") == 0)
		fprintf(stderr, "simdom: bad usage; usage: simdom list\n");
	else if (cmd != NULL)
		fprintf(stderr, "simdom: bad usage; usage: simdom %s name\n", cmd);
	else
		fprintf(stderr, "simdom: bad usage; usage: simdom create | list | info | check | "
		    "pause | unpause | suspend | resume | set | dirty | destroy "
		    "... "
		    "(simdom --help)\n");
	exit(EX_USAGE);
}

static struct dom *
xopen(const char *name)
{
	struct dom *d;

	if (sim_backend.open(name, &d) == -1)
		die_xp(BE);
	return d;
}

static uint64_t
xsize_pages(const char *s, const char *what)
{
	uint64_t bytes;

	if (parse_size(s, &bytes) == -1)
		die_xp(NULL);
	if (bytes % 4096 != 0 || bytes / 4096 < SIM_PAGES_MIN ||
	    bytes / 4096 > DOM_PAGES_MAX)
		die(EX_USAGE, "%s %s: a multiple of 4K from 64K to 1T", what, s);
	return bytes / 4096;
}

static uint32_t
xworkload(const char *s)
{
	int wl = sim_workload_parse(s);

	if (wl < 0)
		die(EX_USAGE, "workload %s: idle, uniform, hot or sweep", s);
	return wl;
}

static int
cmd_create(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dirty-rate", required_argument, NULL, 'r' },
		{ "memory", required_argument, NULL, 'm' },
		{ "refuse-suspend", no_argument, NULL, 'R' },
		{ "working-set", required_argument, NULL, 'w' },
		{ "workload", required_argument, NULL, 'W' },
		{ "zero", required_argument, NULL, 'z' },
		{ NULL, 0, NULL, 0 },
	};
	struct sim_params p = { .rate = SIM_RATE_DEFAULT,
	    .workload = SIM_WL_UNIFORM };
	struct dom_info info;
	uint64_t v;
	int ch;

	opterr = 0;	/* the usage line says it all, in one line */
	while ((ch = getopt_long(argc, argv, "m:Rr:W:w:z:", opts,
	    NULL)) != -1) {
		switch (ch) {
		case 'm':
			p.nr_pages = xsize_pages(optarg, "--memory");
			break;
		case 'R':
			p.refuse_suspend = 1;
			break;
		case 'r':
			if (parse_u64(optarg, 0, SIM_RATE_MAX, &p.rate) == -1)
				die_xp(NULL);
			break;
		case 'W':
			p.workload = xworkload(optarg);
			break;
		case 'w':
			p.wss = xsize_pages(optarg, "--working-set");
			break;
		case 'z':
			if (parse_u64(optarg, 0, 100, &v) == -1)
				die_xp(NULL);
			p.zero_pct = v;
			break;
		default:
			usage("create");
		}
	}
	if (optind + 1 != argc || p.nr_pages == 0)
		usage("create");
	if (sim_create(argv[optind], &p, &info) == -1)
		die_xp(BE);
	return 0;
}

static int
cmd_list(void)
{
	struct dom_info *v;
	size_t n, i;

	if (sim_backend.list(&v, &n) == -1)
		die_xp(BE);
	printf("%-32s %5s %8s %s\n", "Name", "ID", "Mem(MiB)", "State");
	for (i = 0; i < n; i++)
		printf("%-32s %5" PRIu32 " %8" PRIu64 " %s\n", v[i].name,
		    v[i].domid, v[i].nr_pages / 256, dom_state_name(v[i].state));
	free(v);
	return 0;
}

static void
gstr(yajl_gen g, const char *s)
{
	yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static void
gu64(yajl_gen g, const char *key, uint64_t v)
{
	char buf[24];

	gstr(g, key);
	snprintf(buf, sizeof(buf), "%" PRIu64, v);
	yajl_gen_number(g, buf, strlen(buf));
}

static void
gkstr(yajl_gen g, const char *key, const char *v)
{
	gstr(g, key);
	gstr(g, v);
}

/* A guest that died without suspending has crashed. */
static const char *
status_state(const struct sim_status *st)
{
	if ((st->state == SIM_RUNNING || st->state == SIM_PAUSED) &&
	    !st->guest_alive)
		return "crashed";
	return sim_state_name(st->state);
}

static int
cmd_info(const char *name)
{
	static const char *checks[] = { "none", "ok", "corrupt" };
	static const char *requests[] = { "none", "pause", "suspend" };
	const unsigned char *buf;
	struct sim_status st;
	struct dom *d;
	yajl_gen g;
	size_t len;

	d = xopen(name);
	if (sim_status(d, &st) == -1)
		die_xp(BE);
	sim_backend.close(d);
	if ((g = yajl_gen_alloc(NULL)) == NULL)
		die(EX_SYS, "out of memory");
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_map_open(g);
	gkstr(g, "name", st.info.name);
	gu64(g, "domid", st.info.domid);
	gkstr(g, "state", status_state(&st));
	gkstr(g, "request", requests[st.request]);
	gu64(g, "memory", st.info.nr_pages * 4096);
	gu64(g, "nr_pages", st.info.nr_pages);
	gstr(g, "workload");
	yajl_gen_map_open(g);
	gkstr(g, "shape", sim_workload_name(st.ctx.workload));
	gu64(g, "dirty_rate", st.ctx.rate);
	gu64(g, "effective_rate", st.ctx.workload == SIM_WL_IDLE ? 0 :
	    st.ctx.rate * (st.cap_pct >= 1 && st.cap_pct <= 100 ?
	    st.cap_pct : 100) / 100);
	gu64(g, "working_set", st.ctx.wss);
	gu64(g, "first_pfn", SIM_TAB_PAGES(st.info.nr_pages));
	if (st.ctx.workload == SIM_WL_HOT)
		gu64(g, "hot_set", SIM_HOT_PAGES(st.ctx.wss));
	if (st.ctx.workload == SIM_WL_SWEEP)
		gu64(g, "sweep_pos", st.ctx.sweep_pos);
	gu64(g, "zero_pct", st.ctx.zero_pct);
	gu64(g, "throttle_pct", st.cap_pct);
	gstr(g, "refuse_suspend");
	yajl_gen_bool(g, st.refuse_suspend);
	yajl_gen_map_close(g);
	gstr(g, "counters");
	yajl_gen_map_open(g);
	gu64(g, "ticks", st.ctx.ticks);
	gu64(g, "pages_written", st.ctx.written);
	gu64(g, "boots", st.ctx.boots);
	yajl_gen_map_close(g);
	gstr(g, "logdirty");
	yajl_gen_bool(g, st.logdirty);
	gu64(g, "downtime_ms", st.downtime_ns / 1000000);
	gkstr(g, "last_check", checks[st.check]);
	if (st.check == SIM_CHECK_BAD)
		gu64(g, "bad_pfn", st.check_pfn);
	gu64(g, "pid", st.pid > 0 ? (uint64_t)st.pid : 0);
	yajl_gen_map_close(g);
	if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok)
		die(EX_SYS, "cannot generate JSON");
	fwrite(buf, 1, len, stdout);
	yajl_gen_free(g);
	return 0;
}

static int
cmd_check(const char *name)
{
	struct dom_info info;
	struct dom *d;
	int64_t bad;

	d = xopen(name);
	if (sim_check(d, &bad) == -1 || sim_backend.info(d, &info) == -1)
		die_xp(BE);
	sim_backend.close(d);
	if (bad >= 0) {
		printf("%s: corrupt at pfn 0x%" PRIx64 "\n", name,
		    (uint64_t)bad);
		return EX_NO;
	}
	printf("%s: intact (%" PRIu64 " pages)\n", name, info.nr_pages);
	return 0;
}

static int
cmd_set(const char *name, const char *knob, const char *val)
{
	struct dom *d;
	uint64_t v;

	if (strcmp(knob, "refuse-suspend") == 0) {
		if (strcmp(val, "on") != 0 && strcmp(val, "off") != 0)
			usage("set");
		d = xopen(name);
		if (sim_set(d, SIM_KNOB_REFUSE_SUSPEND,
		    strcmp(val, "on") == 0) == -1)
			die_xp(BE);
	} else if (strcmp(knob, "throttle") == 0) {
		if (parse_u64(val, 1, 100, &v) == -1)
			die_xp(NULL);
		d = xopen(name);
		if (sim_set(d, SIM_KNOB_THROTTLE, v) == -1)
			die_xp(BE);
	} else if (strcmp(knob, "rate") == 0) {
		if (parse_u64(val, 0, SIM_RATE_MAX, &v) == -1)
			die_xp(NULL);
		d = xopen(name);
		if (sim_set(d, SIM_KNOB_RATE, v) == -1)
			die_xp(BE);
	} else if (strcmp(knob, "workload") == 0) {
		v = xworkload(val);
		d = xopen(name);
		if (sim_set(d, SIM_KNOB_WORKLOAD, v) == -1)
			die_xp(BE);
	} else
		usage("set");
	sim_backend.close(d);
	return 0;
}

/*
 * The pages written since log-dirty was enabled or last cleaned: a count,
 * or (--list) one "first last" line per run of pfns.  Enables log-dirty
 * when it is off (the count is then 0).
 */
static int
cmd_dirty(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "clean", no_argument, NULL, 'c' },
		{ "list", no_argument, NULL, 'l' },
		{ "off", no_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	enum logdirty_op op = LOGDIRTY_PEEK;
	struct sim_status st;
	uint64_t *bm, pfn, first = 0, count = 0;
	int ch, list = 0, off = 0, in_run = 0;
	struct dom *d;

	opterr = 0;
	while ((ch = getopt_long(argc, argv, "clo", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			op = LOGDIRTY_CLEAN;
			break;
		case 'l':
			list = 1;
			break;
		case 'o':
			off = 1;
			break;
		default:
			usage("dirty");
		}
	}
	if (optind + 1 != argc || argv[optind][0] == '-' ||
	    (off && (list || op == LOGDIRTY_CLEAN)))
		usage("dirty");
	d = xopen(argv[optind]);
	if (off) {
		if (sim_backend.logdirty(d, LOGDIRTY_DISABLE, NULL) == -1)
			die_xp(BE);
		sim_backend.close(d);
		return 0;
	}
	if (sim_status(d, &st) == -1)
		die_xp(BE);
	if (!st.logdirty &&
	    sim_backend.logdirty(d, LOGDIRTY_ENABLE, NULL) == -1)
		die_xp(BE);
	if ((bm = calloc(SIM_BITMAP_WORDS(st.info.nr_pages), 8)) == NULL)
		die(EX_SYS, "out of memory");
	if (sim_backend.logdirty(d, op, bm) == -1)
		die_xp(BE);
	sim_backend.close(d);
	for (pfn = 0; pfn <= st.info.nr_pages; pfn++) {
		if (pfn < st.info.nr_pages && bm[pfn / 64] >> (pfn % 64) & 1) {
			if (!in_run)
				first = pfn;
			in_run = 1;
			count++;
		} else if (in_run) {
			if (list)
				printf("%" PRIu64 " %" PRIu64 "\n", first,
				    pfn - 1);
			in_run = 0;
		}
	}
	if (!list)
		printf("%" PRIu64 "\n", count);
	free(bm);
	return 0;
}

static int
is_op(const char *cmd)
{
	return strcmp(cmd, "pause") == 0 || strcmp(cmd, "unpause") == 0 ||
	    strcmp(cmd, "suspend") == 0 || strcmp(cmd, "resume") == 0 ||
	    strcmp(cmd, "destroy") == 0;
}

/* The one-name verbs that are backend operations. */
static int
cmd_op(const char *cmd, const char *name)
{
	struct dom *d = xopen(name);
	int rc;

	if (strcmp(cmd, "destroy") == 0) {
		if (sim_backend.destroy(d) == -1)
			die_xp(BE);
		return 0;
	}
	if (strcmp(cmd, "pause") == 0)
		rc = sim_backend.pause(d);
	else if (strcmp(cmd, "unpause") == 0)
		rc = sim_backend.unpause(d);
	else if (strcmp(cmd, "suspend") == 0)
		rc = sim_backend.suspend(d);
	else
		rc = sim_backend.resume(d);
	if (rc == -1)
		die_xp(BE);
	sim_backend.close(d);
	return 0;
}

int
main(int argc, char **argv)
{
	const char *cmd;
	int rc;

	cli_common(argc, argv, USAGE);
	if (argc < 2)
		usage(NULL);
	cmd = argv[1];
	if (strcmp(cmd, "create") == 0)
		rc = cmd_create(argc - 1, argv + 1);
	else if (strcmp(cmd, "list") == 0) {
		if (argc != 2)
			usage(cmd);
		rc = cmd_list();
	} else if (strcmp(cmd, "info") == 0 || strcmp(cmd, "check") == 0) {
		if (argc != 3 || argv[2][0] == '-')
			usage(cmd);
		rc = cmd[0] == 'i' ? cmd_info(argv[2]) : cmd_check(argv[2]);
	} else if (strcmp(cmd, "set") == 0) {
		if (argc != 5)
			usage(cmd);
		rc = cmd_set(argv[2], argv[3], argv[4]);
	} else if (strcmp(cmd, "dirty") == 0)
		rc = cmd_dirty(argc - 1, argv + 1);
	else if (is_op(cmd)) {
		if (argc != 3 || argv[2][0] == '-')
			usage(cmd);
		rc = cmd_op(cmd, argv[2]);
	} else
		usage(NULL);
	if (fflush(stdout) == EOF || ferror(stdout))
		die(EX_SYS, "stdout: write error");
	return rc;
}
