/* policy.c - the receiver's policy; see policy.h and xenpipe-policy(5). */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "config.h"
#include "err.h"
#include "policy.h"
#include "stream_format.h"

#define SCRIPT_DIR	"/etc/xen/scripts"
#define STREAM_SLACK	(16ULL << 20)	/* headers, vCPUs, a small guest */

/* The check of one config: what it proposes, against what. */
struct pc {
	const struct policy *p;
	const struct host_facts *f;
	struct plan *plan;
	yajl_val root;
	int renamed;		/* the receiver named it (-n), not the stream */
};

void
policy_defaults(struct policy *p)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->disk_dirs[0], POL_PATH, "/var/lib/xen/images");
	p->n_disk_dirs = 1;
	p->max_vcpus = 128;
	p->max_evtchn = 4096;		/* libxl's default is 1023 */
	p->max_grant_frames = 64;	/* Xen's gnttab_max_frames default */
	p->max_maptrack = 1024;		/* Xen's gnttab_max_maptrack_frames */
	p->stream_factor = 64;
}

/* ---- the policy file ---- */

static int
yesno(const char *v, int *out)
{
	if (strcmp(v, "yes") == 0)
		*out = 1;
	else if (strcmp(v, "no") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static int
number(const char *v, unsigned long long max, unsigned long long *out)
{
	char *end;
	int n;

	errno = 0;
	if (!isdigit((unsigned char)v[0]))
		return -1;
	*out = strtoull(v, &end, 10);
	if (errno != 0 || *out > max)
		return -1;
	if (*end == '\0')
		return 0;
	/* sizes: K, M, G, T (powers of 1024) */
	if (end[1] != '\0' || strchr("KMGT", *end) == NULL)
		return -1;
	for (n = strchr("KMGT", *end) - "KMGT" + 1; n > 0; n--) {
		if (*out > max / 1024)
			return -1;
		*out *= 1024;
	}
	return 0;
}

/* A word: a path, a name; no spaces, no control characters. */
static int
word_ok(const char *v, size_t max)
{
	size_t i;

	for (i = 0; v[i] != '\0'; i++)
		if ((unsigned char)v[i] <= ' ' || (unsigned char)v[i] >= 0x7f)
			return 0;
	return i > 0 && i < max;
}

#define ADD(arr, n, v, what) do {					\
	if ((n) == sizeof(arr) / sizeof(arr[0]) ||			\
	    !word_ok(v, sizeof(arr[0]))) {				\
		xp_seterr(XE_USAGE, "%s:%u: bad or too many %s",	\
		    path, line, what);					\
		goto err;						\
	}								\
	snprintf(arr[(n)++], sizeof(arr[0]), "%s", v);			\
} while (0)

int
policy_load(struct policy *p, const char *path)
{
	char buf[512], *key, *val, *end;
	unsigned long long n;
	unsigned int line = 0;
	int user_dirs = 0;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL) {
		xp_seterr(XE_SYS, "policy %s", path);
		return -1;
	}
	while (fgets(buf, sizeof(buf), fp) != NULL) {
		line++;
		if (strchr(buf, '\n') == NULL && !feof(fp)) {
			xp_seterr(XE_USAGE, "%s:%u: line too long", path, line);
			goto err;
		}
		key = buf + strspn(buf, " \t");
		if (*key == '#' || *key == '\n' || *key == '\0')
			continue;
		val = key + strcspn(key, " \t\n");
		if (*val != '\0')
			*val++ = '\0';
		val += strspn(val, " \t");
		end = val + strlen(val);
		while (end > val && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (*val == '\0') {
			xp_seterr(XE_USAGE, "%s:%u: %s without a value", path,
			    line, key);
			goto err;
		}
		if (strcasecmp(key, "DiskDir") == 0) {
			if (val[0] != '/') {
				xp_seterr(XE_USAGE, "%s:%u: DiskDir wants an "
				    "absolute path", path, line);
				goto err;
			}
			if (!user_dirs++)
				p->n_disk_dirs = 0;	/* replaces the default */
			ADD(p->disk_dirs, p->n_disk_dirs, val, "DiskDir");
		} else if (strcasecmp(key, "Script") == 0) {
			ADD(p->scripts, p->n_scripts, val, "Script");
		} else if (strcasecmp(key, "Bridge") == 0) {
			ADD(p->bridges, p->n_bridges, val, "Bridge");
		} else if (strcasecmp(key, "Pool") == 0) {
			ADD(p->pools, p->n_pools, val, "Pool");
		} else if (strcasecmp(key, "MaxMemory") == 0) {
			if (number(val, 1ULL << 50, &n) < 0 || n < 1024)
				goto bad;
			p->max_mem_kb = n / 1024;
		} else if (strcasecmp(key, "MaxVcpus") == 0) {
			if (number(val, 4096, &n) < 0 || n < 1)
				goto bad;
			p->max_vcpus = n;
		} else if (strcasecmp(key, "MaxEventChannels") == 0) {
			if (number(val, 131072, &n) < 0)
				goto bad;
			p->max_evtchn = n;
		} else if (strcasecmp(key, "MaxGrantFrames") == 0) {
			if (number(val, 4096, &n) < 0)
				goto bad;
			p->max_grant_frames = n;
		} else if (strcasecmp(key, "MaxMaptrackFrames") == 0) {
			if (number(val, 65536, &n) < 0)
				goto bad;
			p->max_maptrack = n;
		} else if (strcasecmp(key, "StreamFactor") == 0) {
			if (number(val, 4096, &n) < 0 || n < 2)
				goto bad;
			p->stream_factor = n;
		} else if (strcasecmp(key, "AllowNestedHvm") == 0) {
			if (yesno(val, &p->nested_hvm) < 0)
				goto bad;
		} else if (strcasecmp(key, "AllowVpmu") == 0) {
			if (yesno(val, &p->vpmu) < 0)
				goto bad;
		} else if (strcasecmp(key, "AllowAltp2m") == 0) {
			if (yesno(val, &p->altp2m) < 0)
				goto bad;
		} else if (strcasecmp(key, "AllowDriverDomain") == 0) {
			if (yesno(val, &p->driver_domain) < 0)
				goto bad;
		} else {
			xp_seterr(XE_USAGE, "%s:%u: unknown keyword \"%.40s\"",
			    path, line, key);
			goto err;
		}
	}
	if (ferror(fp)) {
		xp_seterr(XE_SYS, "policy %s", path);
		goto err;
	}
	fclose(fp);
	return 0;
bad:
	xp_seterr(XE_USAGE, "%s:%u: bad value for %s", path, line, key);
err:
	fclose(fp);
	return -1;
}

/* ---- reading the proposal ---- */

static void __attribute__((format(printf, 2, 3)))
refuse(struct pc *c, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	(void)c;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	errno = 0;
	xp_seterr(XE_STREAM, "policy: %s", msg);
}

/* A string member; NULL when absent or null; -1 when another type. */
static int
str(struct pc *c, yajl_val o, const char *what, const char *k,
    const char **out)
{
	yajl_val v = lj_member(o, k);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!YAJL_IS_STRING(v)) {
		refuse(c, "%s.%s is not a string", what, k);
		return -1;
	}
	*out = YAJL_GET_STRING(v);
	return 0;
}

