/*
 * stream-info - what a migration stream holds: its headers and, per record
 * type, how many records, pages and bytes.  --verify adds the checks a
 * receiver relies on (END present, zero padding, record order); --json
 * prints the same for scripts.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "backend.h"
#include "cli.h"
#include "config.h"
#include "err.h"
#include "libxl_json.h"
#include "stream.h"

#define USAGE "stream-info [--json] [--verify] [FILE]\n" \
	"       stream-info --config [FILE]"

#define NR_TYPES	(REC_TYPE_XC_MAX + 2)	/* last slot: unknown optional */

struct type_stats {
	uint64_t records, pages_data, pages_zero, bytes;
};

struct info {
	struct stream_hdrs h;
	struct dom_config cfg;
	int have_cfg;
	struct type_stats xc[NR_TYPES], xl[LIBXL_REC_MAX + 2];
	uint64_t total_bytes;
	int complete;
	const char *problem;		/* first --verify failure */
	char problem_buf[512];
	/* order checks */
	int seen_static_end, seen_page_data, seen_hvm_ctx;
	int seen_pv_info, seen_p2m;
};

static void
verify_fail(struct info *in, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
verify_fail(struct info *in, const char *fmt, ...)
{
	va_list ap;

	if (in->problem != NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(in->problem_buf, sizeof(in->problem_buf), fmt, ap);
	va_end(ap);
	in->problem = in->problem_buf;
}

/* What --verify adds to the reader's own checks. */
static void
verify_record(struct info *in, const struct sr_rec *r)
{
	size_t i;

	for (i = sizeof(struct rec_hdr) + r->length; i < r->raw_len; i++)
		if (r->raw[i] != 0) {
			verify_fail(in, "offset %" PRIu64 ": non-zero padding",
			    r->offset);
			break;
		}
	if (r->layer != LAYER_XC)
		return;
	switch (r->type) {
	case REC_TYPE_STATIC_DATA_END:
		if (in->seen_page_data)
			verify_fail(in, "offset %" PRIu64 ": STATIC_DATA_END "
			    "after PAGE_DATA", r->offset);
		in->seen_static_end = 1;
		break;
	case REC_TYPE_PAGE_DATA:
		if (in->h.xc_version >= 3 && !in->seen_static_end)
			verify_fail(in, "offset %" PRIu64 ": PAGE_DATA before "
			    "STATIC_DATA_END", r->offset);
		if (in->h.dom_type == DHDR_TYPE_X86_PV && !in->seen_p2m)
			verify_fail(in, "offset %" PRIu64 ": PAGE_DATA before "
			    "X86_PV_P2M_FRAMES", r->offset);
		in->seen_page_data = 1;
		break;
	case REC_TYPE_HVM_PARAMS:
		/*
		 * The spec's layout puts HVM_PARAMS first, but libxenguest
		 * writes HVM_CONTEXT first and its restore takes either order;
		 * so do we: nothing to check.
		 */
		break;
	case REC_TYPE_HVM_CONTEXT:
		in->seen_hvm_ctx = 1;
		break;
	case REC_TYPE_X86_PV_INFO:
		in->seen_pv_info = 1;
		break;
	case REC_TYPE_X86_PV_P2M_FRAMES:
		if (!in->seen_pv_info)
			verify_fail(in, "offset %" PRIu64 ": X86_PV_P2M_FRAMES "
			    "before X86_PV_INFO", r->offset);
		in->seen_p2m = 1;
		break;
	}
	if (in->h.dom_type == DHDR_TYPE_X86_HVM &&
	    (r->type == REC_TYPE_X86_PV_INFO ||
	    r->type == REC_TYPE_X86_PV_P2M_FRAMES ||
	    r->type == REC_TYPE_X86_PV_VCPU_BASIC ||
	    r->type == REC_TYPE_SHARED_INFO))
		verify_fail(in, "offset %" PRIu64 ": PV record %s in an HVM "
		    "stream", r->offset, xc_rec_name(r->type));
	if (in->h.dom_type == DHDR_TYPE_X86_PV &&
	    (r->type == REC_TYPE_HVM_CONTEXT || r->type == REC_TYPE_HVM_PARAMS))
		verify_fail(in, "offset %" PRIu64 ": HVM record %s in a PV "
		    "stream", r->offset, xc_rec_name(r->type));
}

static void
count_record(struct info *in, const struct sr_rec *r)
{
	struct type_stats *t;
	unsigned int pt;
	uint32_t i;

	if (r->layer == LAYER_XC)
		t = &in->xc[r->type <= REC_TYPE_XC_MAX ? r->type : NR_TYPES - 1];
	else
		t = &in->xl[r->type <= LIBXL_REC_MAX ? r->type :
		    LIBXL_REC_MAX + 1];
	t->records++;
	t->bytes += r->raw_len;
	if (r->layer != LAYER_XC || r->type != REC_TYPE_PAGE_DATA)
		return;
	for (i = 0; i < r->count; i++) {
		pt = PAGE_DATA_TYPE(r->pfn_words[i]);
		if (PFINFO_HAS_DATA(pt))
			t->pages_data++;
		else if (pt == PFINFO_XALLOC)
			t->pages_zero++;
	}
}

static const char *
dom_type_name(uint32_t type)
{
	return type == DHDR_TYPE_X86_PV ? "x86 PV" : "x86 HVM";
}

static const char *
type_name(enum rec_layer layer, unsigned int i)
{
	if (layer == LAYER_XC)
		return i < NR_TYPES - 1 ? xc_rec_name(i) : "optional (unknown)";
	return i <= LIBXL_REC_MAX ? xl_rec_name(i) : "optional (unknown)";
}

static void
print_text(const struct info *in, int verify)
{
	const struct stream_hdrs *h = &in->h;
	unsigned int i;

	printf("format:        %s\n", fmt_name(h->fmt));
	if (h->fmt == FMT_XL)
		printf("xl header:     flags%s%s, config %zu bytes\n",
		    h->xl_mandatory & XL_MANDATORY_STREAMV2 ? " STREAMv2" : "",
		    h->xl_mandatory & XL_MANDATORY_JSON ? " JSON" : "",
		    h->json_len);
	if (in->have_cfg)
		printf("domain:        %s%s\n", in->cfg.name[0] ?
		    in->cfg.name : "(no name)",
		    in->cfg.simulated == 1 ? " (simulated)" : "");
	if (h->fmt != FMT_LIBXC)
		printf("libxl header:  version 2, little-endian%s\n",
		    h->libxl_options & LIBXL_OPT_LEGACY ? ", legacy" : "");
	printf("libxc header:  version %" PRIu32 ", %s, Xen %" PRIu32 ".%"
	    PRIu32 ", little-endian, page size 4096\n", h->xc_version,
	    dom_type_name(h->dom_type), h->xen_major, h->xen_minor);
	printf("%-6s %-26s %8s %9s %9s %14s\n", "layer", "record", "records",
	    "pages", "zero", "bytes");
	for (i = 0; i < NR_TYPES; i++)
		if (in->xc[i].records)
			printf("%-6s %-26s %8" PRIu64 " %9" PRIu64 " %9" PRIu64
			    " %14" PRIu64 "\n", "libxc", type_name(LAYER_XC, i),
			    in->xc[i].records, in->xc[i].pages_data,
			    in->xc[i].pages_zero, in->xc[i].bytes);
	for (i = 0; i < LIBXL_REC_MAX + 2; i++)
		if (in->xl[i].records)
			printf("%-6s %-26s %8" PRIu64 " %9s %9s %14" PRIu64
			    "\n", "libxl", type_name(LAYER_XL, i),
			    in->xl[i].records, "-", "-", in->xl[i].bytes);
	printf("total:         %" PRIu64 " bytes, %s\n", in->total_bytes,
	    in->complete ? "complete (END)" : "no END (incomplete)");
	if (verify)
		printf("verify:        %s\n", in->problem ? in->problem : "ok");
}

static void
gen_types(yajl_gen g, const struct type_stats *t, unsigned int n,
    enum rec_layer layer)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (!t[i].records)
			continue;
		yajl_gen_map_open(g);
		lj_gen_str(g, "layer");
		lj_gen_str(g, layer == LAYER_XC ? "libxc" : "libxl");
		lj_gen_str(g, "type");
		lj_gen_str(g, type_name(layer, i));
		lj_gen_kv_int(g, "records", t[i].records);
		lj_gen_kv_int(g, "pages", t[i].pages_data);
		lj_gen_kv_int(g, "zero_pages", t[i].pages_zero);
		lj_gen_kv_int(g, "bytes", t[i].bytes);
		yajl_gen_map_close(g);
	}
}

