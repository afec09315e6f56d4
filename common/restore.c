/* restore.c - the receiving side; see restore.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "err.h"
#include "fault.h"
#include "guard.h"
#include "handover.h"
#include "libxl_json.h"
#include "progress.h"
#include "restore.h"
#include "stream.h"

struct restore {
	const struct backend *be;
	struct dom *d;
	struct sr *sr;
	struct stream_hdrs h;
	struct dom_config cfg;
	yajl_val tree;		/* the config, parsed once, or NULL */
	char *json;		/* the config rewritten here, or NULL */
	int seen_static_end;
	int said_ready;		/* handover: the sender may send the go */
	struct restore_stats *st;
};

/* Check a PAGE_DATA record's page types against the domain's, and count. */
static int
count_pages(struct restore *rs, const struct sr_rec *r)
{
	uint32_t i, t;

	for (i = 0; i < r->count; i++) {
		t = PAGE_DATA_TYPE(r->pfn_words[i]);
		if (rs->h.dom_type == DHDR_TYPE_X86_HVM &&
		    t != PFINFO_NOTAB && PFINFO_HAS_DATA(t)) {
			xp_seterr(XE_STREAM, "offset %" PRIu64 ": page-table "
			    "page type 0x%x in an HVM stream", r->offset, t);
			return -1;
		}
		if (t == PFINFO_XALLOC)
			rs->st->pages_zero++;
		else if (PFINFO_HAS_DATA(t))
			rs->st->pages_data++;
	}
	return 0;
}

static int
apply_record(struct restore *rs, const struct sr_rec *r)
{
	if (r->layer == LAYER_XL) {
		switch (r->type) {
		case LIBXL_REC_END:
			return 0;
		case LIBXL_REC_EMULATOR_XENSTORE:
		case LIBXL_REC_EMULATOR_CONTEXT:
			xp_seterr(XE_STREAM, "offset %" PRIu64 ": device model "
			    "records (%s): HVM guests with an emulator are not "
			    "supported", r->offset, xl_rec_name(r->type));
			return -1;
		}
		if (r->type & REC_TYPE_OPTIONAL)
			return 0;
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": libxl %s record: "
		    "checkpointed streams are not supported", r->offset,
		    xl_rec_name(r->type));
		return -1;
	}
	/* what we refuse whoever restores: checked once, here */
	switch (r->type) {
	case REC_TYPE_STATIC_DATA_END:
		rs->seen_static_end = 1;
		break;
	case REC_TYPE_PAGE_DATA:
		if (rs->h.xc_version >= 3 && !rs->seen_static_end) {
			xp_seterr(XE_STREAM, "offset %" PRIu64 ": PAGE_DATA "
			    "before STATIC_DATA_END in a version 3 stream",
			    r->offset);
			return -1;
		}
		break;
	case REC_TYPE_VERIFY:
	case REC_TYPE_CHECKPOINT:
	case REC_TYPE_CHECKPOINT_DIRTY_PFN_LIST:
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": %s record: "
		    "checkpointed (Remus/COLO) streams are not supported",
		    r->offset, xc_rec_name(r->type));
		return -1;
	}
	if (r->type == REC_TYPE_PAGE_DATA && count_pages(rs, r) < 0)
		return -1;
	if (rs->be->receive(rs->d, r, rs->sr) < 0) {
		xp_preerr("offset %" PRIu64 ": %s", r->offset,
		    xc_rec_name(r->type));
		return -1;
	}
	return 0;
}

/* The receiver's side of a handover, from END to the report. */
static int
hand_over(struct restore *rs, int in_fd, struct restore_handshake *hs,
    struct dom_info *info)
{
	char nonce[HO_NONCE_LEN + 1];