/* An integer member in [min, max]; def when absent. */
static int
num(struct pc *c, yajl_val o, const char *what, const char *k, long long min,
    long long max, long long def, long long *out)
{
	yajl_val v = lj_member(o, k);

	*out = def;
	if (v == NULL)
		return 0;
	if (!YAJL_IS_INTEGER(v)) {
		refuse(c, "%s.%s is not an integer", what, k);
		return -1;
	}
	*out = YAJL_GET_INTEGER(v);
	if (*out < min || *out > max) {
		refuse(c, "%s.%s is %lld, this host allows %lld..%lld", what,
		    k, *out, min, max);
		return -1;
	}
	return 0;
}

/* A libxl defbool or a JSON bool: is it on? */
static int
on(yajl_val o, const char *k)
{
	yajl_val v = lj_member(o, k);
	const char *s;

	if (YAJL_IS_TRUE(v))
		return 1;
	s = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
	return s != NULL && strcasecmp(s, "True") == 0;
}

static int
feature(struct pc *c, yajl_val o, const char *what, const char *k,
    int allowed, const char *keyword)
{
	if (!on(o, k) || allowed)
		return 0;
	refuse(c, "%s.%s is on: refused unless the policy says %s yes",
	    what, k, keyword);
	return -1;
}

static int
listed(const char (*arr)[64], unsigned int n, const char *s)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (strcmp(arr[i], s) == 0)
			return 1;
	return 0;
}

