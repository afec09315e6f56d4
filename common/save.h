/*
 * save.h - the sending side: a domain's memory and state as records on a
 * stream.  The stages of a migration are separate programs, so the steps
 * are separate calls:
 *   mem-dump     save_begin, [logdirty on], save_all_pages
 *   dom-suspend  cold: save_begin, save_all_pages, save_finish
 *                live: save_copy_input, save_dirty_pages, save_finish
 * Callers: bin/mem-dump.c, bin/dom-suspend.c (and dirty-track later).
 */
#ifndef XENPIPE_SAVE_H
#define XENPIPE_SAVE_H

#include <stdint.h>

#include "backend.h"
#include "stream.h"

struct save;

/* d stays the caller's; the writer goes to out_fd in format fmt. */
struct save *save_open(const struct backend *be, struct dom *d, int out_fd,
    enum stream_fmt fmt);
void save_close(struct save *s);

/* Headers (with the domain's JSON config), static records, STATIC_DATA_END. */
int save_begin(struct save *s);
/* Every pfn of the domain, in batches. */
int save_all_pages(struct save *s);
/* The pfns set in bitmap (nr_pages bits). */
int save_dirty_pages(struct save *s, const uint64_t *bitmap);
/* Copy a stream of the same domain from in_fd through, headers included; 0 when in_fd is empty. */
int save_copy_input(struct save *s, struct sr *sr, const struct stream_hdrs *h);
/* Context records and END. */
int save_finish(struct save *s);

const struct dom_info *save_info(const struct save *s);
const struct sw_stats *save_stats(const struct save *s);

#endif
