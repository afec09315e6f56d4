/*
 * xen_restore.c - the xen backend's receiving side (xen_priv.h): build a
 * domain the way libxl does for `xl restore`, with libxenguest restoring
 * memory and CPU state.
 *
 * xen_create makes the empty domain, paused, from the libxl domain config
 * that travels in an xl stream (libxl_create.c libxl__domain_make,
 * libxl_dom.c libxl__build_pre, libxl_x86.c): limits, memory, TSC mode,
 * paging pool, the xenstore and console event channels, and the xenstore
 * skeleton of /local/domain/N, /vm/UUID and /libxl/N under the name
 * NAME--incoming.  It then starts a thread running xc_domain_restore() on
 * one end of a socket pair; xen_receive writes the records our reader has
 * checked into the other end (send with MSG_NOSIGNAL: a restore that
 * died is an EPIPE here, never a SIGPIPE).
 *
 * xen_start collects the thread's result and finishes what libxl does
 * after the stream (libxl__build_post, the console device, the userdata
 * file xl reads back for save, migrate and destroy), introduces the
 * domain to xenstored, takes the name and only then unpauses.  Any failure
 * leaves the destroy to the caller (restore.c), which removes everything
 * built here: xl list shows nothing half-made.
 *
 * Disks (phy:) and network interfaces (vif on a bridge) are rebuilt by
 * xen_dev.c with their hotplug scripts, as libxl does, but in xen_create,
 * while the stream comes in, where libxl does it after the stream, in the
 * guest's pause; a config with any other device is refused (the guest
 * would resume without it).
 */
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "config.h"
#include "io.h"
#include "err.h"
#include "progress.h"
#include "stream.h"
#include "stream_format.h"
#include "xen_priv.h"

#include <xenguest.h>	/* after xenctrl.h */

#define XEN_LIB_DIR	"/var/lib/xen"
#define MAXMEM_EXTRA_KB	1024		/* libxl's LIBXL_MAXMEM_CONSTANT */
#define CONSOLE_LIMIT	"1048576"	/* LIBXL_XENCONSOLE_LIMIT */
#define SUFFIX_IN	"--incoming"
#define BUILDER_KEY	"xenpipe-builder"	/* /libxl/N/: "PID STARTTIME" */
#define SOCK_BUF	(1 << 20)

enum perm { P_KEEP, P_RO, P_RW, P_DOM0 };

/* What we take from the libxl domain config (libxl_types.idl names). */
struct xr_conf {
	int pv;				/* c_info.type pv, else pvh */
	char uuid[37];
	xen_domain_handle_t handle;
	int hap;			/* c_info.hap: 1, 0, -1 default */
	int vpmu, msr_relaxed, nested;
	unsigned int max_vcpus;
	uint8_t *avail;			/* max_vcpus bytes: vCPU online */
	long long max_memkb, target_memkb, video_memkb, shadow_memkb;
	long long slack_memkb;		/* PV */
	int32_t event_channels, max_grant_frames, max_maptrack_frames;
	int max_grant_version;		/* -1: the host's best */
	uint32_t tsc_mode, timer_mode, altp2m;
	char *dm_version;		/* b_info.device_model_version */
	char *kernel, *ramdisk, *cmdline;	/* PV: /vm/UUID/image */
	char pool[64];			/* c_info.pool_name, "" Pool-0 */
};

struct xr_logger {
	struct xentoollog_logger lg;	/* first: libxc calls through it */
	char msg[256];			/* libxc's first error */
};

struct xen_restore {
	struct xr_conf c;
	struct xen_devs *devs;		/* disks and nics, xen_dev.c */
	char name[DOM_NAME_MAX];
	const char *json;		/* the caller's (restore.c), to start */
	int created;			/* a domain with d->domid exists */
	uint32_t store_domid, console_domid;
	uint32_t store_port, console_port;
	char dom_path[64], libxl_path[64], vm_path[96];
	char builder[64];		/* BUILDER_KEY of this process */

	xc_interface *xch;		/* the thread's own */
	struct xr_logger log;
	int sock_w, sock_r;
	pthread_t thread;
	int running;			/* thread started, not joined */
	int finished;			/* xen_finish done: introduced, paused */
	int rc, err;			/* xc_domain_restore's result, errno */
	unsigned long store_gfn, console_gfn;
	uint32_t domid;
};

/* ---- libxc's messages, kept for our one-line error ---- */

static void
xr_vmessage(struct xentoollog_logger *lg, xentoollog_level level,
    int errnoval, const char *context, const char *fmt, va_list ap)
{
	struct xr_logger *l = (struct xr_logger *)lg;
	size_t n;

	(void)context;
	if (level < XTL_ERROR || l->msg[0] != '\0')
		return;
	vsnprintf(l->msg, sizeof(l->msg), fmt, ap);
	n = strlen(l->msg);
	while (n > 0 && (l->msg[n - 1] == '\n' || l->msg[n - 1] == ' '))
		l->msg[--n] = '\0';
	if (errnoval > 0)
		snprintf(l->msg + n, sizeof(l->msg) - n, ": %s",
		    strerror(errnoval));
}

static void
xr_logdestroy(struct xentoollog_logger *lg)
{
	(void)lg;
}

/* ---- the config ---- */

static int
parse_uuid(const char *s, xen_domain_handle_t h)
{
	unsigned int i, j = 0;
	int hi, lo;

	if (strlen(s) != 36)
		return -1;
	for (i = 0; i < 36; ) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i++] != '-')
				return -1;
			continue;
		}
		hi = s[i] >= '0' && s[i] <= '9' ? s[i] - '0' :
		    (s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'f' ?
		    (s[i] | 0x20) - 'a' + 10 : -1;
		lo = s[i + 1] >= '0' && s[i + 1] <= '9' ? s[i + 1] - '0' :
		    (s[i + 1] | 0x20) >= 'a' && (s[i + 1] | 0x20) <= 'f' ?
		    (s[i + 1] | 0x20) - 'a' + 10 : -1;
		if (hi < 0 || lo < 0)
			return -1;
		h[j++] = hi << 4 | lo;
		i += 2;
	}
	return 0;
}

static void
uuid_string(const xen_domain_handle_t h, char *s)
{
	snprintf(s, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", h[0], h[1], h[2], h[3], h[4], h[5],
	    h[6], h[7], h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]);
}

static char *
dupstr(const char *s)
{
	return s != NULL ? strdup(s) : NULL;
}