/*
 * The source of this very migration: a domain here under the incoming
 * name (or the one a handover gives it) with the same UUID.
 */
static int
is_source(const struct pc *c, const struct pol_dom *d)
{
	const char *name = c->plan->name;
	size_t n = strlen(name);

	if (c->plan->uuid[0] == '\0' || strcmp(d->uuid, c->plan->uuid) != 0)
		return 0;
	return strcmp(d->name, name) == 0 || (strncmp(d->name, name, n) == 0 &&
	    strcmp(d->name + n, DOM_AWAY_SUFFIX) == 0);
}

static const struct pol_dom *
dom_by_id(const struct host_facts *f, uint32_t domid)
{
	size_t i;

	for (i = 0; i < f->n_doms; i++)
		if (f->doms[i].domid == domid)
			return &f->doms[i];
	return NULL;
}

/* Names no stream may take, whoever holds them. */
static int
reserved_name(struct pc *c, const char *name)
{
	const char *sfx[] = { "--incoming", DOM_AWAY_SUFFIX };
	size_t i, n = strlen(name), k;

	if (!config_valid_name(name)) {
		refuse(c, "c_info.name: not a valid domain name");
		return -1;
	}
	if (strcasecmp(name, "Domain-0") == 0 || strspn(name, "0123456789") ==
	    n) {
		refuse(c, "c_info.name: \"%s\" is reserved", name);
		return -1;
	}
	for (i = 0; i < 2; i++) {
		k = strlen(sfx[i]);
		if (n >= k && strcmp(name + n - k, sfx[i]) == 0) {
			refuse(c, "c_info.name: \"%s\" ends in %s, which "
			    "xenpipe keeps for domains in flight", name,
			    sfx[i]);
			return -1;
		}
	}
	return 0;
}

/* A name another domain holds: only the source's (after check_uuid). */
static int
check_name(struct pc *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->f->n_doms; i++) {
		const struct pol_dom *d = &c->f->doms[i];

		if (strcmp(d->name, name) == 0 && !is_source(c, d)) {
			refuse(c, "c_info.name: domain %" PRIu32 " is already "
			    "called %s here (and is not this migration's "
			    "source: its UUID differs)", d->domid, name);
			return -1;
		}
	}
	return 0;
}

static int
check_uuid(struct pc *c, yajl_val cinfo)
{
	const char *s;
	size_t i;

	if (str(c, cinfo, "c_info", "uuid", &s) < 0)
		return -1;
	if (s == NULL)
		return 0;
	if (config_uuid(s, c->plan->uuid) < 0) {
		refuse(c, "c_info.uuid: not a UUID");
		return -1;
	}
	for (i = 0; i < c->f->n_doms; i++) {
		const struct pol_dom *d = &c->f->doms[i];

		if (strcmp(d->uuid, c->plan->uuid) == 0 && !is_source(c, d) &&
		    c->renamed) {
			/* the receiver's -n makes a copy: its own identity */
			c->plan->new_uuid = 1;
			return config_uuid_fresh(c->plan->uuid);
		}
		if (strcmp(d->uuid, c->plan->uuid) == 0 && !is_source(c, d)) {
			refuse(c, "c_info.uuid: %s is domain %" PRIu32 " (%s) "
			    "here, which is not this migration's source",
			    c->plan->uuid, d->domid, d->name);
			return -1;
		}
	}
	return 0;
}

