/*
 * sim.c - the "sim" backend: struct backend over domain directories (see
 * sim.h), plus the sim_* calls of bin/simdom.  The guest process lives in
 * sim_guest.c; this file is the toolstack side.
 *
 * Receiving: create() makes a hidden ".building-PID-SEQ" directory that
 * start() renames to the domain's name; a builder that dies leaves it to
 * be swept by the next operation on the root (its PID is dead).
 */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "config.h"
#include "err.h"
#include "sim.h"
#include "stream.h"

#define PAGE		4096u
#define DIR_MAX		(DOM_NAME_MAX + 32)

struct dom {
	char root[PATH_MAX];
	int rootfd;
	char dir[DIR_MAX];		/* entry under root */
	char name[DOM_NAME_MAX];	/* "" while building without one */
	int dirfd, lockfd, memfd, ctlfd;
	struct sim_ctl *ctl;
	size_t ctl_len;
	const uint8_t *mem;		/* read-only view, once built */
	uint64_t nr_pages;		/* 0 while a stream has not said */
	/* building only */
	int building;
	uint64_t pfn_end;		/* highest pfn received + 1 */
	struct sim_ctx ctx;
	int have_ctx;
	int fresh;			/* sim_create: no memory check */
	char uuid[DOM_UUID_LEN];
	int refuse_suspend;
};

static unsigned int build_seq;

/* ---------------- helpers ---------------- */

static void
msleep(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static uint32_t
ld32(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void
st32(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

int
sim_timeout_ms(void)
{
	const char *s = getenv("XENPIPE_SIM_TIMEOUT_MS");
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return SIM_TIMEOUT_MS;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 1 || v > 3600000)
		return SIM_TIMEOUT_MS;
	return (int)v;
}

int
sim_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n >= DOM_NAME_MAX || name[0] == '.')
		return 0;
	for (i = 0; i < n; i++)
		if (!(name[i] >= 'a' && name[i] <= 'z') &&
		    !(name[i] >= 'A' && name[i] <= 'Z') &&
		    !(name[i] >= '0' && name[i] <= '9') &&
		    name[i] != '_' && name[i] != '.' && name[i] != '-')
			return 0;
	return 1;
}

const char *
sim_state_name(enum sim_state st)
{
	static const char *names[SIM_NSTATES] = {
		"building", "starting", "checking", "running", "paused",
		"suspended", "destroyed",
	};

	return (unsigned int)st < SIM_NSTATES ? names[st] : "unknown";
}

static const char *const workload_names[SIM_WL_N] = {
	"idle", "uniform", "hot", "sweep",
};

const char *
sim_workload_name(uint32_t wl)
{
	return wl < SIM_WL_N ? workload_names[wl] : "unknown";
}

int
sim_workload_parse(const char *s)
{
	int i;

	for (i = 0; i < SIM_WL_N; i++)
		if (strcmp(s, workload_names[i]) == 0)
			return i;
	return -1;
}

static void
ctx_swap(struct sim_ctx *c, int to_le)
{
	uint64_t *w[] = { &c->nr_pages, &c->rate, &c->wss, &c->ticks,
	    &c->written, &c->boots, &c->rng, &c->stopped_ns, &c->sweep_pos };
	uint32_t *h[] = { &c->version, &c->zero_pct, &c->workload, &c->_res };
	unsigned int i;

	for (i = 0; i < sizeof(h) / sizeof(h[0]); i++)
		*h[i] = to_le ? htole32(*h[i]) : le32toh(*h[i]);
	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++)
		*w[i] = to_le ? htole64(*w[i]) : le64toh(*w[i]);
	for (i = 0; i < SIM_RECENT; i++)
		c->recent[i] = to_le ? htole64(c->recent[i]) :
		    le64toh(c->recent[i]);
}

/* ---------------- the root: one simulated host ---------------- */

static int
mkdir_p(char *path)
{
	char *p;

	for (p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) == -1 && errno != EEXIST) {
			*p = '/';
			return -1;
		}
		*p = '/';
	}
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

static int
root_path(char *buf, size_t len)
{
	const char *s = getenv("XENPIPE_SIM_DIR");
	char sys[] = "/var/lib/xenpipe/sim";
	int n;

	if (s != NULL && *s != '\0') {
		n = snprintf(buf, len, "%s", s);
	} else if (geteuid() == 0 && mkdir_p(sys) == 0 &&
	    access(sys, W_OK) == 0) {
		n = snprintf(buf, len, "%s", sys);
	} else {
		s = getenv("XDG_RUNTIME_DIR");
		n = snprintf(buf, len, "%s/xenpipe-sim-%u",
		    s != NULL && *s != '\0' ? s : "/tmp",
		    (unsigned int)getuid());
	}
	if (n < 0 || (size_t)n >= len) {
		xp_seterr(XE_USAGE, "sim root directory path is too long");
		return -1;
	}
	return 0;
}

