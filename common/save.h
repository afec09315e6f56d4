/*
 * save.h - the sending side: a domain's memory and state as records on a
 * stream.  The stages of a migration are separate programs, so the steps
 * are separate calls:
 *   mem-dump     save_begin, [logdirty on], save_all_pages, save_stage_mark
 *   dirty-track  save_copy_input, precopy_run (precopy.h), save_stage_mark
 *   dom-suspend  cold: save_begin, save_all_pages, save_finish
 *                live: save_copy_input, save_dirty_pages, save_finish
 * Callers: bin/mem-dump.c, bin/dirty-track.c, bin/dom-suspend.c,
 * precopy.c.
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
/*
 * Every pfn of the domain, in batches.  With log-dirty on (skip_dirty),
 * pages already dirtied again are left out: the next round or the final
 * pass sends them anyway, so the first pass need not send them twice.
 */
int save_all_pages(struct save *s, int skip_dirty);
/* The pfns set in bitmap (nr_pages bits). */
int save_dirty_pages(struct save *s, const uint64_t *bitmap);
/*
 * Copy the stream of an upstream stage (mem-dump, dirty-track) through,
 * headers included, checking it is a well-formed stream of this domain.
 * An upstream stage that finished ends its output with a stage mark; one
 * that ended without it failed or was killed, and its output is refused:
 * pages it had taken from log-dirty may not have been sent.
 */
int save_copy_input(struct save *s, struct sr *sr, const struct stream_hdrs *h);
/*
 * The stage mark: a record receivers ignore (an empty HVM_PARAMS, or an
 * empty X86_PV_VCPU_MSRS for PV), written last by a stage that ends
 * without END and dropped by the next stage.
 */
int save_stage_mark(struct save *s);
/* Cap what the following page sends write, in bytes per second (0: none). */
void save_set_bandwidth(struct save *s, uint64_t bytes_per_s);
/* Context records and END. */
int save_finish(struct save *s);

const struct dom_info *save_info(const struct save *s);
const struct sw_stats *save_stats(const struct save *s);

#endif