/*
 * Is b dom0's: mounted, swap, held, or a partition of it so, or built on
 * what dom0 mounts or swaps on?  why says how.
 */
static int
blk_in_use(const struct host_facts *f, const struct pol_blk *b, char *why,
    size_t n, int depth)
{
	const struct pol_blk *u;
	size_t i;

	if (b->mounted || b->swap || b->holders) {
		snprintf(why, n, "%s is %s", b->name, b->mounted ? "mounted" :
		    b->swap ? "swap" : "held by dom0 (LVM, md or dm member)");
		return 1;
	}
	for (i = 0; depth < 4 && i < f->n_blks; i++)
		if (f->blks[i].parent == b->dev &&
		    blk_in_use(f, &f->blks[i], why, n, depth + 1))
			return 1;
	for (i = 0; depth < 4 && i < 4 && b->under[i] != 0; i++) {
		u = facts_blk(f, b->under[i]);
		if (u != NULL && (u->mounted || u->swap)) {
			snprintf(why, n, "%s is built on %s, which is %s",
			    b->name, u->name, u->mounted ? "mounted" : "swap");
			return 1;
		}
	}
	return 0;
}

static int
under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return strncmp(path, dir, n) == 0 && path[n] == '/' &&
	    path[n + 1] != '\0';
}

/* A disk's backing, resolved: dom0 must not be using it. */
static int
check_backing(struct pc *c, const char *what, const char *pdev,
    struct plan_disk *pd)
{
	const struct host_facts *f = c->f;
	const struct pol_blk *b;
	struct pol_path pp, dp;
	char why[96];
	unsigned int i;
	size_t j;
	int ok;

	if (pdev == NULL || pdev[0] != '/') {
		refuse(c, "%s: pdev_path must be an absolute path", what);
		return -1;
	}
	if (f->resolve(pdev, &pp) < 0) {
		refuse(c, "%s: pdev_path \"%s\": %s", what, pdev,
		    strerror(errno));
		return -1;
	}
	snprintf(pd->target, sizeof(pd->target), "%s", pp.real);
	if (pp.kind == 'b') {
		if (strncmp(pp.real, "/dev/", 5) != 0) {
			refuse(c, "%s: %s is a block device outside /dev",
			    what, pp.real);
			return -1;
		}
		if ((b = facts_blk(f, pp.rdev)) == NULL) {
			refuse(c, "%s: %s is a block device sysfs does not "
			    "show: what dom0 does with it is unknown", what,
			    pp.real);
			return -1;
		}
		if (blk_in_use(f, b, why, sizeof(why), 0)) {
			refuse(c, "%s: %s is in use by dom0 (%s)", what,
			    pp.real, why);
			return -1;
		}
	} else if (pp.kind == 'f') {
		for (i = 0, ok = 0; i < c->p->n_disk_dirs && !ok; i++)
			ok = f->resolve(c->p->disk_dirs[i], &dp) == 0 &&
			    under(pp.real, dp.real);
		if (!ok) {
			refuse(c, "%s: %s is a file outside the disk "
			    "directories (DiskDir, default /var/lib/xen/images)",
			    what, pp.real);
			return -1;
		}
		for (j = 0; j < f->n_swap_files; j++)
			if (f->swap_files_dev[j] == pp.dev &&
			    f->swap_files_ino[j] == pp.ino) {
				refuse(c, "%s: %s is dom0's swap", what,
				    pp.real);
				return -1;
			}
	} else {
		refuse(c, "%s: %s is neither a block device nor a file", what,
		    pp.real);
		return -1;
	}
	for (j = 0; j < f->n_held; j++) {
		const struct pol_held *h = &f->held[j];
		const struct pol_dom *d = dom_by_id(f, h->domid);
		struct pol_path hp;
		int same = pp.kind == 'b' && h->rdev == pp.rdev;

		if (!same && h->path[0] == '/' && f->resolve(h->path, &hp) == 0)
			same = strcmp(hp.real, pp.real) == 0;
		if (same && (d == NULL || !is_source(c, d))) {
			refuse(c, "%s: %s is a disk of domain %" PRIu32 "%s%s%s",
			    what, pp.real, h->domid, d ? " (" : "",
			    d ? d->name : "", d ? ")" : "");
			return -1;
		}
	}
	return 0;
}

