/*
 * stream-read - the stream reader as stream-info and a sim restore use it:
 * sr_headers on the input (in a memfd), the xl JSON config through
 * config_from_json and sr_set_nr_pages as restore.c does, then sr_next
 * until the end or an error, reading every byte of each record it hands
 * back (raw, body, pfn words, page data).
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
	fuzz_touch(h.raw, h.raw_len);
	memset(&cfg, 0, sizeof(cfg));
	if (h.json != NULL) {
		if (config_from_json(h.json, h.json_len, &cfg) < 0)
			goto out;
		if (cfg.nr_pages)
			sr_set_nr_pages(sr, cfg.nr_pages);
	}
	while (sr_next(sr, &r) == 1) {
		fuzz_touch(r.raw, r.raw_len);
		fuzz_touch(r.body, r.length);
		if (r.pfn_words != NULL)
			fuzz_touch(r.pfn_words, r.count * sizeof(uint64_t));
		if (r.page_data != NULL)
			fuzz_touch(r.page_data, r.data_len);
	}
out:
	sr_free(sr);
	return 0;
}
