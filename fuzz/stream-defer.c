/*
 * stream-defer - the stream reader in deferred mode, as a receiver that
 * feeds libxenguest (restore.c, xen_restore.c's xen_receive) and the filters
 * use it: sr_defer_data(sr, 1), then after each PAGE_DATA record whose
 * pages were left in the input, sr_copy_data moves them out (here to
 * /dev/null) before the next sr_next.  Checks the bytes handed back
 * (raw: the header and pfns only) and that nothing but PAGE_DATA defers.
 */
#include <string.h>

#include "config.h"
#include "fuzz.h"
#include "stream.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct stream_hdrs h;
	struct dom_config cfg;
	struct sr_rec r;
	struct sr *sr;

	if ((sr = sr_new(fuzz_fd(data, size))) == NULL)
		abort();
	if (sr_headers(sr, &h) != 1)
		goto out;
	memset(&cfg, 0, sizeof(cfg));
	if (h.json != NULL) {
		if (config_from_json(h.json, h.json_len, &cfg) < 0)
			goto out;
		if (cfg.nr_pages)
			sr_set_nr_pages(sr, cfg.nr_pages);
	}
	sr_defer_data(sr, 1);
	while (sr_next(sr, &r) == 1) {
		fuzz_touch(r.raw, r.raw_len);
		if (r.pfn_words != NULL)
			fuzz_touch(r.pfn_words, r.count * sizeof(uint64_t));
		if (r.page_data != NULL || r.data_len == 0) {
			/* nothing deferred: the whole body is in memory */
			fuzz_touch(r.body, r.length);
			continue;
		}
		if (r.layer != LAYER_XC || r.type != REC_TYPE_PAGE_DATA)
			abort();	/* only PAGE_DATA's pages may stay behind */
		if (sr_copy_data(sr, fuzz_devnull()) < 0)
			break;
	}
out:
	sr_free(sr);
	return 0;
}