	if (rs->be->finish(rs->d) < 0)
		return -1;
	fault_kill("receiver-kill-before-ready");
	if (ho_nonce(nonce) < 0 || ho_say_ready(hs->reply_fd, nonce) < 0)
		return -1;
	rs->said_ready = 1;
	trace_point("ready, %s paused", rs->cfg.name);
	if (ho_wait_go(in_fd, nonce, hs->timeout_ms) < 0)
		return -1;
	fault_kill("receiver-kill-paused");
	trace_point("go received");
	if (rs->be->start(rs->d, rs->cfg.name, info) < 0)
		return -1;
	fault_kill("receiver-kill-before-report");
	/* it runs: from here on nothing destroys it */
	if (ho_say_report(hs->reply_fd, HO_REP_RUNNING, info->name,
	    info->domid, NULL) < 0)
		hs->unreported = 1;
	return 0;
}

/* The config as the destination has it: the stream's, or its own. */
static int
take_config(struct restore *rs, struct restore_opts *o, const char *name)
{
	struct host_facts facts;
	const char *json = o->config ? o->config : rs->h.json;
	size_t len = o->config ? strlen(o->config) : rs->h.json_len;
	int rc;

	rs->cfg.dom_type = rs->h.dom_type;
	rs->cfg.simulated = -1;	/* unknown until a backend record says */
	rs->cfg.nr_vcpus = 1;
	if (json != NULL) {
		if ((rs->tree = lj_parse(json, len)) == NULL ||
		    config_from_tree(rs->tree, &rs->cfg) < 0)
			return -1;
		rs->cfg.json = json;
		if (rs->cfg.dom_type != rs->h.dom_type) {
			xp_seterr(XE_STREAM, "domain config type does not match "
			    "the stream's domain header");
			return -1;
		}
	}
	if (name == NULL && rs->cfg.name[0] == '\0') {
		xp_seterr(XE_USAGE, "the stream (%s format) carries no domain "
		    "name: use -n NAME", fmt_name(rs->h.fmt));
		return -1;
	}
	/* before the facts: a sim stream on xen fails to list xen's domains */
	if (rs->be != NULL && (rs->cfg.simulated == 1) !=
	    (rs->be == &sim_backend) && rs->cfg.json != NULL) {
		struct dom *d;

		/* the backend's create refuses it and says why */
		if (rs->be->create(&rs->cfg, &d) == 0) {
			rs->be->destroy(d);
			xp_seterr(XE_STREAM, "the stream is for the other "
			    "backend than %s", rs->be->name);
		}
		return -1;
	}
	facts.look_only = o->dry_run;
	if (facts_gather(rs->be, &facts) < 0) {
		/* a dry run vets a file anywhere: dom0's Linux facts only */
		snprintf(o->blind, sizeof(o->blind), "%s", xp_errmsg());
		if (!o->dry_run || facts_gather(NULL, &facts) < 0)
			return -1;
	}
	rc = policy_check(o->policy, &facts, rs->tree, name, &o->plan);
	facts_free(&facts);
	if (rc < 0)
		return -1;
	snprintf(rs->cfg.name, sizeof(rs->cfg.name), "%s", o->plan.name);
	if (o->plan.new_uuid) {
		snprintf(rs->cfg.uuid, sizeof(rs->cfg.uuid), "%s",
		    o->plan.uuid);
		if (rs->tree != NULL && (lj_set_str(lj_member(rs->tree,
		    "c_info"), "uuid", o->plan.uuid) < 0 ||
		    (rs->json = lj_text(rs->tree)) == NULL))
			return -1;
		if (rs->json != NULL)
			rs->cfg.json = rs->json;
	}
	return 0;
}

int
restore_stream(const struct backend *be, int in_fd, const char *name,
    struct restore_handshake *hs, struct restore_opts *o,
    struct dom_info *info, struct restore_stats *st)
{
	struct restore rs;
	struct progress *pg = NULL;
	struct guard *g = NULL;
	struct dom_info built;
	struct sr_rec r, hdrs = { .layer = LAYER_XC_HDRS };
	char label[96];
	int rc;