/* The avail_vcpus bitmap libxl writes as a list of vCPU numbers. */
static int
parse_avail(yajl_val binfo, struct xr_conf *c)
{
	yajl_val v = lj_member(binfo, "avail_vcpus"), e;
	size_t i;

	if ((c->avail = calloc(c->max_vcpus, 1)) == NULL) {
		xp_seterr(XE_SYS, "config");
		return -1;
	}
	if (lj_len(v) == 0) {
		memset(c->avail, 1, c->max_vcpus);
		return 0;
	}
	for (i = 0; i < lj_len(v); i++) {
		e = YAJL_GET_ARRAY(v)->values[i];
		if (!YAJL_IS_INTEGER(e) || YAJL_GET_INTEGER(e) < 0) {
			xp_seterr(XE_STREAM, "domain config: bad "
			    "b_info.avail_vcpus");
			return -1;
		}
		if (YAJL_GET_INTEGER(e) < c->max_vcpus)
			c->avail[YAJL_GET_INTEGER(e)] = 1;
	}
	return 0;
}

/* c_info: the type, the devices we cannot build, the UUID, the pool. */
static int
parse_cinfo(yajl_val root, struct xr_conf *c)
{
	static const char *const others[] = { "pcidevs", "vtpms", "p9s",
		"vfbs", "vkbs", "channels", "usbctrls", "usbdevs", "dtdevs",
		"vdispls", "vsnds", "pvcallsifs", NULL };
	yajl_val cinfo = lj_member(root, "c_info");
	const char *s;
	size_t i;

	if (lj_str(cinfo, "c_info", "type", &s) < 0)
		return -1;
	if (s == NULL || strcmp(s, "hvm") == 0) {
		xp_seterr(XE_STREAM, "domain config: %s guest: HVM guests need "
		    "a device model, which the xen backend does not start "
		    "(use xl restore)", s ? s : "untyped");
		return -1;
	}
	if (strcmp(s, "pv") != 0 && strcmp(s, "pvh") != 0) {
		xp_seterr(XE_STREAM, "domain config: unknown type \"%s\"", s);
		return -1;
	}
	c->pv = strcmp(s, "pv") == 0;
	/* disks and nics: xen_dev.c; anything else we cannot rebuild */
	for (i = 0; others[i] != NULL; i++)
		if (lj_len(lj_member(root, others[i])) > 0) {
			xp_seterr(XE_STREAM, "domain config has devices other "
			    "than disks and nics (pci, vfb, vkb, channels, "
			    "...), which the xen backend does not build");
			return -1;
		}
	if (lj_str(cinfo, "c_info", "passthrough", &s) < 0)
		return -1;
	if (s != NULL && strcmp(s, "disabled") != 0 &&
	    strcmp(s, "default") != 0) {
		xp_seterr(XE_STREAM, "domain config: passthrough \"%s\" is not "
		    "supported", s);
		return -1;
	}
	if (lj_str(cinfo, "c_info", "uuid", &s) < 0)
		return -1;
	if (s != NULL && parse_uuid(s, c->handle) < 0) {
		xp_seterr(XE_STREAM, "domain config: bad uuid");
		return -1;
	}
	if (s == NULL && getrandom(c->handle, sizeof(c->handle), 0) !=
	    sizeof(c->handle)) {
		xp_seterr(XE_SYS, "uuid");
		return -1;
	}
	if (s == NULL) {	/* a version 4 uuid, as libxl makes */
		c->handle[6] = (c->handle[6] & 0x0f) | 0x40;
		c->handle[8] = (c->handle[8] & 0x3f) | 0x80;
	}
	uuid_string(c->handle, c->uuid);
	if (lj_str(cinfo, "c_info", "pool_name", &s) < 0)
		return -1;
	if (s != NULL && (strlen(s) >= sizeof(c->pool) || s[0] == '\0' ||
	    strchr(s, '/') != NULL)) {
		xp_seterr(XE_STREAM, "domain config: bad pool_name");
		return -1;
	}
	snprintf(c->pool, sizeof(c->pool), "%s", s != NULL &&
	    strcmp(s, "Pool-0") != 0 ? s : "");
	return lj_defbool(cinfo, "c_info", "hap", -1, &c->hap);
}

/* b_info's memory, in KiB: 1 TiB at most (DOM_PAGES_MAX). */
static int
parse_memory(yajl_val binfo, yajl_val pv, struct xr_conf *c)
{
	if (lj_int(binfo, "b_info", "max_memkb", 1, 1LL << 30, 0,
	    &c->max_memkb) < 0 ||
	    lj_int(binfo, "b_info", "target_memkb", 1, 1LL << 30,
	    c->max_memkb, &c->target_memkb) < 0 ||
	    lj_int(binfo, "b_info", "video_memkb", -1, 1LL << 30, 0,
	    &c->video_memkb) < 0 ||
	    lj_int(binfo, "b_info", "shadow_memkb", -1, 1LL << 30, -1,
	    &c->shadow_memkb) < 0 ||
	    lj_int(pv, "b_info.type.pv", "slack_memkb", -1, 1LL << 30, 0,
	    &c->slack_memkb) < 0)
		return -1;
	if (c->max_memkb == 0) {
		xp_seterr(XE_STREAM, "domain config: no b_info.max_memkb");
		return -1;
	}
	if (c->video_memkb < 0)
		c->video_memkb = 0;
	if (c->slack_memkb < 0)
		c->slack_memkb = 0;
	if (c->shadow_memkb < 0)	/* libxl__get_required_paging_memory */
		c->shadow_memkb = 4 * (256 * c->max_vcpus +
		    (!c->pv + (c->pv || c->hap == 0)) * (c->max_memkb / 1024));
	return 0;
}