/* "block" or "/etc/xen/scripts/block" -> "block"; NULL if not a name. */
static const char *
script_name(const char *s)
{
	size_t dl = strlen(SCRIPT_DIR);

	if (strncmp(s, SCRIPT_DIR "/", dl + 1) == 0)
		s += dl + 1;
	if (!word_ok(s, 64) || strchr(s, '/') != NULL || s[0] == '.')
		return NULL;
	return s;
}

static int
check_script(struct pc *c, const char *what, const char *s, const char *def,
    char *out, int *extra)
{
	const char *name = s ? script_name(s) : def;

	if (name == NULL) {
		refuse(c, "%s: script \"%s\" is not a name in " SCRIPT_DIR,
		    what, s);
		return -1;
	}
	*extra = listed(c->p->scripts, c->p->n_scripts, name);
	if (strcmp(name, def) != 0 && !*extra) {
		refuse(c, "%s: script %s is refused (the default is %s; a "
		    "policy Script line allows more)", what, name, def);
		return -1;
	}
	snprintf(out, 64, "%s", name);
	return 0;
}

static int
dom0_backend(struct pc *c, yajl_val o, const char *what)
{
	long long id;
	const char *s;

	if (num(c, o, what, "backend_domid", 0, 65535, 0, &id) < 0 ||
	    str(c, o, what, "backend_domname", &s) < 0)
		return -1;
	if ((id != 0 || (s != NULL && strcmp(s, "Domain-0") != 0)) &&
	    !c->p->driver_domain) {
		refuse(c, "%s: a backend in a driver domain is refused unless "
		    "the policy says AllowDriverDomain yes", what);
		return -1;
	}
	return 0;
}

static int
check_disk(struct pc *c, yajl_val o, unsigned int i)
{
	struct plan_disk *pd = &c->plan->disk[i];
	const char *vdev, *pdev, *script;
	char what[48];
	unsigned int j;
	int extra;

	snprintf(what, sizeof(what), "disks[%u]", i);
	if (!YAJL_IS_OBJECT(o)) {
		refuse(c, "%s is not an object", what);
		return -1;
	}
	if (str(c, o, what, "vdev", &vdev) < 0 ||
	    str(c, o, what, "pdev_path", &pdev) < 0 ||
	    str(c, o, what, "script", &script) < 0 ||
	    dom0_backend(c, o, what) < 0)
		return -1;
	if (vdev == NULL || !word_ok(vdev, sizeof(pd->vdev))) {
		refuse(c, "%s: no or bad vdev", what);
		return -1;
	}
	snprintf(pd->vdev, sizeof(pd->vdev), "%s", vdev);
	snprintf(what, sizeof(what), "disks[%u] (%s)", i, vdev);
	pd->rw = on(o, "readwrite") || (lj_member(o, "readwrite") != NULL &&
	    YAJL_IS_INTEGER(lj_member(o, "readwrite")) &&
	    YAJL_GET_INTEGER(lj_member(o, "readwrite")) != 0);
	if (check_script(c, what, script, "block", pd->script, &extra) < 0)
		return -1;
	if (strcmp(pd->script, "block") != 0) {
		/* the site trusts this script with its own targets */
		if (pdev == NULL || !word_ok(pdev, sizeof(pd->target))) {
			refuse(c, "%s: no or bad pdev_path", what);
			return -1;
		}
		snprintf(pd->target, sizeof(pd->target), "%s", pdev);
	} else if (check_backing(c, what, pdev, pd) < 0)
		return -1;
	for (j = 0; j < i; j++)
		if (strcmp(c->plan->disk[j].target, pd->target) == 0) {
			refuse(c, "%s: %s is also disks[%u]", what, pd->target,
			    j);
			return -1;
		}
	return 0;
}