static int
rm_dir(int rootfd, const char *dir)
{
	struct dirent *de;
	DIR *dp;
	int fd;

	fd = openat(rootfd, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1 || (dp = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((de = readdir(dp)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			unlinkat(fd, de->d_name, 0);
	closedir(dp);
	return unlinkat(rootfd, dir, AT_REMOVEDIR);
}

/* Gone, or a zombie no one reaps (a container's init may not). */
static int
pid_dead(int pid)
{
	char path[32], buf[64], *p;
	ssize_t n;
	int fd;

	if (pid <= 0)
		return 0;
	if (kill(pid, 0) == -1)
		return errno == ESRCH;
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* "pid (comm) S ...": comm may hold anything but ends at the last ')' */
	p = strrchr(buf, ')');
	return p != NULL && p[1] == ' ' && p[2] == 'Z';
}

/* Half-built or half-destroyed directories of processes now dead. */
static void
sweep(int rootfd)
{
	struct dirent *de;
	DIR *dp;
	int fd, pid;

	if ((fd = dup(rootfd)) == -1)
		return;
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	rewinddir(dp);	/* a dup shares the offset of the last walk */
	while ((de = readdir(dp)) != NULL) {
		if (sscanf(de->d_name, ".building-%d-", &pid) != 1 &&
		    sscanf(de->d_name, ".destroy-%d-", &pid) != 1)
			continue;
		if (pid_dead(pid))
			rm_dir(rootfd, de->d_name);
	}
	closedir(dp);
}

static int
root_open(struct dom *d)
{
	struct stat st;

	if (root_path(d->root, sizeof(d->root)) == -1)
		return -1;
	if (mkdir_p(d->root) == -1) {
		xp_seterr(XE_SYS, "cannot create sim root %s", d->root);
		return -1;
	}
	d->rootfd = open(d->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->rootfd == -1 || fstat(d->rootfd, &st) == -1) {
		xp_seterr(XE_SYS, "cannot open sim root %s", d->root);
		return -1;
	}
	/* In a shared /tmp, someone else's directory is a trap. */
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		errno = 0;
		xp_seterr(XE_STATE, "sim root %s belongs to uid %u", d->root,
		    (unsigned int)st.st_uid);
		return -1;
	}
	sweep(d->rootfd);
	return 0;
}

static int
root_lock(struct dom *d)
{
	int fd;

	fd = openat(d->rootfd, ".lock", O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1 || flock(fd, LOCK_EX) == -1) {
		xp_seterr(XE_SYS, "cannot lock sim root %s", d->root);
		if (fd != -1)
			close(fd);
		return -1;
	}
	return fd;
}

/* Under the root lock.  Ids count up from 1 and wrap, as Xen's do. */
static int
domid_alloc(struct dom *d, uint32_t *domid)
{
	char buf[16];
	unsigned long v;
	ssize_t n;
	int fd, len;

	fd = openat(d->rootfd, ".domid", O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1 || (n = pread(fd, buf, sizeof(buf) - 1, 0)) == -1)
		goto err;
	buf[n] = '\0';
	v = strtoul(buf, NULL, 10);
	if (v == 0 || v > SIM_DOMID_MAX)
		v = 1;
	*domid = v;
	len = snprintf(buf, sizeof(buf), "%lu\n", v >= SIM_DOMID_MAX ? 1 : v + 1);
	if (pwrite(fd, buf, len, 0) != len || ftruncate(fd, len) == -1)
		goto err;
	close(fd);
	return 0;
err:
	xp_seterr(XE_SYS, "cannot allocate a domain id in %s", d->root);
	if (fd != -1)
		close(fd);
	return -1;
}

/* ---------------- domain handles ---------------- */

static struct dom *
dom_new(void)
{
	struct dom *d;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		xp_seterr(XE_SYS, "out of memory");
		return NULL;
	}
	d->rootfd = d->dirfd = d->lockfd = d->memfd = d->ctlfd = -1;
	return d;
}

static void
dom_free(struct dom *d)
{
	int saved = errno;

	if (d == NULL)
		return;
	if (d->ctl != NULL)
		munmap(d->ctl, d->ctl_len);
	if (d->mem != NULL)
		munmap((void *)d->mem, d->nr_pages * PAGE);
	if (d->ctlfd != -1)
		close(d->ctlfd);
	if (d->memfd != -1)
		close(d->memfd);
	if (d->lockfd != -1)
		close(d->lockfd);
	if (d->dirfd != -1)
		close(d->dirfd);
	if (d->rootfd != -1)
		close(d->rootfd);
	free(d);
	errno = saved;
}

/* Is a guest process running this domain?  It holds "lock" while it lives. */
static int
guest_alive(struct dom *d)
{
	if (d->lockfd == -1)
		return 0;
	if (flock(d->lockfd, LOCK_EX | LOCK_NB) == -1)
		return errno == EWOULDBLOCK;
	flock(d->lockfd, LOCK_UN);
	return 0;
}

static int
open_lock(struct dom *d)
{
	d->lockfd = openat(d->dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (d->lockfd == -1) {
		xp_seterr(XE_SYS, "domain %s: cannot open its lock", d->dir);
		return -1;
	}
	return 0;
}

/* Map a built domain's control block and memory, bounding both. */
static int
dom_map(struct dom *d)
{
	struct sim_ctl h;
	struct stat st;
	uint64_t n;
	void *p;

	d->ctlfd = openat(d->dirfd, "ctl", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (d->ctlfd == -1 || fstat(d->ctlfd, &st) == -1) {
		xp_seterr(XE_SYS, "domain %s: cannot open its control block",
		    d->name);
		return -1;
	}
	errno = 0;
	if (pread(d->ctlfd, &h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h.magic, SIM_CTL_MAGIC, sizeof(h.magic)) != 0 ||
	    h.version != SIM_CTL_VERSION) {
		xp_seterr(XE_STATE, "domain %s: control block is corrupt",
		    d->name);
		return -1;
	}
	n = h.nr_pages;
	d->ctl_len = sizeof(h) + SIM_BITMAP_WORDS(n) * 8;
	if (n < SIM_PAGES_MIN || n > DOM_PAGES_MAX ||
	    (uint64_t)st.st_size != d->ctl_len) {
		xp_seterr(XE_STATE, "domain %s: control block has a bad size "
		    "or page count", d->name);
		return -1;
	}
	p = mmap(NULL, d->ctl_len, PROT_READ | PROT_WRITE, MAP_SHARED,
	    d->ctlfd, 0);
	if (p == MAP_FAILED) {
		xp_seterr(XE_SYS, "domain %s: cannot map its control block",
		    d->name);
		return -1;
	}
	d->ctl = p;
	d->memfd = openat(d->dirfd, "mem", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (d->memfd == -1 || fstat(d->memfd, &st) == -1) {
		xp_seterr(XE_SYS, "domain %s: cannot open its memory", d->name);
		return -1;
	}
	if ((uint64_t)st.st_size != n * PAGE) {
		xp_seterr(XE_STATE, "domain %s: memory is %lld bytes, not %llu",
		    d->name, (long long)st.st_size,
		    (unsigned long long)(n * PAGE));
		return -1;
	}
	p = mmap(NULL, n * PAGE, PROT_READ, MAP_SHARED, d->memfd, 0);
	if (p == MAP_FAILED) {
		xp_seterr(XE_SYS, "domain %s: cannot map its memory", d->name);
		return -1;
	}
	d->mem = p;
	d->nr_pages = n;
	return 0;
}

static int
dom_load(struct dom *d, const char *name)
{
	snprintf(d->dir, sizeof(d->dir), "%s", name);
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->dirfd = openat(d->rootfd, name, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (d->dirfd == -1) {
		if (errno == ENOENT) {
			errno = 0;
			xp_seterr(XE_STATE, "no domain %s in %s", name, d->root);
		} else
			xp_seterr(XE_SYS, "domain %s", name);
		return -1;
	}
	if (open_lock(d) == -1)
		return -1;
	return dom_map(d);
}

static int
dom_exists(struct dom *d, const char *name)
{
	struct stat st;

	return fstatat(d->rootfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* Name of the visible domain whose control block says domid, or -1. */
static int
find_domid(struct dom *d, uint32_t domid, char *name, size_t len)
{
	struct sim_ctl h;
	struct dirent *de;
	DIR *dp;
	int fd, dfd, found = -1;

	if ((fd = dup(d->rootfd)) == -1 || (dp = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	rewinddir(dp);
	while (found == -1 && (de = readdir(dp)) != NULL) {
		if (!sim_name_ok(de->d_name))
			continue;
		dfd = openat(d->rootfd, de->d_name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (dfd == -1)
			continue;
		fd = openat(dfd, "ctl", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd != -1 && pread(fd, &h, sizeof(h), 0) == sizeof(h) &&
		    memcmp(h.magic, SIM_CTL_MAGIC, sizeof(h.magic)) == 0 &&
		    h.domid == domid && h.state != SIM_DEAD) {
			/* sim_name_ok() bounds it below DOM_NAME_MAX */
			if (strlen(de->d_name) < len) {
				memcpy(name, de->d_name, strlen(de->d_name) + 1);
				found = 0;
			}
		}
		if (fd != -1)
			close(fd);
		close(dfd);
	}
	closedir(dp);
	return found;
}

static enum dom_state
dom_state(struct dom *d)
{
	switch (ld32(&d->ctl->state)) {
	case SIM_BUILDING:
	case SIM_STARTING:
	case SIM_CHECKING:
		return DOM_PAUSED;
	case SIM_RUNNING:
		return guest_alive(d) ? DOM_RUNNING : DOM_SHUTDOWN;
	case SIM_PAUSED:
		return guest_alive(d) ? DOM_PAUSED : DOM_SHUTDOWN;
	case SIM_SUSPENDED:
		return DOM_SUSPENDED;
	default:
		return DOM_SHUTDOWN;
	}
}

static int
need_built(struct dom *d, const char *what)
{
	if (!d->building)
		return 0;
	errno = 0;
	xp_seterr(XE_USAGE, "domain %s is still being received; cannot %s",
	    d->name[0] ? d->name : d->dir, what);
	return -1;
}

/*
 * Wait for the guest to reach state want after asking req.  On timeout
 * the request is withdrawn so that a late guest does not act on it.
 */
static int
wait_state(struct dom *d, uint32_t want, uint32_t req, const char *what)
{
	int ms = sim_timeout_ms(), i;
	uint32_t st;

	for (i = 0; i <= ms; i++) {
		st = ld32(&d->ctl->state);
		if (st == want)
			return 0;
		if (st == SIM_DEAD) {
			xp_seterr(XE_STATE, "domain %s is being destroyed",
			    d->name);
			return -1;
		}
		if (i % 50 == 0 && !guest_alive(d) &&
		    ld32(&d->ctl->state) != want) {
			xp_seterr(XE_STATE, "domain %s: guest process is gone "
			    "(crashed?) while waiting for it to %s", d->name,
			    what);
			return -1;
		}
		msleep(1);
	}
	__atomic_compare_exchange_n(&d->ctl->request, &req, SIM_REQ_NONE, 0,
	    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
	xp_seterr(XE_STATE, "domain %s: guest did not %s within %d ms",
	    d->name, what, ms);
	return -1;
}

static int
wait_exit(struct dom *d, int ms)
{
	int i;

	for (i = 0; i < ms; i++) {
		if (!guest_alive(d))
			return 0;
		msleep(1);
	}
	return -1;
}

static int
bad_state(struct dom *d, const char *what)
{
	errno = 0;
	xp_seterr(XE_STATE, "domain %s is %s; cannot %s", d->name,
	    sim_state_name(ld32(&d->ctl->state)), what);
	return -1;
}

/* ---------------- backend: sending side ---------------- */

static int
sim_info(struct dom *d, struct dom_info *info)
{
	uint32_t domid;

	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", d->name);
	info->dom_type = DHDR_TYPE_X86_HVM;
	info->nr_pages = d->nr_pages;
	info->mem_pages = d->nr_pages;
	info->nr_vcpus = 1;
	info->logdirty = 0;
	snprintf(info->uuid, sizeof(info->uuid), "%.36s", d->building ||
	    d->ctl == NULL ? d->uuid : d->ctl->uuid);
	if (d->building) {
		info->state = DOM_PAUSED;
		return 0;
	}
	info->logdirty = __atomic_load_n(&d->ctl->logdirty, __ATOMIC_RELAXED) != 0;
	domid = ld32(&d->ctl->domid);
	info->domid = domid <= SIM_DOMID_MAX ? domid : 0;
	info->state = dom_state(d);
	return 0;
}

static int
sim_open(const char *name_or_id, struct dom **dp)
{
	char name[DOM_NAME_MAX];
	uint64_t id;
	struct dom *d;
	char *end;

	*dp = NULL;
	if ((d = dom_new()) == NULL || root_open(d) == -1)
		goto err;
	if (sim_name_ok(name_or_id) && dom_exists(d, name_or_id)) {
		if (dom_load(d, name_or_id) == -1)
			goto err;
	} else {
		errno = 0;
		id = strtoull(name_or_id, &end, 10);
		if (*name_or_id < '0' || *name_or_id > '9' || *end != '\0' ||
		    id > SIM_DOMID_MAX ||
		    find_domid(d, id, name, sizeof(name)) == -1) {
			errno = 0;
			xp_seterr(XE_STATE, "no domain %s in %s", name_or_id,
			    d->root);
			goto err;
		}
		if (dom_load(d, name) == -1)
			goto err;
	}
	*dp = d;
	return 0;
err:
	dom_free(d);
	return -1;
}

static int
cmp_domid(const void *a, const void *b)
{
	const struct dom_info *x = a, *y = b;

	return x->domid < y->domid ? -1 : x->domid > y->domid;
}

static int
sim_list(struct dom_info **infos, size_t *n)
{
	struct dom_info *v = NULL, *nv;
	struct dom *root, *d;
	struct dirent *de;
	size_t cnt = 0, cap = 0;
	DIR *dp = NULL;
	int fd;

	*infos = NULL;
	*n = 0;
	if ((root = dom_new()) == NULL || root_open(root) == -1)
		goto err;
	if ((fd = dup(root->rootfd)) == -1 || (dp = fdopendir(fd)) == NULL) {
		xp_seterr(XE_SYS, "cannot read sim root %s", root->root);
		if (fd != -1)
			close(fd);
		goto err;
	}
	rewinddir(dp);
	while ((de = readdir(dp)) != NULL) {
		/* Half-built and corrupt domains are not listed. */
		if (!sim_name_ok(de->d_name) || sim_open(de->d_name, &d) == -1)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				dom_free(d);
				xp_seterr(XE_SYS, "out of memory");
				goto err;
			}
			v = nv;
		}
		sim_info(d, &v[cnt++]);
		dom_free(d);
	}
	closedir(dp);
	dom_free(root);
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), cmp_domid);
	*infos = v;
	*n = cnt;
	return 0;
err:
	if (dp != NULL)
		closedir(dp);
	dom_free(root);
	free(v);
	return -1;
}

static int
sim_config_json(struct dom *d, char **json)
{
	struct dom_info info;

	if (sim_info(d, &info) == -1)
		return -1;
	if ((*json = config_to_json(&info, "sim", 1)) == NULL) {
		xp_seterr(XE_SYS, "domain %s: cannot build its config",
		    d->name);
		return -1;
	}
	return 0;
}

static int
sim_read_pages(struct dom *d, const uint64_t *pfns, unsigned int n,
    void *buf, uint32_t *types)
{
	unsigned int i;

	if (need_built(d, "read its memory") == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (pfns[i] >= d->nr_pages) {
			errno = 0;
			xp_seterr(XE_USAGE, "domain %s: pfn 0x%llx is beyond "
			    "its %llu pages", d->name,
			    (unsigned long long)pfns[i],
			    (unsigned long long)d->nr_pages);
			return -1;
		}
		memcpy((uint8_t *)buf + (size_t)i * PAGE,
		    d->mem + pfns[i] * PAGE, PAGE);
		types[i] = PFINFO_NOTAB;	/* no holes, no page tables */
	}
	return 0;
}

static int
sim_logdirty(struct dom *d, enum logdirty_op op, uint64_t *bitmap)
{
	uint64_t i, words = SIM_BITMAP_WORDS(d->nr_pages), *bm;
	uint64_t tail = d->nr_pages % 64 ? (1ULL << (d->nr_pages % 64)) - 1 :
	    ~0ULL;

	if (need_built(d, "track dirty pages") == -1)
		return -1;
	bm = d->ctl->bitmap;
	switch (op) {
	case LOGDIRTY_ENABLE:
		for (i = 0; i < words; i++)
			__atomic_store_n(&bm[i], 0, __ATOMIC_SEQ_CST);
		__atomic_store_n(&d->ctl->logdirty, 1, __ATOMIC_SEQ_CST);
		return 0;
	case LOGDIRTY_DISABLE:
		__atomic_store_n(&d->ctl->logdirty, 0, __ATOMIC_SEQ_CST);
		return 0;
	case LOGDIRTY_CLEAN:
	case LOGDIRTY_PEEK:
		break;
	}
	if (!__atomic_load_n(&d->ctl->logdirty, __ATOMIC_SEQ_CST)) {
		errno = 0;
		xp_seterr(XE_STATE, "domain %s: log-dirty is not enabled",
		    d->name);
		return -1;
	}
	for (i = 0; i < words; i++)
		bitmap[i] = op == LOGDIRTY_CLEAN ?
		    __atomic_exchange_n(&bm[i], 0, __ATOMIC_SEQ_CST) :
		    __atomic_load_n(&bm[i], __ATOMIC_SEQ_CST);
	bitmap[words - 1] &= tail;
	return 0;
}

static int
sim_pause(struct dom *d)
{
	if (need_built(d, "pause it") == -1)
		return -1;
	switch (ld32(&d->ctl->state)) {
	case SIM_PAUSED:
		return 0;
	case SIM_RUNNING:
		st32(&d->ctl->request, SIM_REQ_PAUSE);
		return wait_state(d, SIM_PAUSED, SIM_REQ_PAUSE, "pause");
	default:
		return bad_state(d, "pause it");
	}
}

static int
sim_unpause(struct dom *d)
{
	if (need_built(d, "unpause it") == -1)
		return -1;
	switch (ld32(&d->ctl->state)) {
	case SIM_RUNNING:
		return 0;
	case SIM_PAUSED:
		st32(&d->ctl->request, SIM_REQ_NONE);
		return wait_state(d, SIM_RUNNING, SIM_REQ_NONE, "unpause");
	default:
		return bad_state(d, "unpause it");
	}
}

static uint64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Asked as the xen backend asks (xen_save.c): the request, a wait for the
 * guest to take it (the timeout), then for it to have suspended (twice the
 * timeout in all).  A request not taken in time, or when a signal comes, is
 * withdrawn in one step, so that a guest that gets to it later finds
 * nothing; one taken at the last moment, or before the signal, is waited
 * for: the guest is on its way and only we would resume it.  A domain
 * found suspended is a success whatever ended the wait: the caller owns it.
 */
static int
sim_suspend(struct dom *d)
{
	uint64_t t0, ms = (uint64_t)sim_timeout_ms();
	uint32_t st, req, prev;
	int acked = 0, i;

	if (need_built(d, "suspend it") == -1)
		return -1;
	switch ((st = ld32(&d->ctl->state))) {
	case SIM_SUSPENDED:
		return 0;
	case SIM_RUNNING:
	case SIM_PAUSED:
		break;
	default:
		return bad_state(d, "suspend it");
	}
	/* what the request replaces, and a withdrawal puts back */
	prev = st == SIM_PAUSED ? SIM_REQ_PAUSE : SIM_REQ_NONE;
	st32(&d->ctl->request, SIM_REQ_SUSPEND);
	t0 = mono_ms();
	for (i = 0; (st = ld32(&d->ctl->state)) != SIM_SUSPENDED; i++) {
		if (st == SIM_DEAD) {
			xp_seterr(XE_STATE, "domain %s is being destroyed",
			    d->name);
			return -1;
		}
		if (i % 50 == 0 && !guest_alive(d) &&
		    ld32(&d->ctl->state) != SIM_SUSPENDED) {
			xp_seterr(XE_STATE, "domain %s: guest process is gone "
			    "(crashed?) while waiting for it to suspend",
			    d->name);
			return -1;
		}
		/* taken: the guest cleared it, as a Xen guest clears the key */
		if (!acked)
			acked = ld32(&d->ctl->request) != SIM_REQ_SUSPEND;
		if (!acked && (mono_ms() - t0 >= ms || xp_interrupted)) {
			req = SIM_REQ_SUSPEND;
			if (!__atomic_compare_exchange_n(&d->ctl->request,
			    &req, prev, 0, __ATOMIC_ACQ_REL,
			    __ATOMIC_ACQUIRE)) {
				acked = 1;	/* taken at the last moment */
				continue;
			}
			if (ld32(&d->ctl->state) == SIM_SUSPENDED)
				break;		/* suspended anyway meanwhile */
			errno = 0;
			if (xp_interrupted)
				xp_seterr(XE_SYS, "domain %s: suspend "
				    "interrupted; request withdrawn", d->name);
			else
				xp_seterr(XE_STATE, "domain %s: guest did not "
				    "take the suspend request within %llu ms; "
				    "request withdrawn", d->name,
				    (unsigned long long)ms);
			return -1;
		}
		if (acked && mono_ms() - t0 >= 2 * ms) {
			if (ld32(&d->ctl->state) == SIM_SUSPENDED)
				break;
			xp_seterr(XE_STATE, "domain %s: guest took the suspend "
			    "request but had not suspended after %llu ms; if "
			    "it does later, resume it: dom-resume --in-place "
			    "%s", d->name, (unsigned long long)(2 * ms),
			    d->name);
			return -1;
		}
		msleep(1);
	}
	/* Its memory is quiet once the process is gone. */
	if (wait_exit(d, sim_timeout_ms()) == -1) {
		errno = 0;
		xp_seterr(XE_STATE, "domain %s: guest suspended but did not "
		    "exit", d->name);
		return -1;
	}
	return 0;
}

static int
dom_path(struct dom *d, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", d->root, d->dir);

	if (n < 0 || (size_t)n >= len) {
		xp_seterr(XE_USAGE, "domain %s: path too long", d->name);
		return -1;
	}
	return 0;
}

static int
launch(struct dom *d, int check_first, uint32_t fallback)
{
	char path[PATH_MAX];
	uint32_t st;

	if (dom_path(d, path, sizeof(path)) == -1)
		return -1;
	st32(&d->ctl->request, SIM_REQ_NONE);
	st32(&d->ctl->state, SIM_STARTING);
	if (sim_guest_spawn(path, d->name, check_first) == 0)
		return 0;
	/* Leave it resumable (or destroyable) rather than "starting". */
	st = ld32(&d->ctl->state);
	if (st == SIM_STARTING || st == SIM_CHECKING)
		__atomic_compare_exchange_n(&d->ctl->state, &st, fallback, 0,
		    __ATOMIC_RELEASE, __ATOMIC_RELAXED);
	return -1;
}

static int
sim_resume(struct dom *d)
{
	if (need_built(d, "resume it") == -1)
		return -1;
	if (ld32(&d->ctl->state) != SIM_SUSPENDED)
		return bad_state(d, "resume it");
	if (guest_alive(d) && wait_exit(d, sim_timeout_ms()) == -1) {
		errno = 0;
		xp_seterr(XE_STATE, "domain %s: its suspended guest has not "
		    "exited", d->name);
		return -1;
	}
	return launch(d, 1, SIM_SUSPENDED);
}

static int
sim_throttle(struct dom *d, unsigned int pct)
{
	return sim_set(d, SIM_KNOB_THROTTLE, pct);
}

static int
sim_write_static(struct dom *d, struct sw *sw)
{
	/* No CPUID/MSR policy to carry: the simulated CPU is the host's. */
	(void)sw;
	return need_built(d, "save it");
}

static int
sim_write_start(struct dom *d, struct sw *sw)
{
	/* A simulated domain has no p2m to describe: nothing to write. */
	(void)sw;
	return need_built(d, "save it");
}

static int
sim_write_context(struct dom *d, struct sw *sw)
{
	struct sim_ctx ctx;
	const char *why;
	uint32_t st;

	if (need_built(d, "save it") == -1)
		return -1;
	/* The guest publishes its whole context when it stops. */
	st = ld32(&d->ctl->state);
	if (st != SIM_SUSPENDED && st != SIM_PAUSED)
		return bad_state(d, "save its context (suspend it first)");
	memcpy(&ctx, &d->ctl->ctx, sizeof(ctx));
	if (sim_ctx_valid(&ctx, d->nr_pages, &why) == -1) {
		errno = 0;
		xp_seterr(XE_STATE, "domain %s: its context is invalid: %s",
		    d->name, why);
		return -1;
	}
	ctx_swap(&ctx, 1);
	return sw_record(sw, REC_TYPE_HVM_CONTEXT, &ctx, sizeof(ctx));
}

/* ---------------- backend: receiving side ---------------- */

/* dom0's /proc/meminfo is the sim host's memory; sim disks are none. */
static int
sim_host(struct host_facts *f)
{
	(void)f;
	return 0;
}

static int
sim_create_dom(const struct dom_config *cfg, struct dom **dp)
{
	struct dom *d;

	*dp = NULL;
	errno = 0;
	/* A stream with no config cannot say; its HVM_CONTEXT will. */
	if (!cfg->simulated && cfg->json != NULL) {
		xp_seterr(XE_USAGE, "stream is from a real Xen domain; the "
		    "sim backend cannot run it (use XENPIPE_BACKEND=xen)");
		return -1;
	}
	if (cfg->dom_type != DHDR_TYPE_X86_HVM) {
		xp_seterr(XE_STREAM, "stream is for a domain of type %u; sim "
		    "domains are HVM", cfg->dom_type);
		return -1;
	}
	if (cfg->nr_pages != 0 && (cfg->nr_pages < SIM_PAGES_MIN ||
	    cfg->nr_pages > DOM_PAGES_MAX)) {
		xp_seterr(XE_STREAM, "stream's domain has %llu pages; the sim "
		    "takes %u to %llu", (unsigned long long)cfg->nr_pages,
		    SIM_PAGES_MIN, (unsigned long long)DOM_PAGES_MAX);
		return -1;
	}
	if ((d = dom_new()) == NULL || root_open(d) == -1)
		goto err;
	if (sim_name_ok(cfg->name))
		snprintf(d->name, sizeof(d->name), "%s", cfg->name);
	if (cfg->uuid[0] != '\0')
		snprintf(d->uuid, sizeof(d->uuid), "%s", cfg->uuid);
	else if (config_uuid_fresh(d->uuid) == -1)
		goto err;
	snprintf(d->dir, sizeof(d->dir), ".building-%d-%u", (int)getpid(),
	    build_seq++);
	if (mkdirat(d->rootfd, d->dir, 0700) == -1) {
		xp_seterr(XE_SYS, "cannot create %s/%s", d->root, d->dir);
		goto err;
	}
	d->building = 1;
	d->dirfd = openat(d->rootfd, d->dir, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC);
	if (d->dirfd == -1 || open_lock(d) == -1)
		goto err_sys;
	d->memfd = openat(d->dirfd, "mem", O_RDWR | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (d->memfd == -1 || ftruncate(d->memfd, cfg->nr_pages * PAGE) == -1)
		goto err_sys;
	d->nr_pages = cfg->nr_pages;
	*dp = d;
	return 0;
err_sys:
	xp_seterr(XE_SYS, "cannot create the memory of a new domain in %s/%s",
	    d->root, d->dir);
err:
	if (d != NULL && d->building)
		rm_dir(d->rootfd, d->dir);
	dom_free(d);
	return -1;
}

static int
check_pfns(struct dom *d, const uint64_t *pfns, unsigned int n)
{
	uint64_t lim = d->nr_pages ? d->nr_pages : DOM_PAGES_MAX;
	unsigned int i;

	if (!d->building) {
		errno = 0;
		xp_seterr(XE_USAGE, "domain %s is running; its memory cannot "
		    "be written", d->name);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (pfns[i] >= lim) {
			errno = 0;
			xp_seterr(XE_STREAM, "pfn 0x%llx is beyond the "
			    "domain's %llu pages", (unsigned long long)pfns[i],
			    (unsigned long long)lim);
			return -1;
		}
		if (pfns[i] >= d->pfn_end)
			d->pfn_end = pfns[i] + 1;
	}
	return 0;
}

static int
sim_write_pages(struct dom *d, const uint64_t *pfns, unsigned int n,
    const void *data)
{
	const uint8_t *p = data;
	unsigned int i, run;
	size_t len, done;
	ssize_t w;

	if (check_pfns(d, pfns, n) == -1)
		return -1;
	for (i = 0; i < n; i += run) {
		for (run = 1; i + run < n && pfns[i + run] == pfns[i] + run;
		    run++)
			;
		len = (size_t)run * PAGE;
		for (done = 0; done < len; done += w) {
			w = pwrite(d->memfd, p + (size_t)i * PAGE + done,
			    len - done, pfns[i] * PAGE + done);
			if (w == -1 && errno == EINTR)
				w = 0;
			else if (w <= 0) {
				xp_seterr(XE_SYS, "cannot write the memory of "
				    "the new domain in %s/%s", d->root, d->dir);
				return -1;
			}
		}
	}
	return 0;
}

static int
apply_context(struct dom *d, const void *body, uint32_t len)
{
	struct sim_ctx ctx;
	const char *why;

	errno = 0;
	/* Say "old version" rather than "wrong size" when that is the cause. */
	if (len >= 12 && memcmp(body, SIM_CTX_MAGIC, 8) == 0) {
		memcpy(&ctx.version, (const uint8_t *)body + 8, 4);
		if (le32toh(ctx.version) != SIM_CTX_VERSION) {
			xp_seterr(XE_STREAM, "HVM_CONTEXT is a sim context of "
			    "version %u; this build takes version %u",
			    le32toh(ctx.version), SIM_CTX_VERSION);
			return -1;
		}
	}
	if (len != sizeof(ctx)) {
		xp_seterr(XE_STREAM, "HVM_CONTEXT is %u bytes; a sim context "
		    "is %zu (stream from a real Xen domain?)", len,
		    sizeof(ctx));
		return -1;
	}
	memcpy(&ctx, body, sizeof(ctx));
	ctx_swap(&ctx, 0);
	if (sim_ctx_valid(&ctx, d->nr_pages, &why) == -1) {
		xp_seterr(XE_STREAM, "HVM_CONTEXT is not a valid sim context: "
		    "%s", why);
		return -1;
	}
	if (d->nr_pages == 0) {
		if (d->pfn_end > ctx.nr_pages) {
			xp_seterr(XE_STREAM, "stream sent pfn 0x%llx but the "
			    "domain has %llu pages",
			    (unsigned long long)d->pfn_end - 1,
			    (unsigned long long)ctx.nr_pages);
			return -1;
		}
		if (ftruncate(d->memfd, ctx.nr_pages * PAGE) == -1) {
			xp_seterr(XE_SYS, "cannot size the memory in %s/%s",
			    d->root, d->dir);
			return -1;
		}
		d->nr_pages = ctx.nr_pages;
	}
	d->ctx = ctx;
	d->have_ctx = 1;
	return 0;
}

static int
sim_apply_record(struct dom *d, uint32_t rec_type, const void *body,
    uint32_t len)
{
	if (!d->building) {
		errno = 0;
		xp_seterr(XE_USAGE, "domain %s is running; records cannot be "
		    "applied to it", d->name);
		return -1;
	}
	switch (rec_type) {
	case REC_TYPE_HVM_CONTEXT:
		return apply_context(d, body, len);
	case REC_TYPE_X86_TSC_INFO:
	case REC_TYPE_HVM_PARAMS:
		/* Meaningless to the simulated CPU; harmless. */
		return 0;
	default:
		errno = 0;
		xp_seterr(XE_STREAM, "the sim backend cannot apply a %s record",
		    xc_rec_name(rec_type));
		return -1;
	}
}

/*
 * A PAGE_DATA record: its pages with data written in runs; the memory
 * file is sparse, so an allocated page (XALLOC) need only be in range.
 */
static int
sim_page_data(struct dom *d, const struct sr_rec *r)
{
	const uint8_t *data = r->page_data;
	uint64_t pfns[PAGE_BATCH_MAX], pfn;
	unsigned int n = 0, t;
	uint32_t i;

	for (i = 0; i < r->count; i++) {
		pfn = r->pfn_words[i] & PAGE_DATA_PFN_MASK;
		t = PAGE_DATA_TYPE(r->pfn_words[i]);
		if (t == PFINFO_XALLOC && check_pfns(d, &pfn, 1) < 0)
			return -1;
		if (t == PFINFO_XALLOC || !PFINFO_HAS_DATA(t))
			continue;	/* XTAB and BROKEN carry nothing */
		pfns[n++] = pfn;
		if (n == PAGE_BATCH_MAX) {
			if (sim_write_pages(d, pfns, n, data) < 0)
				return -1;
			data += (size_t)n * XP_PAGE_SIZE;
			n = 0;
		}
	}
	return n ? sim_write_pages(d, pfns, n, data) : 0;
}

static int
sim_receive(struct dom *d, const struct sr_rec *r, struct sr *in)
{
	(void)in;	/* pages come in the record: not pages_in_input */
	if (r->layer == LAYER_XC_HDRS)
		return 0;	/* restore.c has read what they say */
	switch (r->type) {
	case REC_TYPE_END:
	case REC_TYPE_STATIC_DATA_END:
		return 0;
	case REC_TYPE_PAGE_DATA:
		return sim_page_data(d, r);
	}
	if (r->type & REC_TYPE_OPTIONAL)
		return 0;
	if (r->length == 0)
		return 0;	/* errata: empty variable-size records */
	return sim_apply_record(d, r->type, r->body, r->length);
}

/* The control block of a domain about to start. */
static int
ctl_create(struct dom *d)
{
	void *p;

	d->ctl_len = sizeof(struct sim_ctl) + SIM_BITMAP_WORDS(d->nr_pages) * 8;
	d->ctlfd = openat(d->dirfd, "ctl", O_RDWR | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC, 0600);
	if (d->ctlfd == -1 || ftruncate(d->ctlfd, d->ctl_len) == -1)
		goto err;
	p = mmap(NULL, d->ctl_len, PROT_READ | PROT_WRITE, MAP_SHARED,
	    d->ctlfd, 0);
	if (p == MAP_FAILED)
		goto err;
	d->ctl = p;
	memcpy(d->ctl->magic, SIM_CTL_MAGIC, sizeof(d->ctl->magic));
	d->ctl->version = SIM_CTL_VERSION;
	d->ctl->state = SIM_BUILDING;
	d->ctl->nr_pages = d->nr_pages;
	d->ctl->refuse_suspend = d->refuse_suspend;
	d->ctl->cap_pct = 100;
	d->ctl->want_rate = d->ctx.rate;
	d->ctl->want_workload = d->ctx.workload;
	d->ctl->ctx = d->ctx;
	snprintf(d->ctl->uuid, sizeof(d->ctl->uuid), "%s", d->uuid);
	p = mmap(NULL, d->nr_pages * PAGE, PROT_READ, MAP_SHARED, d->memfd, 0);
	if (p == MAP_FAILED)
		goto err;
	d->mem = p;
	return 0;
err:
	xp_seterr(XE_SYS, "cannot create the control block in %s/%s",
	    d->root, d->dir);
	return -1;
}

/* Under the root lock: a suspended NAME (left by a migration) steps aside. */
static int
move_aside(struct dom *d, const char *name)
{
	char away[DOM_NAME_MAX + sizeof(DOM_AWAY_SUFFIX)];
	struct dom *o;
	int rc = -1;

	errno = 0;
	if (sim_open(name, &o) == -1) {
		xp_seterr(XE_STATE, "domain %s exists (and is unreadable); "
		    "destroy it or use -n NEWNAME", name);
		return -1;
	}
	if (dom_state(o) != DOM_SUSPENDED || guest_alive(o)) {
		errno = 0;
		if (dom_state(o) == DOM_RUNNING || dom_state(o) == DOM_PAUSED)
			xp_seterr(XE_STATE, "domain %s exists and is running "
			    "(use -n NEWNAME)", name);
		else
			xp_seterr(XE_STATE, "domain %s exists (%s); destroy "
			    "it or use -n NEWNAME", name,
			    sim_state_name(ld32(&o->ctl->state)));
		goto out;
	}
	snprintf(away, sizeof(away), "%s%s", name, DOM_AWAY_SUFFIX);
	if (!sim_name_ok(away)) {
		errno = 0;
		xp_seterr(XE_STATE, "domain %s exists and is suspended; its "
		    "name is too long to move aside (use -n NEWNAME)", name);
		goto out;
	}
	if (renameat2(d->rootfd, name, d->rootfd, away, RENAME_NOREPLACE) ==
	    -1) {
		if (errno == EEXIST) {
			errno = 0;
			xp_seterr(XE_STATE, "domain %s exists and is suspended, "
			    "and %s exists too; destroy one", name, away);
		} else
			xp_seterr(XE_SYS, "cannot rename domain %s to %s",
			    name, away);
		goto out;
	}
	rc = 0;
out:
	dom_free(o);
	return rc;
}

static int
name_check(const char *name)
{
	if (sim_name_ok(name))
		return 0;
	errno = 0;
	xp_seterr(XE_USAGE, "'%s' is not a valid domain name "
	    "([A-Za-z0-9_.-], 1 to 63, no leading '.')", name);
	return -1;
}

/*
 * Complete, with its control block, and still hidden: a receiver that dies
 * waiting for the go leaves it to the sweep.
 */
static int
sim_finish(struct dom *d)
{
	errno = 0;
	if (!d->building) {
		xp_seterr(XE_USAGE, "domain %s is already started", d->name);
		return -1;
	}
	if (!d->have_ctx) {
		xp_seterr(XE_STREAM, "stream has no sim context (HVM_CONTEXT)");
		return -1;
	}
	if (d->ctl == NULL && ctl_create(d) == -1)
		return -1;
	return 0;
}

/* Name the built domain and start it; migrate: a suspended NAME steps aside. */
static int
dom_start(struct dom *d, const char *name, struct dom_info *info,
    int migrate)
{
	uint32_t domid;
	int lk;

	if (sim_finish(d) == -1)
		return -1;
	if (name_check(name) == -1)
		return -1;
	if ((lk = root_lock(d)) == -1)
		return -1;
	if (dom_exists(d, name) && (!migrate || move_aside(d, name) == -1)) {
		if (!migrate) {
			errno = 0;
			xp_seterr(XE_STATE, "domain %s exists", name);
		}
		goto err;
	}
	if (renameat2(d->rootfd, d->dir, d->rootfd, name, RENAME_NOREPLACE) ==
	    -1) {
		xp_seterr(XE_SYS, "cannot rename %s to %s in %s", d->dir, name,
		    d->root);
		goto err;
	}
	snprintf(d->dir, sizeof(d->dir), "%s", name);
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->building = 0;
	if (domid_alloc(d, &domid) == -1)
		goto err;
	st32(&d->ctl->domid, domid);
	close(lk);
	lk = -1;
	if (launch(d, !d->fresh, SIM_SUSPENDED) == -1)
		return -1;
	return sim_info(d, info);
err:
	close(lk);
	return -1;
}

static int
sim_start(struct dom *d, const char *name, struct dom_info *info)
{
	return dom_start(d, name, info, 1);
}

/* ---------------- both ---------------- */

static int
sim_rename(struct dom *d, const char *newname)
{
	int lk, rc = -1;

	if (need_built(d, "rename it") == -1)
		return -1;
	if (name_check(newname) == -1)
		return -1;
	if ((lk = root_lock(d)) == -1)
		return -1;
	if (renameat2(d->rootfd, d->dir, d->rootfd, newname,
	    RENAME_NOREPLACE) == -1) {
		if (errno == EEXIST) {
			errno = 0;
			xp_seterr(XE_STATE, "cannot rename domain %s to %s: "
			    "a domain has that name", d->name, newname);
		} else
			xp_seterr(XE_SYS, "cannot rename domain %s to %s",
			    d->name, newname);
		goto out;
	}
	snprintf(d->dir, sizeof(d->dir), "%s", newname);
	snprintf(d->name, sizeof(d->name), "%s", newname);
	rc = 0;
out:
	close(lk);
	return rc;
}

static void
sim_close(struct dom *d)
{
	dom_free(d);
}

static int
sim_destroy(struct dom *d)
{
	char dead[DIR_MAX];
	const char *victim = d->dir;
	int32_t pid;

	if (!d->building) {
		st32(&d->ctl->state, SIM_DEAD);
		/* The guest sees DEAD within a tick; a wedged one is killed. */
		if (wait_exit(d, 200) == -1) {
			pid = __atomic_load_n(&d->ctl->pid, __ATOMIC_RELAXED);
			if (pid > 1 && guest_alive(d))
				kill(pid, SIGKILL);
			wait_exit(d, 2000);
		}
		/* Free the name at once; the sweep finishes a half-removal. */
		snprintf(dead, sizeof(dead), ".destroy-%d-%u", (int)getpid(),
		    build_seq++);
		if (renameat(d->rootfd, d->dir, d->rootfd, dead) == 0)
			victim = dead;
	}
	if (rm_dir(d->rootfd, victim) == -1 && errno != ENOENT) {
		xp_seterr(XE_SYS, "domain %s: cannot remove %s/%s",
		    d->name[0] ? d->name : d->dir, d->root, victim);
		dom_free(d);
		return -1;
	}
	dom_free(d);
	return 0;
}

const struct backend sim_backend = {
	.name = "sim",
	.list = sim_list,
	.open = sim_open,
	.info = sim_info,
	.config_json = sim_config_json,
	.read_pages = sim_read_pages,
	.logdirty = sim_logdirty,
	.pause = sim_pause,
	.unpause = sim_unpause,
	.suspend = sim_suspend,
	.resume = sim_resume,
	.throttle = sim_throttle,
	.write_static = sim_write_static,
	.write_start = sim_write_start,
	.write_context = sim_write_context,
	.create = sim_create_dom,
	.receive = sim_receive,
	.pages_in_input = 0,
	.finish = sim_finish,
	.start = sim_start,
	.rename = sim_rename,
	.host = sim_host,
	.destroy = sim_destroy,
	.close = sim_close,
};

/* ---------------- for bin/simdom ---------------- */

int
sim_create(const char *name, const struct sim_params *p,
    struct dom_info *info)
{
	struct dom_config cfg;
	struct dom *d = NULL;
	uint64_t data;
	uint8_t *mem;

	if (name_check(name) == -1)
		return -1;
	errno = 0;
	if (p->nr_pages < SIM_PAGES_MIN || p->nr_pages > DOM_PAGES_MAX ||
	    p->zero_pct > 100 || p->rate > SIM_RATE_MAX ||
	    p->workload >= SIM_WL_N) {
		xp_seterr(XE_USAGE, "domain %s: memory, rate, zero share or "
		    "workload out of range", name);
		return -1;
	}
	data = p->nr_pages - SIM_TAB_PAGES(p->nr_pages);
	memset(&cfg, 0, sizeof(cfg));
	snprintf(cfg.name, sizeof(cfg.name), "%s", name);
	cfg.dom_type = DHDR_TYPE_X86_HVM;
	cfg.nr_pages = p->nr_pages;
	cfg.nr_vcpus = 1;
	cfg.simulated = 1;
	if (sim_create_dom(&cfg, &d) == -1)
		return -1;
	if (dom_exists(d, name)) {
		errno = 0;
		xp_seterr(XE_STATE, "domain %s exists", name);
		goto err;
	}
	memcpy(d->ctx.magic, SIM_CTX_MAGIC, sizeof(d->ctx.magic));
	d->ctx.version = SIM_CTX_VERSION;
	d->ctx.zero_pct = p->zero_pct;
	d->ctx.nr_pages = p->nr_pages;
	d->ctx.rate = p->rate;
	d->ctx.workload = p->workload;
	d->ctx.wss = p->wss == 0 || p->wss > data ? data : p->wss;
	d->ctx.rng = ((uint64_t)time(NULL) << 20 ^ (uint64_t)getpid()) | 1;
	mem = mmap(NULL, p->nr_pages * PAGE, PROT_READ | PROT_WRITE,
	    MAP_SHARED, d->memfd, 0);
	if (mem == MAP_FAILED) {
		xp_seterr(XE_SYS, "domain %s: cannot map its memory", name);
		goto err;
	}
	sim_populate(mem, &d->ctx);
	munmap(mem, p->nr_pages * PAGE);
	d->have_ctx = 1;
	d->fresh = 1;
	d->refuse_suspend = p->refuse_suspend != 0;
	if (dom_start(d, name, info, 0) == -1)
		goto err;
	dom_free(d);
	return 0;
err:
	sim_destroy(d);
	return -1;
}

int
sim_status(struct dom *d, struct sim_status *st)
{
	uint32_t v;

	memset(st, 0, sizeof(*st));
	if (sim_info(d, &st->info) == -1 || need_built(d, "report it") == -1)
		return -1;
	v = ld32(&d->ctl->state);
	st->state = v < SIM_NSTATES ? v : SIM_DEAD;
	v = ld32(&d->ctl->request);
	st->request = v <= SIM_REQ_SUSPEND ? v : SIM_REQ_NONE;
	st->guest_alive = guest_alive(d);
	st->pid = st->guest_alive ? d->ctl->pid : 0;
	st->refuse_suspend = d->ctl->refuse_suspend != 0;
	st->cap_pct = d->ctl->cap_pct;
	st->logdirty = __atomic_load_n(&d->ctl->logdirty, __ATOMIC_RELAXED) != 0;
	v = ld32(&d->ctl->check);
	st->check = v <= SIM_CHECK_BAD ? v : SIM_CHECK_NONE;
	st->check_pfn = d->ctl->check_pfn;
	st->downtime_ns = d->ctl->downtime_ns;
	memcpy(&st->ctx, &d->ctl->ctx, sizeof(st->ctx));
	return 0;
}

int
sim_check(struct dom *d, int64_t *bad)
{
	struct sim_ctx ctx;
	const char *why;
	int paused = 0;
	uint32_t st;

	if (need_built(d, "check it") == -1)
		return -1;
	st = ld32(&d->ctl->state);
	if (st == SIM_RUNNING) {
		if (sim_pause(d) == -1)
			return -1;
		paused = 1;
	} else if (st != SIM_PAUSED && st != SIM_SUSPENDED)
		return bad_state(d, "check it");
	memcpy(&ctx, &d->ctl->ctx, sizeof(ctx));
	if (sim_ctx_valid(&ctx, d->nr_pages, &why) == -1) {
		errno = 0;
		xp_seterr(XE_STATE, "domain %s: its context is invalid: %s",
		    d->name, why);
		goto err;
	}
	*bad = sim_check_mem(d->mem, &ctx);
	d->ctl->check_pfn = *bad < 0 ? 0 : (uint64_t)*bad;
	st32(&d->ctl->check, *bad < 0 ? SIM_CHECK_OK : SIM_CHECK_BAD);
	if (paused && sim_unpause(d) == -1)
		return -1;
	return 0;
err:
	if (paused)
		sim_unpause(d);
	return -1;
}

/*
 * A rate or workload is the guest's to take (within a tick, paused too);
 * a suspended domain has no guest, so its saved context changes instead.
 */
static int
set_want(struct dom *d, enum sim_knob knob, uint64_t val)
{
	struct sim_ctx *c = &d->ctl->ctx;

	errno = 0;
	if (knob == SIM_KNOB_RATE) {
		if (val > SIM_RATE_MAX) {
			xp_seterr(XE_USAGE, "domain %s: rate must be 0 to %llu "
			    "pages/s", d->name,
			    (unsigned long long)SIM_RATE_MAX);
			return -1;
		}
		__atomic_store_n(&d->ctl->want_rate, val, __ATOMIC_RELEASE);
		if (ld32(&d->ctl->state) == SIM_SUSPENDED)
			__atomic_store_n(&c->rate, val, __ATOMIC_RELAXED);
		return 0;
	}
	if (val >= SIM_WL_N) {
		xp_seterr(XE_USAGE, "domain %s: unknown workload %llu", d->name,
		    (unsigned long long)val);
		return -1;
	}
	st32(&d->ctl->want_workload, val);
	if (ld32(&d->ctl->state) == SIM_SUSPENDED)
		st32(&c->workload, val);
	return 0;
}

int
sim_set(struct dom *d, enum sim_knob knob, uint64_t val)
{
	if (need_built(d, "change it") == -1)
		return -1;
	switch (knob) {
	case SIM_KNOB_REFUSE_SUSPEND:
		st32(&d->ctl->refuse_suspend, val != 0);
		return 0;
	case SIM_KNOB_THROTTLE:
		if (val < 1 || val > 100) {
			errno = 0;
			xp_seterr(XE_USAGE, "domain %s: throttle must be 1 to "
			    "100 (percent)", d->name);
			return -1;
		}
		st32(&d->ctl->cap_pct, val);
		return 0;
	case SIM_KNOB_RATE:
	case SIM_KNOB_WORKLOAD:
		return set_want(d, knob, val);
	}
	return -1;
}