/* The config as libxl would build from it (lj_parse's tree). */
static int
parse_conf(yajl_val root, struct xr_conf *c)
{
	static const char *const tsc[] = { "default", "always_emulate",
		"native", NULL };
	static const char *const timer[] = { "delay_for_missed_ticks",
		"no_delay_for_missed_ticks", "no_missed_ticks_pending",
		"one_missed_tick_pending", NULL };
	static const char *const altp2m[] = { "disabled", "mixed", "external",
		"limited", NULL };
	yajl_val binfo = lj_member(root, "b_info");
	yajl_val pv = lj_member(lj_member(binfo, "type"), "pv");
	const char *s, *k, *r, *cl;
	long long n;
	int on;

	if (root == NULL) {
		xp_seterr(XE_STREAM, "domain config is not a JSON object");
		return -1;
	}
	if (parse_cinfo(root, c) < 0 ||
	    lj_defbool(binfo, "b_info", "vpmu", 0, &c->vpmu) < 0 ||
	    lj_defbool(binfo, "b_info", "nested_hvm", 0, &c->nested) < 0 ||
	    lj_defbool(lj_member(binfo, "arch_x86"), "b_info.arch_x86",
	    "msr_relaxed", 0, &on) < 0)
		return -1;
	c->msr_relaxed = on;
	if (lj_int(binfo, "b_info", "max_vcpus", 1, 4096, 1, &n) < 0)
		return -1;
	c->max_vcpus = n;
	if (parse_avail(binfo, c) < 0 || parse_memory(binfo, pv, c) < 0)
		return -1;
	if (lj_int(binfo, "b_info", "event_channels", 0, INT32_MAX, 1023,
	    &n) < 0)
		return -1;
	c->event_channels = n ? n : 1023;
	if (lj_int(binfo, "b_info", "max_grant_frames", -1, INT32_MAX, -1,
	    &n) < 0)
		return -1;
	c->max_grant_frames = n;
	if (lj_int(binfo, "b_info", "max_maptrack_frames", -1, INT32_MAX,
	    -1, &n) < 0)
		return -1;
	c->max_maptrack_frames = n;
	if (lj_int(binfo, "b_info", "max_grant_version", -1, 15, -1, &n) < 0)
		return -1;
	c->max_grant_version = n;
	if (lj_enum(binfo, "b_info", "tsc_mode", tsc, 0, &c->tsc_mode) < 0 ||
	    lj_enum(binfo, "b_info", "timer_mode", timer, 1,
	    &c->timer_mode) < 0 ||
	    lj_enum(binfo, "b_info", "altp2m", altp2m, 0, &c->altp2m) < 0 ||
	    lj_str(binfo, "b_info", "device_model_version", &s) < 0 ||
	    lj_str(pv, "b_info.type.pv", "kernel", &k) < 0 ||
	    lj_str(pv, "b_info.type.pv", "ramdisk", &r) < 0 ||
	    lj_str(pv, "b_info.type.pv", "cmdline", &cl) < 0)
		return -1;
	c->dm_version = dupstr(s);
	c->kernel = dupstr(k);
	c->ramdisk = dupstr(r);
	c->cmdline = dupstr(cl);
	return 0;
}

static void
free_conf(struct xr_conf *c)
{
	free(c->avail);
	free(c->dm_version);
	free(c->kernel);
	free(c->ramdisk);
	free(c->cmdline);
}

/* ---- xenstore ---- */

/*
 * Write fmt's path (val NULL: an empty node, as libxl__xs_mknod) and give
 * it perm: P_RO dom0's, the guest may read; P_RW the guest's; P_DOM0
 * dom0's alone; P_KEEP those it inherits from its parent.
 */
static int __attribute__((format(printf, 5, 6)))
xput(uint32_t domid, xs_transaction_t t, enum perm perm, const char *val,
    const char *fmt, ...)
{
	struct xs_permissions p[2];
	unsigned int np = 0;
	char path[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	switch (perm) {
	case P_KEEP:
		break;
	case P_RO:
		p[np++] = (struct xs_permissions){ 0, XS_PERM_NONE };
		p[np++] = (struct xs_permissions){ domid, XS_PERM_READ };
		break;
	case P_RW:
		p[np++] = (struct xs_permissions){ domid, XS_PERM_NONE };
		break;
	case P_DOM0:
		p[np++] = (struct xs_permissions){ 0, XS_PERM_NONE };
		break;
	}
	return xen_xs_put(t, p, np, val, "%s", path);
}

/* Does a domain other than domid have path as its vm path? */
static int
vm_path_used(const char *path, uint32_t domid)
{
	char **ents, *v;
	unsigned int n, i;
	int used = 0;

	if ((ents = xs_directory(xen_xsh, XBT_NULL, "/local/domain", &n)) ==
	    NULL)
		return 0;
	for (i = 0; i < n && !used; i++) {
		if (strtoul(ents[i], NULL, 10) == domid)
			continue;
		v = xen_xs_get(XBT_NULL, "/local/domain/%s/vm", ents[i]);
		used = v != NULL && strcmp(v, path) == 0;
		free(v);
	}
	free(ents);
	return used;
}

/* libxl__domain_make's part: the skeleton, under NAME--incoming. */
static int
fill_skeleton(xs_transaction_t t, void *arg)
{
	struct xen_restore *r = arg;
	const char *dp = r->dom_path, *type = r->c.pv ? "pv" : "pvh";
	uint32_t id = r->domid;
	char name[DOM_NAME_MAX + sizeof(SUFFIX_IN)];

	snprintf(name, sizeof(name), "%s%s", r->name, SUFFIX_IN);
	xs_rm(xen_xsh, t, dp);
	xs_rm(xen_xsh, t, r->libxl_path);
	if (!vm_path_used(r->vm_path, id))
		xs_rm(xen_xsh, t, r->vm_path);	/* a dead domain's leftovers */
	if (xput(id, t, P_RO, NULL, "%s", dp) < 0 ||
	    xput(id, t, P_RO, NULL, "%s", r->vm_path) < 0 ||
	    xput(id, t, P_DOM0, NULL, "%s", r->libxl_path) < 0 ||
	    xput(id, t, P_DOM0, NULL, "%s/device", r->libxl_path) < 0 ||
	    xput(id, t, P_KEEP, r->vm_path, "%s/vm", dp) < 0 ||
	    xput(id, t, P_KEEP, name, "%s/name", dp) < 0 ||
	    xput(id, t, P_RO, NULL, "%s/cpu", dp) < 0 ||
	    xput(id, t, P_RO, NULL, "%s/memory", dp) < 0 ||
	    xput(id, t, P_RO, NULL, "%s/device", dp) < 0 ||
	    xput(id, t, P_RW, NULL, "%s/device/suspend/event-channel",
	    dp) < 0 ||
	    xput(id, t, P_RO, NULL, "%s/control", dp) < 0 ||
	    xput(id, t, P_RW, NULL, "%s/control/shutdown", dp) < 0 ||
	    xput(id, t, P_RW, NULL, "%s/control/feature-poweroff", dp) < 0 ||
	    xput(id, t, P_RW, NULL, "%s/control/feature-reboot", dp) < 0 ||
	    xput(id, t, P_RW, NULL, "%s/control/feature-suspend", dp) < 0 ||
	    xput(id, t, P_RW, NULL, "%s/control/sysrq", dp) < 0 ||
	    xput(id, t, P_RW, NULL, "%s/data", dp) < 0 ||
	    xput(id, t, P_RW, NULL, "%s/drivers", dp) < 0 ||
	    xput(id, t, P_RW, NULL, "%s/feature", dp) < 0 ||
	    xput(id, t, P_RW, NULL, "%s/attr", dp) < 0 ||
	    xput(id, t, P_RW, NULL, "%s/error", dp) < 0 ||
	    xput(id, t, P_KEEP, r->c.uuid, "%s/uuid", r->vm_path) < 0 ||
	    xput(id, t, P_KEEP, name, "%s/name", r->vm_path) < 0 ||
	    xput(id, t, P_KEEP, "1", "%s/control/platform-feature-"
	    "multiprocessor-suspend", dp) < 0 ||
	    xput(id, t, P_KEEP, "1", "%s/control/platform-feature-"
	    "xs_reset_watches", dp) < 0 ||
	    xput(id, t, P_KEEP, type, "%s/type", r->libxl_path) < 0 ||
	    xput(id, t, P_KEEP, r->builder, "%s/" BUILDER_KEY,
	    r->libxl_path) < 0)
		return -1;
	return 0;
}

/* "PID STARTTIME" of a process (/proc/PID/stat field 22); "" if gone. */
static void
proc_id(pid_t pid, char *out, size_t n)
{
	char path[32], buf[1024], *p;
	unsigned long long start;
	ssize_t len;
	int fd, i;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return;
	buf[len] = '\0';
	/* after the command, which may hold spaces and parentheses */
	if ((p = strrchr(buf, ')')) == NULL)
		return;
	for (i = 2; i < 22 && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p, " %llu", &start) != 1)
		return;
	snprintf(out, n, "%d %llu", (int)pid, start);
}