static int
check_nic(struct pc *c, yajl_val o, unsigned int i)
{
	struct plan_nic *pn = &c->plan->nic[i];
	const char *bridge, *script, *ip, *gw, *ifname, *mac;
	char what[48];
	long long devid, mtu;
	size_t j;
	int extra, ok;

	snprintf(what, sizeof(what), "nics[%u]", i);
	if (!YAJL_IS_OBJECT(o)) {
		refuse(c, "%s is not an object", what);
		return -1;
	}
	if (num(c, o, what, "devid", -1, 65535, -1, &devid) < 0 ||
	    num(c, o, what, "mtu", 0, 65535, 0, &mtu) < 0 ||
	    str(c, o, what, "ifname", &ifname) < 0 ||
	    str(c, o, what, "mac", &mac) < 0 ||
	    str(c, o, what, "bridge", &bridge) < 0 ||
	    str(c, o, what, "script", &script) < 0 ||
	    str(c, o, what, "ip", &ip) < 0 ||
	    str(c, o, what, "gatewaydev", &gw) < 0 ||
	    dom0_backend(c, o, what) < 0)
		return -1;
	pn->devid = devid;
	if (ifname != NULL) {
		/* the hotplug script takes over an interface of that name */
		refuse(c, "%s: ifname \"%s\": dom0 names its vifs, not the "
		    "stream (a name of dom0's own would be taken over)", what,
		    ifname);
		return -1;
	}
	if (mtu != 0 && mtu < 1280) {
		refuse(c, "%s: mtu %lld, below 1280: a bridge takes its "
		    "ports' smallest", what, mtu);
		return -1;
	}
	if (mac != NULL && strlen(mac) >= 2 && isxdigit((unsigned char)mac[1]) &&
	    (strchr("13579bdfBDF", mac[1]) != NULL)) {
		refuse(c, "%s: mac %s is a multicast address", what, mac);
		return -1;
	}
	if (check_script(c, what, script, "vif-bridge", pn->script,
	    &extra) < 0)
		return -1;
	if ((ip != NULL || gw != NULL) && !extra) {
		refuse(c, "%s: %s is honoured only with a script the policy "
		    "allows (Script), not with the default %s", what,
		    ip ? "ip" : "gatewaydev", pn->script);
		return -1;
	}
	if (ip != NULL && (strlen(ip) >= sizeof(pn->ip) ||
	    strspn(ip, "0123456789abcdefABCDEF.:/ ") != strlen(ip))) {
		refuse(c, "%s: bad ip", what);
		return -1;
	}
	snprintf(pn->ip, sizeof(pn->ip), "%s", ip ? ip : "");
	if (bridge == NULL)
		bridge = "xenbr0";	/* libxl's default */
	if (!word_ok(bridge, sizeof(pn->bridge))) {
		refuse(c, "%s: bad bridge name", what);
		return -1;
	}
	snprintf(pn->bridge, sizeof(pn->bridge), "%s", bridge);
	for (j = 0, ok = 0; j < c->f->n_bridges && !ok; j++)
		ok = strcmp(c->f->bridges[j], bridge) == 0;
	if (!ok && strcmp(pn->script, "vif-bridge") == 0) {
		refuse(c, "%s: bridge %s is not a bridge on this host", what,
		    bridge);
		return -1;
	}
	for (j = 0, ok = c->p->n_bridges == 0; j < c->p->n_bridges && !ok; j++)
		ok = strcmp(c->p->bridges[j], bridge) == 0;
	if (!ok) {
		refuse(c, "%s: bridge %s is not one the policy allows (Bridge)",
		    what, bridge);
		return -1;
	}
	return 0;
}

static int
check_devices(struct pc *c, const char *k, unsigned int *n,
    int (*check)(struct pc *, yajl_val, unsigned int))
{
	yajl_val v = lj_member(c->root, k);
	unsigned int i;

	*n = 0;
	if (v == NULL)
		return 0;
	if (!YAJL_IS_ARRAY(v)) {
		refuse(c, "%s is not an array", k);
		return -1;
	}
	if (YAJL_GET_ARRAY(v)->len > POL_MAX_DEVS) {
		refuse(c, "%zu %s, at most %d", YAJL_GET_ARRAY(v)->len, k,
		    POL_MAX_DEVS);
		return -1;
	}
	for (i = 0; i < YAJL_GET_ARRAY(v)->len; i++) {
		if (check(c, YAJL_GET_ARRAY(v)->values[i], i) < 0)
			return -1;
		(*n)++;
	}
	return 0;
}