	memset(&rs, 0, sizeof(rs));
	memset(st, 0, sizeof(*st));
	rs.be = be;
	rs.st = st;
	rs.sr = sr_new(in_fd);
	if (rs.sr == NULL)
		return -1;
	rc = sr_headers(rs.sr, &rs.h);
	if (rc == 0)
		xp_seterr(XE_STREAM, "empty input: no stream to restore");
	if (rc <= 0)
		goto err;
	/* the watchman first: the facts open the backend's handles */
	if (!o->dry_run && (g = guard_start(be)) == NULL)
		goto err;
	if (take_config(&rs, o, name) < 0)
		goto err;
	if (o->dry_run) {
		sr_free(rs.sr);
		free(rs.json);
	lj_free(rs.tree);
		return 0;
	}
	if (rs.cfg.nr_pages)
		sr_set_nr_pages(rs.sr, rs.cfg.nr_pages);
	if (be->create(&rs.cfg, &rs.d) < 0)
		goto err;
	if (be->info(rs.d, &built) == 0)
		guard_watch(g, built.domid);
	/* the libxc image and domain headers end every kind of header */
	hdrs.offset = rs.h.raw_len - XC_HDRS_LEN;
	hdrs.raw = rs.h.raw + hdrs.offset;
	hdrs.raw_len = XC_HDRS_LEN;
	if (be->receive(rs.d, &hdrs, rs.sr) < 0)
		goto err;
	sr_defer_data(rs.sr, be->pages_in_input);
	snprintf(label, sizeof(label), "%s: restoring", rs.cfg.name);
	pg = progress_new(label, rs.cfg.nr_pages);
	while ((rc = sr_next(rs.sr, &r)) == 1) {
		st->records++;
		if (sr_offset(rs.sr) > o->plan.stream_max) {
			xp_seterr(XE_STREAM, "offset %" PRIu64 ": the stream "
			    "goes on past %" PRIu64 " MiB, %u times its "
			    "domain's memory (StreamFactor)", r.offset,
			    o->plan.stream_max >> 20, o->policy->stream_factor);
			goto err;
		}
		if (apply_record(&rs, &r) < 0)
			goto err;
		if (r.type == REC_TYPE_PAGE_DATA && r.layer == LAYER_XC)
			fault_kill("receiver-kill-mid-stream");
		progress_update(pg, st->pages_data + st->pages_zero,
		    sr_offset(rs.sr));
	}
	if (rc < 0)
		goto err;
	if (!sr_done(rs.sr)) {
		xp_seterr(XE_STREAM, "offset %" PRIu64 ": stream ended without "
		    "END (truncated, or its sender failed)", sr_offset(rs.sr));
		goto err;
	}
	progress_end(pg);
	pg = NULL;
	st->bytes = sr_offset(rs.sr);
	trace_point("END received, starting %s", rs.cfg.name);
	if (xp_interrupted) {
		errno = EINTR;
		xp_seterr(XE_SYS, "before the domain started");
		goto err;
	}
	if (hs != NULL ? hand_over(&rs, in_fd, hs, info) < 0 :
	    be->start(rs.d, rs.cfg.name, info) < 0)
		goto err;
	trace_point("started");
	guard_release(g);
	be->close(rs.d);
	sr_free(rs.sr);
	free(rs.json);
	lj_free(rs.tree);
	return 0;
err:
	progress_end(pg);
	if (rs.d != NULL) {
		/* keep the reason, not whatever the clean-up says */
		struct xp_saved why;

		xp_save(&why);
		rc = be->destroy(rs.d);
		if (rs.said_ready)
			ho_say_report(hs->reply_fd, rc == 0 ? HO_REP_DESTROYED :
			    HO_REP_KEPT, NULL, 0, why.msg);
		xp_restore(&why);
	}
	guard_release(g);
	sr_free(rs.sr);
	free(rs.json);
	lj_free(rs.tree);
	return -1;
}