/*
 * A NAME--incoming whose builder is gone: a dom-resume killed with its
 * watchman (guard.h), or a host that lost dom0's processes.  Only ours,
 * told by the builder record; xl's own --incoming domains are left alone.
 */
void
xen_sweep_leftovers(void)
{
	struct dom_info *infos = NULL;
	char *rec, now[64];
	size_t n = 0, i, k = strlen(SUFFIX_IN), len;
	struct xp_saved why;
	struct dom *left;
	int pid;

	xp_save(&why);
	if (xen_backend.list(&infos, &n) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		len = strlen(infos[i].name);
		if (len <= k || strcmp(infos[i].name + len - k, SUFFIX_IN) != 0)
			continue;
		rec = xen_xs_get(XBT_NULL, "/libxl/%u/" BUILDER_KEY,
		    infos[i].domid);
		if (rec == NULL || sscanf(rec, "%d", &pid) != 1 || pid <= 0) {
			free(rec);
			continue;
		}
		proc_id(pid, now, sizeof(now));
		if (strcmp(now, rec) != 0 &&
		    (left = xen_dom_new(infos[i].domid)) != NULL)
			xen_destroy(left);
		free(rec);
	}
out:
	free(infos);
	xp_restore(&why);
}

/*
 * libxl__build_post's part, the primary console (libxl_console.c) and
 * /libxl/N/dm-version, as far as it is known before the memory is in:
 * written while the stream comes in, so that a live migration's pause
 * has only fill_post's few keys to wait for.  The guest sees none of it
 * before xs_introduce_domain, and xenconsoled reads the console only once
 * its ring-ref is there.
 */
static int
fill_static(xs_transaction_t t, void *arg)
{
	struct xen_restore *r = arg;
	const char *dp = r->dom_path, *lp = r->libxl_path, *vp = r->vm_path;
	uint32_t id = r->domid;
	char v[128], bp[96], st[32];
	unsigned int i;
	struct xs_permissions ro[2] = {
		{ r->console_domid, XS_PERM_NONE }, { id, XS_PERM_READ },
	};

#define PUT(perm, val, ...) do { \
	if (xput(id, t, perm, val, __VA_ARGS__) < 0) \
		return -1; \
} while (0)
	snprintf(v, sizeof(v), "%lld", r->c.max_memkb);
	PUT(P_KEEP, v, "%s/memory/static-max", dp);
	snprintf(v, sizeof(v), "%lld", r->c.target_memkb -
	    r->c.video_memkb);
	PUT(P_KEEP, v, "%s/memory/target", dp);
	snprintf(v, sizeof(v), "%lld", r->c.video_memkb);
	PUT(P_KEEP, v, "%s/memory/videoram", dp);
	snprintf(v, sizeof(v), "%u", id);
	PUT(P_KEEP, v, "%s/domid", dp);
	snprintf(v, sizeof(v), "%u", r->store_port);
	PUT(P_KEEP, v, "%s/store/port", dp);
	for (i = 0; i < r->c.max_vcpus; i++)
		PUT(P_KEEP, r->c.avail[i] ? "online" : "offline",
		    "%s/cpu/%u/availability", dp, i);
	if (r->c.pv) {
		PUT(P_KEEP, "linux", "%s/image/ostype", vp);
		if (r->c.kernel != NULL)
			PUT(P_KEEP, r->c.kernel, "%s/image/kernel", vp);
		if (r->c.ramdisk != NULL)
			PUT(P_KEEP, r->c.ramdisk, "%s/image/ramdisk", vp);
		if (r->c.cmdline != NULL)
			PUT(P_KEEP, r->c.cmdline, "%s/image/cmdline", vp);
	}
	if (r->c.dm_version != NULL)
		PUT(P_KEEP, r->c.dm_version, "%s/dm-version", lp);

	/* console 0: its frontend is read-only to the guest */
	snprintf(bp, sizeof(bp), "/local/domain/%u/backend/console/%u/0",
	    r->console_domid, id);
	xs_rm(xen_xsh, t, bp);
	if (!xs_mkdir(xen_xsh, t, bp) ||
	    !xs_set_permissions(xen_xsh, t, bp, ro, 2)) {
		xp_seterr(XE_SYS, "xenstore: %s", bp);
		return -1;
	}
	snprintf(v, sizeof(v), "%s/console", dp);
	xs_rm(xen_xsh, t, v);
	if (!xs_mkdir(xen_xsh, t, v) ||
	    !xs_set_permissions(xen_xsh, t, v, ro, 2)) {
		xp_seterr(XE_SYS, "xenstore: %s", v);
		return -1;
	}
	PUT(P_KEEP, bp, "%s/console/backend", dp);
	snprintf(st, sizeof(st), "%u", r->console_domid);
	PUT(P_KEEP, st, "%s/console/backend-id", dp);
	PUT(P_KEEP, CONSOLE_LIMIT, "%s/console/limit", dp);
	PUT(P_KEEP, "xenconsoled", "%s/console/type", dp);
	PUT(P_KEEP, "pty", "%s/console/output", dp);
	PUT(P_KEEP, "", "%s/console/tty", dp);
	snprintf(st, sizeof(st), "%u", r->console_port);
	PUT(P_KEEP, st, "%s/console/port", dp);
	snprintf(st, sizeof(st), "%u", id);
	PUT(P_KEEP, v, "%s/frontend", bp);
	PUT(P_KEEP, st, "%s/frontend-id", bp);
	PUT(P_KEEP, "1", "%s/online", bp);
	PUT(P_KEEP, "1", "%s/state", bp);
	PUT(P_KEEP, "vt100", "%s/protocol", bp);
	PUT(P_KEEP, v, "%s/device/console/0/frontend", lp);
	PUT(P_KEEP, bp, "%s/device/console/0/backend", lp);
	PUT(P_KEEP, st, "%s/device/console/0/frontend-id", lp);
	PUT(P_KEEP, "1", "%s/device/console/0/online", lp);
	PUT(P_KEEP, "1", "%s/device/console/0/state", lp);
	PUT(P_KEEP, "vt100", "%s/device/console/0/protocol", lp);
	return 0;
}