static int
check_resources(struct pc *c, yajl_val b)
{
	const struct policy *p = c->p;
	uint64_t host_kb = p->max_mem_kb ? p->max_mem_kb : c->f->mem_kb;
	static const char *const hw[] = { "iomem", "ioports", "irqs" };
	long long vcpus, max_kb, target, shadow, video, n;
	uint64_t asked;
	int i;
	const char *s, *pool;

	if (num(c, b, "b_info", "max_vcpus", 1, p->max_vcpus, 1, &vcpus) < 0 ||
	    num(c, b, "b_info", "max_memkb", 0, 1LL << 40, 0, &max_kb) < 0 ||
	    num(c, b, "b_info", "target_memkb", -1, max_kb ? max_kb : 1LL << 40,
	    0, &target) < 0 ||
	    num(c, b, "b_info", "shadow_memkb", -1, 1LL << 40, 0, &shadow) < 0 ||
	    num(c, b, "b_info", "video_memkb", -1, 1LL << 40, 0, &video) < 0 ||
	    num(c, b, "b_info", "event_channels", 0, p->max_evtchn, 0, &n) < 0 ||
	    num(c, b, "b_info", "max_grant_frames", -1, p->max_grant_frames,
	    -1, &n) < 0 ||
	    num(c, b, "b_info", "max_maptrack_frames", -1, p->max_maptrack,
	    -1, &n) < 0)
		return -1;
	/* absent, the builder's defaults (1023; Xen's 64 and 1024) */
	if ((lj_member(b, "event_channels") == NULL && p->max_evtchn < 1023) ||
	    (num(c, b, "b_info", "max_grant_frames", -1, 1 << 30, -1, &n) == 0
	    && n < 0 && p->max_grant_frames < 64) ||
	    (num(c, b, "b_info", "max_maptrack_frames", -1, 1 << 30, -1, &n) ==
	    0 && n < 0 && p->max_maptrack < 1024)) {
		refuse(c, "b_info: a limit left at its default is above this "
		    "host's (MaxEventChannels, MaxGrantFrames, "
		    "MaxMaptrackFrames)");
		return -1;
	}
	for (i = 0; i < 3; i++) {
		yajl_val v = lj_member(b, hw[i]);

		if (v != NULL && !YAJL_IS_NULL(v) && !(YAJL_IS_ARRAY(v) &&
		    YAJL_GET_ARRAY(v)->len == 0)) {
			refuse(c, "b_info.%s: a guest's access to dom0's "
			    "hardware is never taken from a stream", hw[i]);
			return -1;
		}
	}
	c->plan->vcpus = vcpus;
	if ((uint64_t)max_kb > c->plan->mem_kb)
		c->plan->mem_kb = max_kb;	/* a sim's pages, or more */
	if (shadow > max_kb && shadow > 0) {
		refuse(c, "b_info.shadow_memkb %lld is more than the guest's "
		    "memory", shadow);
		return -1;
	}
	/* libxl__get_required_paging_memory, as the builder takes it */
	if (shadow <= 0)
		shadow = 4 * (256 * vcpus + 2 * (max_kb / 1024));
	asked = c->plan->mem_kb + (shadow > 0 ? shadow : 0) +
	    (video > 0 ? video : 0);
	if (host_kb && asked > host_kb) {
		refuse(c, "b_info: %" PRIu64 " KiB of memory asked, this host "
		    "allows %" PRIu64 " KiB (MaxMemory)", asked, host_kb);
		return -1;
	}
	if (feature(c, b, "b_info", "nested_hvm", p->nested_hvm,
	    "AllowNestedHvm") < 0 ||
	    feature(c, b, "b_info", "vpmu", p->vpmu, "AllowVpmu") < 0)
		return -1;
	if (str(c, b, "b_info", "altp2m", &s) < 0)
		return -1;
	if (s != NULL && strcmp(s, "disabled") != 0 && !p->altp2m) {
		refuse(c, "b_info.altp2m is %s: refused unless the policy says "
		    "AllowAltp2m yes", word_ok(s, 20) ? s : "on");
		return -1;
	}
	if (str(c, lj_member(c->root, "c_info"), "c_info", "pool_name",
	    &pool) < 0)
		return -1;
	if (pool != NULL && strcmp(pool, "Pool-0") != 0 &&
	    !listed(p->pools, p->n_pools, pool)) {
		refuse(c, "c_info.pool_name: cpupool %s is not one the policy "
		    "allows (Pool)", word_ok(pool, 64) ? pool : "(bad)");
		return -1;
	}
	return 0;
}