static void
print_json(const struct info *in, int verify)
{
	const unsigned char *buf;
	size_t len;
	yajl_gen g = yajl_gen_alloc(NULL);

	if (g == NULL)
		die(EX_SYS, "out of memory");
	yajl_gen_config(g, yajl_gen_beautify, 1);
	yajl_gen_map_open(g);
	lj_gen_str(g, "format");
	lj_gen_str(g, fmt_name(in->h.fmt));
	lj_gen_kv_int(g, "xc_version", in->h.xc_version);
	lj_gen_str(g, "dom_type");
	lj_gen_str(g, dom_type_name(in->h.dom_type));
	lj_gen_kv_int(g, "xen_major", in->h.xen_major);
	lj_gen_kv_int(g, "xen_minor", in->h.xen_minor);
	if (in->h.fmt == FMT_XL)
		lj_gen_kv_int(g, "xl_mandatory_flags", in->h.xl_mandatory);
	if (in->have_cfg) {
		lj_gen_str(g, "name");
		lj_gen_str(g, in->cfg.name);
		lj_gen_str(g, "simulated");
		yajl_gen_bool(g, in->cfg.simulated == 1);
	}
	lj_gen_str(g, "records");
	yajl_gen_array_open(g);
	gen_types(g, in->xc, NR_TYPES, LAYER_XC);
	gen_types(g, in->xl, LIBXL_REC_MAX + 2, LAYER_XL);
	yajl_gen_array_close(g);
	lj_gen_kv_int(g, "bytes", in->total_bytes);
	lj_gen_str(g, "complete");
	yajl_gen_bool(g, in->complete);
	if (verify) {
		lj_gen_str(g, "verify");
		lj_gen_str(g, in->problem ? in->problem : "ok");
	}
	yajl_gen_map_close(g);
	yajl_gen_get_buf(g, &buf, &len);
	fwrite(buf, 1, len, stdout);
	if (len && buf[len - 1] != '\n')
		putchar('\n');
	yajl_gen_free(g);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", no_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "verify", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct info in;
	struct sr_rec r;
	struct sr *sr;
	int cflag = 0, jflag = 0, vflag = 0, fd = STDIN_FILENO, ch, rc;

	cli_common(argc, argv, USAGE);
	while ((ch = getopt_long(argc, argv, "jV", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			cflag = 1;
			break;
		case 'j':
			jflag = 1;
			break;
		case 'V':
			vflag = 1;
			break;
		default:
			usage_exit(USAGE);
		}
	}
	argc -= optind;
	argv += optind;
	if (argc > 1 || (cflag && (jflag || vflag)))
		usage_exit(USAGE);
	if (argc == 1 && strcmp(argv[0], "-") != 0) {
		fd = open(argv[0], O_RDONLY);
		if (fd < 0)
			die(EX_SYS, "%s: %s", argv[0], strerror(errno));
	} else if (isatty(fd))
		die(EX_USAGE, "refusing to read a stream from a terminal");

	if ((sr = sr_new(fd)) == NULL)
		die_xp(NULL);
	rc = sr_headers(sr, &in.h);
	if (rc == 0)
		die(vflag ? EX_NO : EX_STREAM, "empty input: no stream");
	if (rc < 0)
		goto bad;
	if (in.h.json != NULL) {
		if (config_from_json(in.h.json, in.h.json_len, &in.cfg) < 0)
			goto bad;
		in.have_cfg = 1;
		if (in.cfg.nr_pages)
			sr_set_nr_pages(sr, in.cfg.nr_pages);
	}
	if (cflag) {
		/* checked JSON: no control bytes reach the terminal */
		if (in.h.json == NULL)
			die(EX_NO, "the stream (%s format) carries no domain "
			    "config", fmt_name(in.h.fmt));
		printf("%.*s\n", (int)in.h.json_len, in.h.json);
		sr_free(sr);
		return 0;
	}
	while ((rc = sr_next(sr, &r)) == 1) {
		count_record(&in, &r);
		verify_record(&in, &r);
	}
	if (rc < 0)
		goto bad;
	in.complete = sr_done(sr);
	in.total_bytes = sr_offset(sr);
	if (!in.complete)
		verify_fail(&in, "offset %" PRIu64 ": stream ends without END "
		    "(truncated at a record boundary)", in.total_bytes);
	if (in.h.dom_type == DHDR_TYPE_X86_HVM && !in.seen_hvm_ctx &&
	    in.complete)
		verify_fail(&in, "HVM stream without HVM_CONTEXT");
	if (jflag)
		print_json(&in, vflag);
	else
		print_text(&in, vflag);
	sr_free(sr);
	if (vflag && in.problem != NULL) {
		fflush(stdout);
		warnmsg("verify: %s", in.problem);
		return EX_NO;
	}
	return 0;
bad:
	fflush(stdout);
	warnmsg("%s%s", vflag ? "verify: " : "", xp_errmsg());
	sr_free(sr);
	return vflag ? EX_NO : xp_exit_code();
}