/* The rest, once the memory is in: the rings' frames and the start time. */
static int
fill_post(xs_transaction_t t, void *arg)
{
	struct xen_restore *r = arg;
	uint32_t id = r->domid;
	char v[32];
	struct timeval now;

	snprintf(v, sizeof(v), "%lu", r->store_gfn);
	PUT(P_KEEP, v, "%s/store/ring-ref", r->dom_path);
	snprintf(v, sizeof(v), "%lu", r->console_gfn);
	PUT(P_KEEP, v, "%s/console/ring-ref", r->dom_path);
	gettimeofday(&now, NULL);
	snprintf(v, sizeof(v), "%lld.%02ld", (long long)now.tv_sec,
	    (long)now.tv_usec / 10000);
	PUT(P_KEEP, v, "%s/start_time", r->vm_path);
#undef PUT
	return 0;
}

/* ---- the domain ---- */

static int
domid_ok(uint32_t domid)
{
	return domid > 0 && domid < DOMID_FIRST_RESERVED;
}

/*
 * The id of the cpupool named name, as libxl_name_to_cpupoolid: each
 * pool's name is /local/pool/ID/name.  -1 with xp_err when none has it.
 */
static int
pool_id(const char *name, uint32_t *id)
{
	xc_cpupoolinfo_t *info;
	uint32_t next = 0;
	char *pn;
	int found = 0;

	while (!found && (info = xc_cpupool_getinfo(xen_xch, next)) != NULL) {
		pn = xen_xs_get(XBT_NULL, "/local/pool/%u/name",
		    info->cpupool_id);
		if (pn != NULL && strcmp(pn, name) == 0) {
			*id = info->cpupool_id;
			found = 1;
		}
		next = info->cpupool_id + 1;
		free(pn);
		xc_cpupool_infofree(xen_xch, info);
	}
	if (!found) {
		errno = 0;
		xp_seterr(XE_STATE, "cpupool %s (the domain's pool_name) does "
		    "not exist on this host", name);
		return -1;
	}
	return 0;
}

/* xc_domain_create and libxl__build_pre: an empty, paused domain. */
static int
make_domain(struct xen_restore *r)
{
	struct xr_conf *c = &r->c;
	struct xen_domctl_createdomain cd;
	xc_physinfo_t pi;
	char *v;
	int gv = c->max_grant_version, hap = c->hap;
	int rc;
	uint32_t domid = 0;

	memset(&pi, 0, sizeof(pi));
	if (xc_physinfo(xen_xch, &pi) < 0) {
		xp_seterr(XE_SYS, "xc_physinfo");
		return -1;
	}
	if (gv < 0)
		gv = pi.capabilities & XEN_SYSCTL_PHYSCAP_gnttab_v2 ? 2 :
		    pi.capabilities & XEN_SYSCTL_PHYSCAP_gnttab_v1 ? 1 : 0;
	if (hap < 0)
		hap = !!(pi.capabilities & XEN_SYSCTL_PHYSCAP_hap);
	if (!c->pv && !hap && !(pi.capabilities & XEN_SYSCTL_PHYSCAP_shadow)) {
		xp_seterr(XE_STATE, "this Xen has neither HAP nor shadow "
		    "paging for a PVH guest");
		return -1;
	}
	c->hap = hap;

	memset(&cd, 0, sizeof(cd));
	cd.max_vcpus = c->max_vcpus;
	cd.max_evtchn_port = c->event_channels;
	cd.max_grant_frames = c->max_grant_frames;
	cd.max_maptrack_frames = c->max_maptrack_frames;
	cd.grant_opts = XEN_DOMCTL_GRANT_version(gv);
	memcpy(cd.handle, c->handle, sizeof(cd.handle));
	if (c->pool[0] != '\0' && pool_id(c->pool, &cd.cpupool_id) < 0)
		return -1;
	if (!c->pv) {
		cd.flags |= XEN_DOMCTL_CDF_hvm;
		if (hap)
			cd.flags |= XEN_DOMCTL_CDF_hap;
		cd.arch.emulation_flags = XEN_X86_EMU_LAPIC;
		if (c->nested)
			cd.flags |= XEN_DOMCTL_CDF_nested_virt;
	}
	if (c->vpmu)
		cd.flags |= XEN_DOMCTL_CDF_vpmu;
	if (c->msr_relaxed)
		cd.arch.misc_flags |= XEN_X86_MSR_RELAXED;
	if (xc_domain_create(xen_xch, &domid, &cd) < 0) {
		xp_seterr(XE_SYS, "xc_domain_create");
		return -1;
	}
	r->domid = domid;
	r->created = 1;

	if (xc_domain_max_vcpus(xen_xch, domid, c->max_vcpus) < 0) {
		xp_seterr(XE_SYS, "domain %u: xc_domain_max_vcpus", domid);
		return -1;
	}
	if (xc_domain_setmaxmem(xen_xch, domid, (c->max_memkb >
	    c->target_memkb ? c->max_memkb : c->target_memkb) +
	    MAXMEM_EXTRA_KB) < 0) {
		xp_seterr(XE_SYS, "domain %u: xc_domain_setmaxmem", domid);
		return -1;
	}
	if (!c->pv && (xc_hvm_param_set(xen_xch, domid, HVM_PARAM_TIMER_MODE,
	    c->timer_mode) < 0 || xc_hvm_param_set(xen_xch, domid,
	    HVM_PARAM_ALTP2M, c->altp2m) < 0)) {
		xp_seterr(XE_SYS, "domain %u: xc_hvm_param_set", domid);
		return -1;
	}
	if (c->pv && xc_domain_set_memmap_limit(xen_xch, domid,
	    c->max_memkb + c->slack_memkb) < 0) {
		xp_seterr(XE_SYS, "domain %u: xc_domain_set_memmap_limit",
		    domid);
		return -1;
	}
	if (xc_domain_set_tsc_info(xen_xch, domid, c->tsc_mode, 0, 0, 0) < 0) {
		xp_seterr(XE_SYS, "domain %u: xc_domain_set_tsc_info", domid);
		return -1;
	}
	if (!c->pv && xc_set_paging_mempool_size(xen_xch, domid,
	    (uint64_t)c->shadow_memkb << 10) < 0) {
		xp_seterr(XE_SYS, "domain %u: paging pool of %lld KiB",
		    domid, c->shadow_memkb);
		return -1;
	}

	v = xen_xs_get(XBT_NULL, "/tool/xenstored/domid");
	r->store_domid = v ? strtoul(v, NULL, 10) : 0;
	free(v);
	v = xen_xs_get(XBT_NULL, "/tool/xenconsoled/domid");
	r->console_domid = v ? strtoul(v, NULL, 10) : 0;
	free(v);
	if ((rc = xc_evtchn_alloc_unbound(xen_xch, domid, r->store_domid)) <
	    0) {
		xp_seterr(XE_SYS, "domain %u: xenstore event channel", domid);
		return -1;
	}
	r->store_port = rc;
	if ((rc = xc_evtchn_alloc_unbound(xen_xch, domid, r->console_domid)) <
	    0) {
		xp_seterr(XE_SYS, "domain %u: console event channel", domid);
		return -1;
	}
	r->console_port = rc;
	return 0;
}