int
policy_check(const struct policy *p, const struct host_facts *f,
    yajl_val config, const char *name, struct plan *plan)
{
	struct pc c = { p, f, plan, config, 0 };
	yajl_val cinfo = NULL, binfo = NULL, xp;
	const char *s, *cname = NULL;
	long long pages;
	unsigned int i;
	int rc = -1, next;

	memset(plan, 0, sizeof(*plan));
	plan->vcpus = 1;
	if (config != NULL) {
		cinfo = lj_member(c.root, "c_info");
		binfo = lj_member(c.root, "b_info");
		if ((cinfo != NULL && !YAJL_IS_OBJECT(cinfo)) ||
		    (binfo != NULL && !YAJL_IS_OBJECT(binfo))) {
			refuse(&c, "c_info or b_info is not an object");
			goto out;
		}
		if (str(&c, cinfo, "c_info", "name", &cname) < 0 ||
		    str(&c, cinfo, "c_info", "type", &s) < 0)
			goto out;
		snprintf(plan->type, sizeof(plan->type), "%s", s &&
		    word_ok(s, sizeof(plan->type)) ? s : "");
	}
	c.renamed = name != NULL && (cname == NULL || strcmp(name, cname) != 0);
	if (name == NULL)
		name = cname;
	if (name == NULL) {
		refuse(&c, "the stream names no domain: use -n NAME");
		goto out;
	}
	snprintf(plan->name, sizeof(plan->name), "%s", name);
	/* the UUID before the holders of the name: it says who the source is */
	if (reserved_name(&c, name) < 0 || check_uuid(&c, cinfo) < 0 ||
	    check_name(&c, name) < 0)
		goto out;
	if (on(cinfo, "driver_domain") && !p->driver_domain) {
		refuse(&c, "c_info.driver_domain is on: refused unless the "
		    "policy says AllowDriverDomain yes");
		goto out;
	}
	xp = lj_member(c.root, "xenpipe");
	if (on(xp, "simulated")) {
		if (num(&c, xp, "xenpipe", "nr_pages", 1, DOM_PAGES_MAX, 1,
		    &pages) < 0)
			goto out;
		plan->mem_kb = pages * 4;
		snprintf(plan->type, sizeof(plan->type), "sim");
	}
	if (check_resources(&c, binfo) < 0 ||
	    check_devices(&c, "disks", &plan->n_disks, check_disk) < 0 ||
	    check_devices(&c, "nics", &plan->n_nics, check_nic) < 0)
		goto out;
	/* vifs without a devid get the next ones, as libxl gives them */
	for (i = 0, next = 0; i < plan->n_nics; i++)
		if (plan->nic[i].devid >= next)
			next = plan->nic[i].devid + 1;
	for (i = 0; i < plan->n_nics; i++)
		if (plan->nic[i].devid < 0)
			plan->nic[i].devid = next++;
	plan->stream_max = (plan->mem_kb ? plan->mem_kb : (p->max_mem_kb ?
	    p->max_mem_kb : f->mem_kb)) * 1024 * p->stream_factor +
	    STREAM_SLACK;
	rc = 0;
out:
	return rc;
}
