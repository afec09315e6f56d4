/* save.c - the sending side; see save.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "err.h"
#include "progress.h"
#include "save.h"

struct save {
	const struct backend *be;
	struct dom *d;
	struct dom_info info;
	struct sw *sw;
	enum stream_fmt fmt;
	uint8_t *buf;			/* PAGE_BATCH_MAX pages */
	uint32_t types[PAGE_BATCH_MAX];	/* PFINFO_* of each page in buf */
	uint64_t pfns[PAGE_BATCH_MAX];
	struct progress *pg;
	uint64_t pages_done;
	uint64_t bandwidth;		/* bytes/s, 0: no cap */
	uint64_t bw_start, bw_bytes;	/* the current capped stretch */
};

struct save *
save_open(const struct backend *be, struct dom *d, int out_fd,
    enum stream_fmt fmt)
{
	struct save *s;

	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		xp_seterr(XE_SYS, "save");
		return NULL;
	}
	s->be = be;
	s->d = d;
	s->fmt = fmt;
	if (be->info(d, &s->info) < 0)
		goto err;
	s->buf = malloc((size_t)PAGE_BATCH_MAX * XP_PAGE_SIZE);
	if (s->buf == NULL) {
		xp_seterr(XE_SYS, "save buffer");
		goto err;
	}
	s->sw = sw_new(out_fd, fmt, s->info.nr_pages);
	if (s->sw == NULL)
		goto err;
	return s;
err:
	save_close(s);
	return NULL;
}

void
save_close(struct save *s)
{
	if (s == NULL)
		return;
	progress_end(s->pg);
	sw_free(s->sw);
	free(s->buf);
	free(s);
}

const struct dom_info *
save_info(const struct save *s)
{
	return &s->info;
}

const struct sw_stats *
save_stats(const struct save *s)
{
	return sw_stats(s->sw);
}

int
save_begin(struct save *s)
{
	char *json = NULL;
	int rc = -1;

	if (s->fmt == FMT_XL && s->be->config_json(s->d, &json) < 0)
		return -1;
	if (sw_headers(s->sw, s->info.dom_type, json) < 0 ||
	    s->be->write_static(s->d, s->sw) < 0 ||
	    sw_record(s->sw, REC_TYPE_STATIC_DATA_END, NULL, 0) < 0 ||
	    s->be->write_start(s->d, s->sw) < 0)
		goto out;
	rc = 0;
out:
	free(json);
	return rc;
}

void
save_set_bandwidth(struct save *s, uint64_t bytes_per_s)
{
	s->bandwidth = bytes_per_s;
	s->bw_start = now_ns();
	s->bw_bytes = 0;
}

/* Sleep as long as the bytes sent so far are ahead of the cap. */
static void
bandwidth_wait(struct save *s, uint64_t bytes)
{
	uint64_t due, now;
	struct timespec ts;

	if (s->bandwidth == 0)
		return;
	s->bw_bytes += bytes;
	due = s->bw_start + s->bw_bytes * 1000000000ULL / s->bandwidth;
	now = now_ns();
	if (due <= now)
		return;
	ts.tv_sec = (due - now) / 1000000000ULL;
	ts.tv_nsec = (due - now) % 1000000000ULL;
	nanosleep(&ts, NULL);
}

static int
flush_batch(struct save *s, unsigned int n)
{
	uint64_t before;

	if (n == 0)
		return 0;
	before = sw_stats(s->sw)->bytes;
	if (s->be->read_pages(s->d, s->pfns, n, s->buf, s->types) < 0 ||
	    sw_pages(s->sw, s->pfns, s->types, n, s->buf) < 0)
		return -1;
	bandwidth_wait(s, sw_stats(s->sw)->bytes - before);
	s->pages_done += n;
	progress_update(s->pg, s->pages_done, sw_stats(s->sw)->bytes);
	return 0;
}

static void
start_progress(struct save *s, const char *what, uint64_t total)
{
	char label[128];

	progress_end(s->pg);
	snprintf(label, sizeof(label), "%s: %s", s->info.name, what);
	s->pg = progress_new(label, total);
	s->pages_done = 0;
}

/* Pages between two looks at the log-dirty bitmap in the first pass. */
#define PEEK_EVERY	(16 * PAGE_BATCH_MAX)