/* ---- the restore thread ---- */

static int
static_data_done(unsigned int missing, void *data)
{
	struct xen_restore *r = data;

	/* a stream older than CPUID/MSR records: what libxl does for it */
	if ((missing & XGR_SDD_MISSING_CPUID) && xc_cpuid_apply_policy(r->xch,
	    r->domid, true, NULL, 0, true, false, false, NULL, 0) < 0)
		return -1;
	return 0;
}

static void *
restore_thread(void *arg)
{
	struct xen_restore *r = arg;
	struct restore_callbacks cb;

	memset(&cb, 0, sizeof(cb));
	cb.static_data_done = static_data_done;
	cb.data = r;
	r->rc = xc_domain_restore(r->xch, r->sock_r, r->domid, r->store_port,
	    &r->store_gfn, r->store_domid, r->console_port, &r->console_gfn,
	    r->console_domid, XC_STREAM_PLAIN, &cb, -1);
	r->err = errno;
	/* whatever the outcome, the writer stops here (EPIPE) */
	shutdown(r->sock_r, SHUT_RDWR);
	return NULL;
}

static int
start_thread(struct xen_restore *r)
{
	sigset_t all, old;
	int sv[2], sz = SOCK_BUF, e;

	r->log.lg.vmessage = xr_vmessage;
	r->log.lg.destroy = xr_logdestroy;
	r->xch = xc_interface_open(&r->log.lg, &r->log.lg, 0);
	if (r->xch == NULL) {
		xp_seterr(XE_SYS, "libxenctrl for the restore");
		return -1;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		xp_seterr(XE_SYS, "socketpair");
		return -1;
	}
	r->sock_w = sv[0];
	r->sock_r = sv[1];
	setsockopt(r->sock_w, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(r->sock_r, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	/* signals are the main thread's: its I/O is what they interrupt */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&r->thread, NULL, restore_thread, r);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e != 0) {
		errno = e;
		xp_seterr(XE_SYS, "restore thread");
		return -1;
	}
	r->running = 1;
	return 0;
}

/* No more input; wait for the thread.  0 if the restore succeeded. */
static int
join_thread(struct xen_restore *r)
{
	if (r->sock_w >= 0) {
		close(r->sock_w);
		r->sock_w = -1;
	}
	if (r->running) {
		pthread_join(r->thread, NULL);
		r->running = 0;
	}
	if (r->rc == 0)
		return 0;
	errno = 0;
	xp_seterr(XE_SYS, "libxenguest restore failed: %s",
	    r->log.msg[0] ? r->log.msg : strerror(r->err));
	return -1;
}

/* ---- the ops ---- */

