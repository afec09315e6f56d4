/*
 * stream.h - reading and writing Migration v2 streams (stream_format.h).
 *
 * The writer (struct sw) emits the xl / libxl / libxc layers around the
 * records it is given, batches pages into PAGE_DATA records written with
 * one writev each, and elides pages that are all zero and were never sent
 * (XALLOC entries).  The reader (struct sr) detects the outer layer, checks
 * every header, length, count and pfn before trusting it, and hands out one
 * record at a time together with its raw bytes, so that a filter can copy
 * its input through unchanged and then append to it; a filter's pages can
 * stay in the input and be spliced on (sr_defer_data, sw_copy_data).
 *
 * Callers: save.c and restore.c, and bin/ programs that pass streams
 * through (dirty-track, dom-suspend) or inspect them (stream-info).
 */
#ifndef XENPIPE_STREAM_H
#define XENPIPE_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "stream_format.h"

enum stream_fmt {
	FMT_LIBXC,	/* the libxc stream alone */
	FMT_LIBXL,	/* libxc inside the libxl stream */
	FMT_XL,		/* xl savefile header + JSON config + libxl stream */
};

const char *fmt_name(enum stream_fmt fmt);
int fmt_parse(const char *s, enum stream_fmt *fmt);
const char *xc_rec_name(uint32_t type);		/* "PAGE_DATA", "type 0x80000001" */
const char *xl_rec_name(uint32_t type);

/* ---------------- writer ---------------- */

struct sw_stats {
	uint64_t bytes;		/* written to the fd */
	uint64_t records;
	uint64_t pages_data;	/* pages sent with their 4 KiB */
	uint64_t pages_zero;	/* pages sent as XALLOC (no data) */
};

struct sw;

/*
 * A writer on fd.  nr_pages bounds the pfns and sizes the map of pages
 * already sent (which decides whether a zero page may be elided).
 */
struct sw *sw_new(int fd, enum stream_fmt fmt, uint64_t nr_pages);
void sw_free(struct sw *sw);

/* xl header with json (may be NULL for FMT_XL: no config), libxl header, LIBXC_CONTEXT, image and domain headers. */
int sw_headers(struct sw *sw, uint32_t dom_type, const char *json);
/* A whole libxc record; body may be NULL when len is 0. */
int sw_record(struct sw *sw, uint32_t type, const void *body, uint32_t len);
/*
 * One PAGE_DATA record for n (1..PAGE_BATCH_MAX) pages: page i has type
 * types[i] (PFINFO_*; types NULL: all NOTAB) and, when the type carries
 * data, its contents at data + i * 4096.  A NOTAB zero page never sent
 * before goes as XALLOC.  Marks the pages sent.
 */
int sw_pages(struct sw *sw, const uint64_t *pfns, const uint32_t *types,
    unsigned int n, const void *data);
/* libxc END, then for FMT_LIBXL/FMT_XL the libxl END. */
int sw_end(struct sw *sw);

/*
 * Pass-through: write bytes read from an upstream stream (sr_rec.raw), and
 * record the pfns an upstream PAGE_DATA record sent, so that this writer
 * never elides a page that was sent before.
 */
int sw_raw(struct sw *sw, const void *buf, size_t len);
void sw_note_sent(struct sw *sw, const uint64_t *pfn_words, unsigned int n);
/* After passing headers through: behave as if sw_headers() had run. */
void sw_headers_done(struct sw *sw);

const struct sw_stats *sw_stats(const struct sw *sw);

/* ---------------- reader ---------------- */

struct stream_hdrs {
	enum stream_fmt fmt;
	uint32_t xc_version;		/* 2 or 3 */
	uint32_t dom_type;		/* DHDR_TYPE_* */
	uint32_t xen_major, xen_minor;
	uint32_t xl_mandatory;		/* xl header flags, FMT_XL only */
	uint32_t libxl_options;
	char *json;			/* xl JSON config or NULL; owned by sr */
	size_t json_len;
	const uint8_t *raw;		/* every header byte, for pass-through */
	size_t raw_len;
};

/* LAYER_XC_HDRS: the libxc image and domain headers, as restore.c hands them on */
enum rec_layer { LAYER_XC, LAYER_XL, LAYER_XC_HDRS };

struct sr_rec {
	enum rec_layer layer;
	uint32_t type;
	uint32_t length;		/* body length, without padding */
	const uint8_t *body;		/* valid until the next sr_next() */
	uint64_t offset;		/* of the record header in the input */
	const uint8_t *raw;		/* header + body + padding */
	size_t raw_len;
	/* PAGE_DATA only: decoded, checked */
	uint32_t count;
	const uint64_t *pfn_words;	/* pfn | type << 60, count of them */
	const uint8_t *page_data;	/* pages with data, in order; NULL when
					   deferred (data_len bytes left in
					   the input, see sr_defer_data) */
	uint64_t data_len;		/* bytes of those pages */
};

struct sr;

/*
 * A reader on fd.  Every pfn is bounded by DOM_PAGES_MAX until
 * sr_set_nr_pages() gives the domain's size (from its JSON config).
 */
struct sr *sr_new(int fd);
void sr_free(struct sr *sr);

/*
 * Read and check the headers.  Returns 1 with h filled, 0 when the input
 * ended before its first byte (an empty input, not an error), -1 on error.
 */
int sr_headers(struct sr *sr, struct stream_hdrs *h);
void sr_set_nr_pages(struct sr *sr, uint64_t nr_pages);

/*
 * The next record, checked.  Returns 1 with r filled; 0 when the input
 * ends cleanly at a record boundary before the final END (a live pipeline
 * stage's upstream finished; for a restore that is "missing END"); -1 on
 * error (xp_err names the offset and the problem).  After the final END
 * (libxc END for FMT_LIBXC, libxl END otherwise) it returns 0 and sr_done()
 * is true.  Optional records of unknown type are returned (the caller
 * skips them); unknown mandatory ones are an error.
 */
int sr_next(struct sr *sr, struct sr_rec *r);
int sr_done(const struct sr *sr);

/*
 * A filter that passes pages through unchanged need not read them: with
 * sr_defer_data(sr, 1), sr_next() reads and checks a PAGE_DATA record's
 * header and pfns only (raw holds just those) and leaves its page data in
 * the input, to be moved with sw_copy_data() before the next sr_next().
 * Between two pipes that is splice(2): the pages never enter user space.
 */
void sr_defer_data(struct sr *sr, int on);
/* Copy the deferred page data of the last record to sw's fd, or to fd. */
int sw_copy_data(struct sw *sw, struct sr *sr);
int sr_copy_data(struct sr *sr, int fd);
uint64_t sr_offset(const struct sr *sr);

#endif