int
save_all_pages(struct save *s, int skip_dirty)
{
	uint64_t pfn, *dirty = NULL;
	unsigned int n = 0;
	int rc = -1;

	if (skip_dirty) {
		dirty = calloc((s->info.nr_pages + 63) / 64 + 1, sizeof(*dirty));
		if (dirty == NULL) {
			xp_seterr(XE_SYS, "dirty bitmap");
			return -1;
		}
	}
	start_progress(s, "memory", s->info.nr_pages);
	for (pfn = 0; pfn < s->info.nr_pages; pfn++) {
		if (dirty != NULL && pfn % PEEK_EVERY == 0 &&
		    s->be->logdirty(s->d, LOGDIRTY_PEEK, dirty) < 0)
			goto out;
		if (dirty != NULL && (dirty[pfn / 64] >> (pfn % 64)) & 1)
			continue;
		s->pfns[n++] = pfn;
		if (n == PAGE_BATCH_MAX) {
			if (flush_batch(s, n) < 0)
				goto out;
			n = 0;
		}
		if (xp_interrupted) {
			xp_seterr(XE_SYS, "interrupted");
			goto out;
		}
	}
	rc = flush_batch(s, n);
out:
	free(dirty);
	return rc;
}

int
save_dirty_pages(struct save *s, const uint64_t *bitmap)
{
	uint64_t word, w, nr_words = (s->info.nr_pages + 63) / 64, pfn;
	unsigned int n = 0;

	start_progress(s, "dirty pages", 0);
	for (w = 0; w < nr_words; w++) {
		for (word = bitmap[w]; word != 0; word &= word - 1) {
			pfn = w * 64 + __builtin_ctzll(word);
			if (pfn >= s->info.nr_pages)
				break;
			s->pfns[n++] = pfn;
			if (n == PAGE_BATCH_MAX) {
				if (flush_batch(s, n) < 0)
					return -1;
				n = 0;
			}
		}
	}
	return flush_batch(s, n);
}

/* Is r a stage mark (see save.h)? */
static int
is_stage_mark(const struct sr_rec *r)
{
	uint32_t count;

	if (r->layer != LAYER_XC || r->length != 8)
		return 0;
	if (r->type == REC_TYPE_X86_PV_VCPU_MSRS)
		return 1;
	if (r->type != REC_TYPE_HVM_PARAMS)
		return 0;
	memcpy(&count, r->body, 4);
	return count == 0;
}

int
save_stage_mark(struct save *s)
{
	static const uint8_t empty[8];

	return sw_record(s->sw, s->info.dom_type == DHDR_TYPE_X86_PV ?
	    REC_TYPE_X86_PV_VCPU_MSRS : REC_TYPE_HVM_PARAMS, empty,
	    sizeof(empty));
}

int
save_copy_input(struct save *s, struct sr *sr, const struct stream_hdrs *h)
{
	struct dom_config cfg;
	struct sr_rec r;
	int rc, marked = 0;

	if (h->dom_type != s->info.dom_type) {
		xp_seterr(XE_STREAM, "input stream is of another domain type "
		    "than %s", s->info.name);
		return -1;
	}
	if (h->json != NULL) {
		memset(&cfg, 0, sizeof(cfg));
		if (config_from_json(h->json, h->json_len, &cfg) < 0)
			return -1;
		if (strcmp(cfg.name, s->info.name) != 0) {
			xp_seterr(XE_STREAM, "input stream is of domain '%s', "
			    "not %s", cfg.name, s->info.name);
			return -1;
		}
	}
	if (h->fmt != s->fmt) {
		xp_seterr(XE_USAGE, "input stream is in %s format, output "
		    "asked for %s", fmt_name(h->fmt), fmt_name(s->fmt));
		return -1;
	}
	sr_set_nr_pages(sr, s->info.nr_pages);
	sr_defer_data(sr, 1);	/* pages go through untouched: splice */
	if (sw_raw(s->sw, h->raw, h->raw_len) < 0)
		return -1;
	sw_headers_done(s->sw);
	while ((rc = sr_next(sr, &r)) == 1) {
		if (r.layer != LAYER_XC || r.type == REC_TYPE_END) {
			xp_seterr(XE_STREAM, "offset %" PRIu64 ": input stream "
			    "is complete (has END); nothing to add", r.offset);
			return -1;
		}
		marked = is_stage_mark(&r);
		if (marked)
			continue;
		if (r.type == REC_TYPE_PAGE_DATA)
			sw_note_sent(s->sw, r.pfn_words, r.count);
		if (sw_raw(s->sw, r.raw, r.raw_len) < 0 ||
		    (r.page_data == NULL && sw_copy_data(s->sw, sr) < 0))
			return -1;
	}
	if (rc == 0 && !marked) {
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": the stage upstream "
		    "ended without finishing (it failed or was killed)",
		    sr_offset(sr));
		return -1;
	}
	return rc;
}

int
save_finish(struct save *s)
{
	progress_end(s->pg);
	s->pg = NULL;
	if (s->be->write_context(s->d, s->sw) < 0 || sw_end(s->sw) < 0)
		return -1;
	return 0;
}