/* /var/lib/xen/userdata-d.DOMID.UUID.libxl-json: what xl reads back. */
static int
write_userdata(struct xen_restore *r)
{
	char path[256], tmp[272];
	size_t len = strlen(r->json) + 1;	/* libxl keeps the NUL */
	int fd;

	if (mkdir(XEN_LIB_DIR, 0755) < 0 && errno != EEXIST) {
		xp_seterr(XE_SYS, "%s", XEN_LIB_DIR);
		return -1;
	}
	snprintf(path, sizeof(path), XEN_LIB_DIR "/userdata-d.%u.%s.libxl-json",
	    r->domid, r->c.uuid);
	snprintf(tmp, sizeof(tmp), XEN_LIB_DIR "/userdata-n.%u.%s.libxl-json",
	    r->domid, r->c.uuid);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0644)) < 0) {
		xp_seterr(XE_SYS, "%s", tmp);
		return -1;
	}
	if (io_write_all(fd, r->json, len, NULL) < 0 || fsync(fd) < 0) {
		xp_seterr(XE_SYS, "%s", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		xp_seterr(XE_SYS, "%s", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
xen_create(const struct dom_config *cfg, struct dom **dp)
{
	struct xen_restore *r;
	struct dom *d;

	*dp = NULL;
	if (cfg->simulated == 1) {
		xp_seterr(XE_STREAM, "the stream is of a simulated domain (sim "
		    "backend), which Xen cannot run; restore it with "
		    "XENPIPE_BACKEND=sim");
		return -1;
	}
	if (cfg->json == NULL) {
		xp_seterr(XE_STREAM, "the xen backend needs an xl-format stream "
		    "(with the domain config); this one has none");
		return -1;
	}
	if (xen_handles() < 0)
		return -1;
	if ((d = xen_dom_new(DOMID_INVALID)) == NULL)
		return -1;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		xp_seterr(XE_SYS, "restore state");
		free(d);
		return -1;
	}
	d->rst = r;
	proc_id(getpid(), r->builder, sizeof(r->builder));
	r->sock_w = r->sock_r = -1;
	r->rc = -1;		/* until the thread says otherwise */
	r->err = ECHILD;
	r->json = cfg->json;
	snprintf(r->name, sizeof(r->name), "%s", cfg->name);
	if (parse_conf(cfg->tree, &r->c) < 0 ||
	    xen_devs_parse(cfg->tree, &r->devs) < 0)
		goto err;
	if (r->c.pv != (cfg->dom_type == DHDR_TYPE_X86_PV)) {
		xp_seterr(XE_STREAM, "domain config type does not match the "
		    "stream's domain header");
		goto err;
	}
	if (make_domain(r) < 0)
		goto err;
	d->domid = r->domid;
	snprintf(r->dom_path, sizeof(r->dom_path), "/local/domain/%u",
	    r->domid);
	snprintf(r->libxl_path, sizeof(r->libxl_path), "/libxl/%u", r->domid);
	/*
	 * /vm/UUID, shared with the sender when it is on this host, as libxl
	 * shares it: the block hotplug script lets a disk held by the
	 * outgoing domain be opened by the incoming one only when their vm
	 * paths match.  xen_destroy removes it only when no one else has it.
	 */
	snprintf(r->vm_path, sizeof(r->vm_path), "/vm/%s", r->c.uuid);
	if (xen_xs_txn(fill_skeleton, r, "the domain's directories") < 0 ||
	    xen_xs_txn(fill_static, r, "the domain's entries") < 0 ||
	    write_userdata(r) < 0)
		goto err;
	if (start_thread(r) < 0)
		goto err;
	/*
	 * The backends and their hotplug scripts now, while the stream comes
	 * in and the sender's guest still runs, not in its pause: nothing in
	 * them waits for the guest, whose frontends connect when it resumes.
	 */
	if (xen_devs_add(r->domid, r->devs) < 0)
		goto err;
	trace_point("devices connected");
	*dp = d;
	return 0;
err:
	{
		enum xp_errclass cls = xp_errclass();
		char msg[512];

		snprintf(msg, sizeof(msg), "%s", xp_errmsg());
		xen_destroy(d);
		errno = 0;
		xp_seterr(cls, "%s", msg);
	}
	return -1;
}

/* libxenguest closed its end: its own error says why, if it has one. */
static int
feed_closed(struct xen_restore *r)
{
	if (join_thread(r) == 0)	/* stopped early, yet ok */
		xp_seterr(XE_STREAM, "libxenguest ended the restore before "
		    "the end of the stream");
	return -1;
}

/* Every record as it came, to libxenguest's restore; see backend.h. */
int
xen_receive(struct dom *d, const struct sr_rec *rec, struct sr *in)
{
	struct xen_restore *r = d->rst;
	const uint8_t *p = rec->raw;
	size_t len = rec->raw_len;
	ssize_t n;

	if (r == NULL || r->sock_w < 0) {
		xp_seterr(XE_STATE, "receive: no restore in progress");
		return -1;
	}
	while (len > 0) {
		if (xp_interrupted) {
			errno = EINTR;
			xp_seterr(XE_SYS, "feeding libxenguest");
			return -1;
		}
		n = send(r->sock_w, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR && !xp_interrupted)
			continue;
		if (n < 0 && (errno == EPIPE || errno == ECONNRESET))
			return feed_closed(r);
		if (n < 0) {
			xp_seterr(XE_SYS, "writing to libxenguest's restore");
			return -1;
		}
		p += n;
		len -= n;
	}
	/* the pages: spliced from our input when dom-resume ignores SIGPIPE */
	if (rec->layer == LAYER_XC && rec->type == REC_TYPE_PAGE_DATA &&
	    rec->page_data == NULL && rec->data_len &&
	    sr_copy_data(in, r->sock_w) < 0)
		return errno == EPIPE || errno == ECONNRESET ? feed_closed(r) : -1;
	return 0;
}

/* A domain other than ours named name, not dying: its info; 0 none, -1 error. */
static int
name_holder(const char *name, uint32_t self, struct dom_info *out)
{
	xc_domaininfo_t xi[64];
	struct dom_info info;
	uint32_t next = 1;
	int got, i, found = 0;

	for (;;) {
		got = xc_domain_getinfolist(xen_xch, next, 64, xi);
		if (got < 0) {
			xp_seterr(XE_SYS, "xc_domain_getinfolist");
			return -1;
		}
		for (i = 0; i < got; i++) {
			if (xi[i].domain == self ||
			    (xi[i].flags & XEN_DOMINF_dying))
				continue;
			xen_fill_info(&xi[i], &info);
			if (strcmp(info.name, name) == 0) {
				*out = info;
				found = 1;
			}
		}
		if (got < 64 || found)
			return found;
		next = xi[got - 1].domain + 1;
	}
}

struct rename {
	struct xen_restore *r;
	uint32_t old;		/* the suspended holder, or DOMID_INVALID */
	const char *name;
};

/* domid's name, in /local/domain/N/name and /vm/UUID/name. */
static int
put_name(xs_transaction_t t, uint32_t domid, const char *name)
{
	char *vm;
	int rc = 0;

	vm = xen_xs_get(t, "/local/domain/%u/vm", domid);
	if (xput(0, t, P_KEEP, name, "/local/domain/%u/name", domid) < 0 ||
	    (vm != NULL && xput(0, t, P_KEEP, name, "%s/name", vm) < 0))
		rc = -1;
	free(vm);
	return rc;
}

/* Both names in one transaction: the old one's NAME--migratedaway, ours. */
static int
fill_names(xs_transaction_t t, void *arg)
{
	const struct rename *rn = arg;
	char away[DOM_NAME_MAX + sizeof(DOM_AWAY_SUFFIX)];

	if (rn->old != DOMID_INVALID) {
		snprintf(away, sizeof(away), "%s%s", rn->name, DOM_AWAY_SUFFIX);
		if (put_name(t, rn->old, away) < 0)
			return -1;
	}
	return put_name(t, rn->r->domid, rn->name);
}

/*
 * Give our domain name: a suspended holder becomes NAME--migratedaway, a
 * live one is refused.  *old: the renamed domain, DOMID_INVALID if none.
 */
static int
take_name(struct xen_restore *r, const char *name, uint32_t *old)
{
	struct dom_info h, h2;
	struct rename rn = { r, DOMID_INVALID, name };
	char away[DOM_NAME_MAX + sizeof(DOM_AWAY_SUFFIX)];
	int rc;

	*old = DOMID_INVALID;
	if ((rc = name_holder(name, r->domid, &h)) < 0)
		return -1;
	if (rc == 1 && h.state != DOM_SUSPENDED) {
		xp_seterr(XE_STATE, "domain %s (id %u) is %s: it keeps its "
		    "name; restore under another with -n NAME", name, h.domid,
		    dom_state_name(h.state));
		return -1;
	}
	if (rc == 1) {
		snprintf(away, sizeof(away), "%s%s", name, DOM_AWAY_SUFFIX);
		if ((rc = name_holder(away, r->domid, &h2)) < 0)
			return -1;
		if (rc == 1) {
			xp_seterr(XE_STATE, "%s is suspended, but %s (id %u) "
			    "exists already: destroy it first", name, away,
			    h2.domid);
			return -1;
		}
		rn.old = h.domid;
	}
	rc = xen_xs_txn(fill_names, &rn, "the domain's name");
	if (rc == 0)
		*old = rn.old;
	return rc;
}

/* Put a renamed holder's name back (start failed after take_name). */
static void
give_back_name(const char *name, uint32_t old)
{
	if (old != DOMID_INVALID)
		put_name(XBT_NULL, old, name);
}

struct newname {
	uint32_t domid;
	const char *name;
};

static int
fill_rename(xs_transaction_t t, void *arg)
{
	const struct newname *nn = arg;

	return put_name(t, nn->domid, nn->name);
}

int
xen_rename(struct dom *d, const char *newname)
{
	struct newname nn = { d->rst != NULL ? d->rst->domid : d->domid,
	    newname };
	struct dom_info h;
	int rc;

	if (!config_valid_name(newname)) {
		xp_seterr(XE_USAGE, "'%s' is not a valid domain name", newname);
		return -1;
	}
	if (xen_handles() < 0)
		return -1;
	if ((rc = name_holder(newname, nn.domid, &h)) < 0)
		return -1;
	if (rc == 1) {
		xp_seterr(XE_STATE, "cannot rename domain %u to %s: domain %u "
		    "has that name", nn.domid, newname, h.domid);
		return -1;
	}
	return xen_xs_txn(fill_rename, &nn, "the domain's name");
}

/* libxenguest's result, and the domain alive after it. */
static int
collect(struct xen_restore *r)
{
	xc_domaininfo_t xi;

	if (join_thread(r) < 0)
		return -1;
	trace_point("libxenguest restore done");
	if (xen_getinfo(r->domid, &xi) < 0)
		return -1;
	if (xi.flags & (XEN_DOMINF_dying | XEN_DOMINF_shutdown)) {
		xp_seterr(XE_STATE, "domain %u died during the restore",
		    r->domid);
		return -1;
	}
	return 0;
}

/* The rings' frames, then the domain introduced to xenstored. */
static int
introduce(struct xen_restore *r)
{
	if (xen_xs_txn(fill_post, r, "the domain's rings") < 0)
		return -1;
	if (!xs_introduce_domain(xen_xsh, r->domid, r->store_gfn,
	    r->store_port)) {
		xp_seterr(XE_SYS, "xenstore: introducing domain %u", r->domid);
		return -1;
	}
	trace_point("xenstore entries written, domain introduced");
	return 0;
}

/* A handover's receiver: all but the name and the unpause, as xl does. */
int
xen_finish(struct dom *d)
{
	struct xen_restore *r = d->rst;

	if (r == NULL) {
		xp_seterr(XE_STATE, "finish: no restore in progress");
		return -1;
	}
	if (r->finished)
		return 0;
	if (collect(r) < 0 || introduce(r) < 0)
		return -1;
	r->finished = 1;
	return 0;
}

int
xen_start(struct dom *d, const char *name, struct dom_info *info)
{
	struct xen_restore *r = d->rst;
	xc_domaininfo_t xi;
	uint32_t old = DOMID_INVALID;

	if (r == NULL) {
		xp_seterr(XE_STATE, "start: no restore in progress");
		return -1;
	}
	if (!r->finished && collect(r) < 0)
		return -1;
	/* named before xenconsoled sees it: its log file takes the name */
	if (take_name(r, name, &old) < 0)
		return -1;
	trace_point("named %s", name);
	if (!r->finished && introduce(r) < 0)
		goto err;
	if (xc_domain_unpause(xen_xch, r->domid) < 0) {
		xp_seterr(XE_SYS, "domain %u: xc_domain_unpause", r->domid);
		goto err;
	}
	/* it runs: whatever happens now, it is not to be destroyed */
	if (xen_getinfo(r->domid, &xi) == 0)
		xen_fill_info(&xi, info);
	else {
		memset(info, 0, sizeof(*info));
		info->domid = r->domid;
		info->state = DOM_RUNNING;
		snprintf(info->name, sizeof(info->name), "%s", name);
	}
	return 0;
err:
	give_back_name(name, old);
	return -1;
}

/* Each /libxl/N/device/KIND/ID/backend: the backend directories. */
static void
rm_backends(const char *libxl_path)
{
	char **kinds, **ids, *bp;
	unsigned int nk, ni, k, i;
	char p[256];

	snprintf(p, sizeof(p), "%s/device", libxl_path);
	if ((kinds = xs_directory(xen_xsh, XBT_NULL, p, &nk)) == NULL)
		return;
	for (k = 0; k < nk; k++) {
		snprintf(p, sizeof(p), "%s/device/%s", libxl_path, kinds[k]);
		if ((ids = xs_directory(xen_xsh, XBT_NULL, p, &ni)) == NULL)
			continue;
		for (i = 0; i < ni; i++) {
			bp = xen_xs_get(XBT_NULL, "%s/device/%s/%s/backend",
			    libxl_path, kinds[k], ids[i]);
			if (bp != NULL && strncmp(bp, "/local/domain/", 14) == 0)
				xs_rm(xen_xsh, XBT_NULL, bp);
			free(bp);
		}
		free(ids);
	}
	free(kinds);
}

int
xen_destroy(struct dom *d)
{
	struct xen_restore *r = d->rst;
	xc_domaininfo_t xi;
	char uuid[37], dp[64], lp[64], pat[128], *vm;
	glob_t g;
	size_t i;
	int rc = 0, have = 0;

	if (r != NULL) {
		if (r->sock_w >= 0 || r->running)
			join_thread(r);
		if (!r->created)
			goto out;
		d->domid = r->domid;
	}
	if (!domid_ok(d->domid) || xen_handles() < 0)
		goto out;
	if (xc_domain_getinfolist(xen_xch, d->domid, 1, &xi) == 1 &&
	    xi.domain == d->domid) {
		have = 1;
		uuid_string(xi.handle, uuid);
	}
	snprintf(dp, sizeof(dp), "/local/domain/%u", d->domid);
	snprintf(lp, sizeof(lp), "/libxl/%u", d->domid);
	vm = xen_xs_get(XBT_NULL, "%s/vm", dp);
	/* libxl's order: the devices, then the domain */
	if (have)
		xen_devs_remove(d->domid);
	if (have && xc_domain_destroy(xen_xch, d->domid) < 0) {
		xp_seterr(XE_SYS, "domain %u: xc_domain_destroy", d->domid);
		rc = -1;
		free(vm);
		goto out;
	}
	rm_backends(lp);
	if (vm != NULL && strncmp(vm, "/vm/", 4) == 0 &&
	    !vm_path_used(vm, d->domid))
		xs_rm(xen_xsh, XBT_NULL, vm);
	free(vm);
	xs_rm(xen_xsh, XBT_NULL, dp);
	xs_rm(xen_xsh, XBT_NULL, lp);
	if (have) {
		snprintf(pat, sizeof(pat), XEN_LIB_DIR "/userdata-?.%u.%s.*",
		    d->domid, uuid);
		if (glob(pat, 0, NULL, &g) == 0) {
			for (i = 0; i < g.gl_pathc; i++)
				unlink(g.gl_pathv[i]);
			globfree(&g);
		}
	}
out:
	xen_close(d);
	return rc;
}

void
xen_restore_close(struct dom *d)
{
	struct xen_restore *r = d->rst;

	if (r == NULL)
		return;
	if (r->sock_w >= 0)
		close(r->sock_w);
	r->sock_w = -1;
	if (r->running)
		pthread_join(r->thread, NULL);
	if (r->sock_r >= 0)
		close(r->sock_r);
	if (r->xch != NULL)
		xc_interface_close(r->xch);
	free_conf(&r->c);
	xen_devs_free(r->devs);
	free(r);
	d->rst = NULL;
}
