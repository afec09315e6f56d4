/*
 * sim_guest.c - the simulated guest: page contents, the integrity check,
 * and the guest process itself (started by sim.c through
 * sim_guest_spawn).  See sim.h for the domain directory layout.
 *
 * Memory: pfns 0 .. SIM_TAB_PAGES-1 hold the version table (uint32_t LE
 * per pfn); a data page of version v holds page_fill(pfn, v).  Version 0
 * is an all-zero page, the state of memory no one wrote.
 */
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "fault.h"
#include "sim.h"
#include "stream_format.h"

#define PAGE		4096u
#define PAGE_WORDS	(PAGE / 8)
#define HALF_WORDS	(PAGE_WORDS / 2)
#define WATCH_TICKS	100	/* look for a removed domain every ~100 ms */
#define TICK_NS		1000000L
#define VER_MOD		0xffffffffULL	/* 1, 2, .. 2^32-1, 1, ..: mod 2^32-1 */

struct guest {
	int dirfd, ctlfd, memfd, lockfd, pfd;
	struct sim_ctl *ctl;
	size_t ctl_len;
	uint8_t *mem;
	uint64_t nr_pages, ntab;
	struct sim_ctx ctx;	/* private; the control block gets copies */
};

static uint64_t
mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static uint64_t
xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static uint64_t
page_seed(uint64_t pfn, uint32_t ver)
{
	return mix64(pfn << 32 | ver);
}

static int
page_is_zero(uint64_t seed, uint32_t ver, uint32_t zero_pct)
{
	return ver == 0 || seed % 100 < zero_pct;
}

/*
 * The noise half of a page: NOISE_LANES xorshift64 streams, interleaved
 * word by word.  The streams are independent, so the CPU runs them side
 * by side: twice as fast as one stream, which a busy guest needs.
 */
#define NOISE_LANES	8
static void
page_noise(uint64_t seed, uint64_t *w)
{
	uint64_t s[NOISE_LANES], x;
	unsigned int i, k;

	for (k = 0; k < NOISE_LANES; k++)
		s[k] = mix64(seed + k) | 1;
	for (i = 0; i < HALF_WORDS; i += NOISE_LANES)
		for (k = 0; k < NOISE_LANES; k++) {
			x = s[k];
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			s[k] = x;
			w[i + k] = htole64(x);
		}
}
_Static_assert(HALF_WORDS % NOISE_LANES == 0, "noise lanes");

/* Half noise, half one repeated word: compresses to about half. */
static void
page_fill(uint8_t *page, uint64_t pfn, uint32_t ver, uint32_t zero_pct)
{
	uint64_t *w = (uint64_t *)page;
	uint64_t seed = page_seed(pfn, ver), pat;
	unsigned int i;

	if (page_is_zero(seed, ver, zero_pct)) {
		memset(page, 0, PAGE);
		return;
	}
	page_noise(seed, w);
	pat = htole64(seed ^ 0xa5a5a5a5a5a5a5a5ULL);
	for (i = HALF_WORDS; i < PAGE_WORDS; i++)
		w[i] = pat;
}

static int
page_ok(const uint8_t *page, uint64_t pfn, uint32_t ver, uint32_t zero_pct)
{
	const uint64_t *w = (const uint64_t *)page;
	uint64_t seed = page_seed(pfn, ver), pat, noise[HALF_WORDS];
	unsigned int i;

	if (page_is_zero(seed, ver, zero_pct)) {
		for (i = 0; i < PAGE_WORDS; i++)
			if (w[i] != 0)
				return 0;
		return 1;
	}
	page_noise(seed, noise);
	if (memcmp(w, noise, sizeof(noise)) != 0)
		return 0;
	pat = htole64(seed ^ 0xa5a5a5a5a5a5a5a5ULL);
	for (i = HALF_WORDS; i < PAGE_WORDS; i++)
		if (w[i] != pat)
			return 0;
	return 1;
}

/* Every recent write names a data page and a version not above written. */
static int
recent_valid(const struct sim_ctx *ctx)
{
	uint64_t pfn, ver;
	unsigned int i;

	for (i = 0; i < SIM_RECENT; i++) {
		if (ctx->recent[i] == 0)
			continue;
		pfn = ctx->recent[i] & 0xffffffffu;
		ver = ctx->recent[i] >> 32;
		if (pfn < SIM_TAB_PAGES(ctx->nr_pages) ||
		    pfn >= ctx->nr_pages || ver == 0 || ver > ctx->written)
			return 0;
	}
	return 1;
}

int
sim_ctx_valid(const struct sim_ctx *ctx, uint64_t nr_pages, const char **why)
{
	uint64_t n = ctx->nr_pages;

	*why = NULL;
	if (memcmp(ctx->magic, SIM_CTX_MAGIC, sizeof(ctx->magic)) != 0)
		*why = "bad magic";
	else if (ctx->version != SIM_CTX_VERSION)
		*why = "unknown version";
	else if (n < SIM_PAGES_MIN || n > DOM_PAGES_MAX)
		*why = "nr_pages out of range";
	else if (nr_pages != 0 && n != nr_pages)
		*why = "nr_pages differs from the domain's";
	else if (ctx->zero_pct > 100)
		*why = "zero share over 100%";
	else if (ctx->rate > SIM_RATE_MAX)
		*why = "dirty rate out of range";
	else if (ctx->wss == 0 || ctx->wss > n - SIM_TAB_PAGES(n))
		*why = "working set out of range";
	else if (ctx->rng == 0)
		*why = "RNG state is zero";
	else if (ctx->workload >= SIM_WL_N)
		*why = "unknown workload";
	else if (ctx->_res != 0)
		*why = "reserved field is not zero";
	else if (ctx->sweep_pos >= ctx->wss)
		*why = "sweep position beyond the working set";
	else if (!recent_valid(ctx))
		*why = "recent writes out of range";
	return *why == NULL ? 0 : -1;
}

void
sim_populate(uint8_t *mem, struct sim_ctx *ctx)
{
	uint32_t *tab = (uint32_t *)mem;
	uint64_t ntab = SIM_TAB_PAGES(ctx->nr_pages), pfn;

	/* The memory is a fresh sparse file: zero pages need no write. */
	for (pfn = ntab; pfn < ntab + ctx->wss; pfn++) {
		tab[pfn] = htole32(1);
		if (!page_is_zero(page_seed(pfn, 1), 1, ctx->zero_pct))
			page_fill(mem + pfn * PAGE, pfn, 1, ctx->zero_pct);
	}
	ctx->written = ctx->wss;
}

int64_t
sim_check_mem(const uint8_t *mem, const struct sim_ctx *ctx)
{
	const uint32_t *tab = (const uint32_t *)mem;
	uint64_t n = ctx->nr_pages, ntab = SIM_TAB_PAGES(n), pfn, sum = 0;
	int64_t stale = -1;
	unsigned int i;
	uint32_t ver;

	/* Entries of the table's own pages and past nr_pages stay 0. */
	for (pfn = 0; pfn < ntab; pfn++)
		if (tab[pfn] != 0)
			return 0;
	for (pfn = n; pfn < ntab * (PAGE / 4); pfn++)
		if (tab[pfn] != 0)
			return ntab - 1;
	for (pfn = ntab; pfn < n; pfn++) {
		ver = le32toh(tab[pfn]);
		if (ver > ctx->written ||
		    !page_ok(mem + pfn * PAGE, pfn, ver, ctx->zero_pct))
			return pfn;
		sum += ver;
	}
	/*
	 * Pages that all match a table that is merely old (dirty pages lost
	 * with their table page): the guest's recent writes are newer than
	 * memory, which names the lowest such page...
	 */
	for (i = 0; i < SIM_RECENT; i++) {
		pfn = ctx->recent[i] & 0xffffffffu;
		ver = ctx->recent[i] >> 32;
		if (ctx->recent[i] != 0 && le32toh(tab[pfn]) < ver &&
		    (stale < 0 || (int64_t)pfn < stale))
			stale = pfn;
	}
	if (stale >= 0)
		return stale;
	/*
	 * ...and every write adds 1 to one version, modulo VER_MOD as
	 * versions skip 0 when they wrap, which catches older losses.
	 */
	if (sum % VER_MOD != ctx->written % VER_MOD)
		return 0;
	return -1;
}

/* ---------------- the guest process ---------------- */

static uint64_t
now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static void
tick_sleep(void)
{
	struct timespec ts = { 0, TICK_NS };

	nanosleep(&ts, NULL);
}

static void
glog(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "guest %d: ", (int)getpid());
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
	va_end(ap);
	dprintf(2, "%s\n", buf);
}

/* Tell the toolstack why we could not start, then go. */
static __attribute__((noreturn)) void
gfail(struct guest *g, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	buf[0] = 'F';
	va_start(ap, fmt);
	vsnprintf(buf + 1, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	glog("%s", buf + 1);
	if (write(g->pfd, buf, strlen(buf)) == -1)
		glog("toolstack gone");
	_exit(1);
}

static void
ganswer(struct guest *g, char c)
{
	if (g->pfd != -1 && write(g->pfd, &c, 1) == -1)
		glog("toolstack gone");
}

/* Only the first guest of a domain gets the lock; a toolstack probe holds it briefly. */
static int
glock(struct guest *g)
{
	int i;

	g->lockfd = openat(g->dirfd, "lock", O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (g->lockfd == -1)
		return -1;
	for (i = 0; i < 2000; i++) {
		if (flock(g->lockfd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK)
			return -1;
		tick_sleep();
	}
	errno = EBUSY;
	return -1;
}

static void
gopen(struct guest *g, const char *path)
{
	struct sim_ctl h;
	struct stat st;
	const char *why;
	uint64_t n;

	if ((g->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		gfail(g, "cannot open %s: %s", path, strerror(errno));
	if (glock(g) == -1)
		gfail(g, "cannot lock the domain (another guest?): %s",
		    strerror(errno));
	g->ctlfd = openat(g->dirfd, "ctl", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (g->ctlfd == -1 || fstat(g->ctlfd, &st) == -1 ||
	    pread(g->ctlfd, &h, sizeof(h), 0) != (ssize_t)sizeof(h))
		gfail(g, "cannot read the control block");
	n = h.nr_pages;
	if (memcmp(h.magic, SIM_CTL_MAGIC, sizeof(h.magic)) != 0 ||
	    h.version != SIM_CTL_VERSION || n < SIM_PAGES_MIN ||
	    n > DOM_PAGES_MAX)
		gfail(g, "control block is corrupt");
	g->nr_pages = n;
	g->ntab = SIM_TAB_PAGES(n);
	g->ctl_len = sizeof(h) + SIM_BITMAP_WORDS(n) * 8;
	if ((uint64_t)st.st_size != g->ctl_len)
		gfail(g, "control block has the wrong size");
	g->ctl = mmap(NULL, g->ctl_len, PROT_READ | PROT_WRITE, MAP_SHARED,
	    g->ctlfd, 0);
	if (g->ctl == MAP_FAILED)
		gfail(g, "cannot map the control block: %s", strerror(errno));
	g->memfd = openat(g->dirfd, "mem", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
	if (g->memfd == -1 || fstat(g->memfd, &st) == -1 ||
	    (uint64_t)st.st_size != n * PAGE)
		gfail(g, "memory file missing or of the wrong size");
	g->mem = mmap(NULL, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED,
	    g->memfd, 0);
	if (g->mem == MAP_FAILED)
		gfail(g, "cannot map memory: %s", strerror(errno));
	memcpy(&g->ctx, &g->ctl->ctx, sizeof(g->ctx));
	if (sim_ctx_valid(&g->ctx, n, &why) == -1)
		gfail(g, "context is invalid: %s", why);
}

/* The domain directory or control block was removed, or we are destroyed. */
static int
ggone(struct guest *g, unsigned long tick)
{
	struct stat st;

	if (__atomic_load_n(&g->ctl->state, __ATOMIC_ACQUIRE) == SIM_DEAD)
		return 1;
	if (tick % WATCH_TICKS != 0)
		return 0;
	if (fstat(g->dirfd, &st) == -1 || st.st_nlink == 0)
		return 1;
	if (fstat(g->ctlfd, &st) == -1 || st.st_nlink == 0)
		return 1;
	return 0;
}

static void
gpublish_counters(struct guest *g)
{
	struct sim_ctx *c = &g->ctl->ctx;

	__atomic_store_n(&c->ticks, g->ctx.ticks, __ATOMIC_RELAXED);
	__atomic_store_n(&c->written, g->ctx.written, __ATOMIC_RELAXED);
	__atomic_store_n(&c->rng, g->ctx.rng, __ATOMIC_RELAXED);
	__atomic_store_n(&c->sweep_pos, g->ctx.sweep_pos, __ATOMIC_RELAXED);
}

/*
 * Take the toolstack's rate and workload (simdom set) when they differ
 * from ours; out-of-range values are ignored.
 */
static void
gknobs(struct guest *g)
{
	uint64_t rate = __atomic_load_n(&g->ctl->want_rate, __ATOMIC_RELAXED);
	uint32_t wl = __atomic_load_n(&g->ctl->want_workload, __ATOMIC_RELAXED);

	if (rate <= SIM_RATE_MAX && rate != g->ctx.rate) {
		g->ctx.rate = rate;
		__atomic_store_n(&g->ctl->ctx.rate, rate, __ATOMIC_RELAXED);
	}
	if (wl < SIM_WL_N && wl != g->ctx.workload) {
		g->ctx.workload = wl;
		__atomic_store_n(&g->ctl->ctx.workload, wl, __ATOMIC_RELAXED);
	}
}

static int
gset_state(struct guest *g, uint32_t from, uint32_t to)
{
	return __atomic_compare_exchange_n(&g->ctl->state, &from, to, 0,
	    __ATOMIC_RELEASE, __ATOMIC_RELAXED) ? 0 : -1;
}

static void
gmark(struct guest *g, uint64_t pfn)
{
	__atomic_fetch_or(&g->ctl->bitmap[pfn / 64], 1ULL << (pfn % 64),
	    __ATOMIC_SEQ_CST);
}

/* The next page to write, 0 .. wss-1 in the working set. */
static uint64_t
gpick(struct guest *g)
{
	uint64_t wss = g->ctx.wss, hot = SIM_HOT_PAGES(wss), i;

	switch (g->ctx.workload) {
	case SIM_WL_HOT:
		if (hot == wss || xorshift(&g->ctx.rng) % 100 < SIM_HOT_PCT)
			return xorshift(&g->ctx.rng) % hot;
		return hot + xorshift(&g->ctx.rng) % (wss - hot);
	case SIM_WL_SWEEP:
		i = g->ctx.sweep_pos;
		g->ctx.sweep_pos = i + 1 < wss ? i + 1 : 0;
		return i;
	default:
		return xorshift(&g->ctx.rng) % wss;
	}
}

/* One page write: bump its version, write it, then mark both dirty. */
static void
gwrite_page(struct guest *g)
{
	uint32_t *tab = (uint32_t *)g->mem;
	uint64_t pfn = g->ntab + gpick(g);
	uint32_t ver = le32toh(tab[pfn]) + 1;

	if (ver == 0)
		ver = 1;
	__atomic_store_n(&tab[pfn], htole32(ver), __ATOMIC_RELAXED);
	page_fill(g->mem + pfn * PAGE, pfn, ver, g->ctx.zero_pct);
	g->ctx.recent[g->ctx.written % SIM_RECENT] = (uint64_t)ver << 32 | pfn;
	g->ctx.written++;
	if (__atomic_load_n(&g->ctl->logdirty, __ATOMIC_SEQ_CST)) {
		gmark(g, pfn);
		gmark(g, pfn * 4 / PAGE);
	}
}

static int
grefuses(struct guest *g)
{
	return __atomic_load_n(&g->ctl->refuse_suspend, __ATOMIC_RELAXED) != 0;
}

/*
 * Take a suspend request, in one step against the toolstack's withdrawal
 * of it (sim.c): 0 taken, -1 withdrawn meanwhile.  A Xen guest takes one
 * by clearing control/shutdown in a transaction.
 */
static int
gtake(struct guest *g)
{
	uint32_t req = SIM_REQ_SUSPEND;

	return __atomic_compare_exchange_n(&g->ctl->request, &req,
	    SIM_REQ_NONE, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) ? 0 : -1;
}

/* Save the context for whoever resumes or sends us, and end. */
static __attribute__((noreturn)) void
gsuspend(struct guest *g, uint32_t from)
{
	if (from == SIM_RUNNING)
		g->ctx.stopped_ns = now_ns(CLOCK_REALTIME);
	memcpy(&g->ctl->ctx, &g->ctx, sizeof(g->ctx));
	__atomic_store_n(&g->ctl->pid, 0, __ATOMIC_RELAXED);
	if (gset_state(g, from, SIM_SUSPENDED) == 0)
		glog("suspended after %" PRIu64 " page writes", g->ctx.written);
	_exit(0);
}

static void
gpause(struct guest *g)
{
	unsigned long tick;
	uint32_t req;

	g->ctx.stopped_ns = now_ns(CLOCK_REALTIME);
	memcpy(&g->ctl->ctx, &g->ctx, sizeof(g->ctx));
	if (gset_state(g, SIM_RUNNING, SIM_PAUSED) == -1)
		_exit(0);
	for (tick = 1;; tick++) {
		tick_sleep();
		if (ggone(g, tick))
			_exit(0);
		gknobs(g);
		req = __atomic_load_n(&g->ctl->request, __ATOMIC_ACQUIRE);
		if (req == SIM_REQ_SUSPEND && !grefuses(g) && gtake(g) == 0)
			gsuspend(g, SIM_PAUSED);
		if (req == SIM_REQ_NONE) {
			if (gset_state(g, SIM_PAUSED, SIM_RUNNING) == -1)
				_exit(0);
			return;
		}
	}
}

/* The write rate now: the throttle caps it, an idle guest has none. */
static uint64_t
grate(struct guest *g, uint32_t *cap)
{
	*cap = __atomic_load_n(&g->ctl->cap_pct, __ATOMIC_RELAXED);
	if (*cap == 0 || *cap > 100)
		*cap = 100;
	if (g->ctx.workload == SIM_WL_IDLE)
		return 0;
	return g->ctx.rate * *cap / 100;
}

/*
 * A running guest and a suspend request: take it and suspend.  Two faults
 * (XENPIPE_FAULT in the guest's environment, that of whoever started it)
 * make it late by 1.5 times XENPIPE_SIM_TIMEOUT_MS, for the tests of the
 * toolstack's timeouts: guest-ack-late gets to the request only then (and
 * finds it withdrawn, or takes it then); guest-suspend-late takes it at
 * once and suspends only then.  *late is when, 0 when nothing is pending.
 */
static void
gsuspend_asked(struct guest *g, uint32_t req, uint64_t *late)
{
	uint64_t now = now_ns(CLOCK_MONOTONIC);
	int ack_late = fault_on("guest-ack-late");
	int suspend_late = fault_on("guest-suspend-late");

	if (*late != 0) {
		if (now < *late)
			return;
		*late = 0;
		if (suspend_late)
			gsuspend(g, SIM_RUNNING);
		if (req == SIM_REQ_SUSPEND && gtake(g) == 0)
			gsuspend(g, SIM_RUNNING);
		glog("the suspend request was withdrawn before we got to it");
		return;
	}
	if (req != SIM_REQ_SUSPEND || grefuses(g))
		return;
	if (!ack_late && !suspend_late) {
		if (gtake(g) == 0)
			gsuspend(g, SIM_RUNNING);
		return;
	}
	if (suspend_late && gtake(g) == -1)
		return;
	*late = now + (uint64_t)sim_timeout_ms() * 1500000ULL;
	glog("fault: %s", suspend_late ? "took the suspend request, will "
	    "suspend late" : "will get to the suspend request late");
}

/* A request to stop that we obey ends a burst of writes. */
static int
gstop_asked(struct guest *g)
{
	uint32_t req = __atomic_load_n(&g->ctl->request, __ATOMIC_ACQUIRE);

	return req == SIM_REQ_PAUSE || (req == SIM_REQ_SUSPEND && !grefuses(g));
}

/*
 * Each ~1 ms tick earns rate * elapsed time of page writes, spent at once.
 * The throttle and the knobs are read every tick, and the throttle every
 * 256 writes of a long burst too, so a cap bites within a millisecond or so.
 */
static __attribute__((noreturn)) void
grun(struct guest *g)
{
	uint64_t last = now_ns(CLOCK_MONOTONIC), now, dt, eff, credit = 0, n;
	unsigned long tick;
	uint64_t late = 0;
	uint32_t req, cap, cap2;

	for (tick = 1;; tick++) {
		if (ggone(g, tick))
			_exit(0);
		req = __atomic_load_n(&g->ctl->request, __ATOMIC_ACQUIRE);
		if (req == SIM_REQ_PAUSE) {
			gpause(g);
			last = now_ns(CLOCK_MONOTONIC);
			continue;
		}
		gsuspend_asked(g, req, &late);
		gknobs(g);
		now = now_ns(CLOCK_MONOTONIC);
		/* A stall (stopped, swapped) must not turn into a burst. */
		dt = now - last < 10 * TICK_NS ? now - last : 10 * TICK_NS;
		last = now;
		eff = grate(g, &cap);
		credit = eff == 0 ? 0 : credit + eff * dt;
		for (n = credit / 1000000000ULL; n > 0; n--) {
			if (gstop_asked(g))
				break;
			if (n % 256 == 0) {
				grate(g, &cap2);
				if (cap2 != cap)
					break;
			}
			gwrite_page(g);
			credit -= 1000000000ULL;
		}
		if (n > 0)
			credit = 0;
		g->ctx.ticks++;
		gpublish_counters(g);
		tick_sleep();
	}
}

/* Only fds 0-2 (null, log, log) and the start pipe survive. */
static int
gfds(const char *path, int pfd)
{
	char log[PATH_MAX];
	int fd;

	if (dup2(pfd, 3) == -1)
		return -1;
	close_range(4, ~0U, 0);
	if ((fd = open("/dev/null", O_RDWR)) != -1 && fd != 0) {
		dup2(fd, 0);
		close(fd);
	}
	snprintf(log, sizeof(log), "%s/log", path);
	if ((fd = open(log, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW,
	    0600)) == -1)
		fd = open("/dev/null", O_WRONLY);
	if (fd != -1) {
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return 3;
}

static void
gsignals(void)
{
	sigset_t all;
	int sigs[] = { SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGCHLD };
	unsigned int i;

	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	/* A toolstack that died before reading our answer must not kill us. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

static __attribute__((noreturn)) void
guest_main(const char *path, int check_first, int pfd)
{
	struct guest g = { .dirfd = -1, .ctlfd = -1, .memfd = -1,
	    .lockfd = -1, .pfd = -1 };
	uint64_t now;
	int64_t bad = -1;

	/* ps and top show a guest as such, not as the program that forked it */
	prctl(PR_SET_NAME, "sim-guest", 0, 0, 0);
	gsignals();
	if ((g.pfd = gfds(path, pfd)) == -1)
		_exit(1);
	gopen(&g, path);
	/*
	 * The guest runs again from here.  The full check that follows is the
	 * oracle's work, not the guest's (a real guest does not read all of
	 * its memory on resume), so the downtime it reports ends now.
	 */
	now = now_ns(CLOCK_REALTIME);
	if (check_first) {
		if (gset_state(&g, SIM_STARTING, SIM_CHECKING) == -1)
			gfail(&g, "domain is not starting");
		ganswer(&g, 'C');
		bad = sim_check_mem(g.mem, &g.ctx);
		__atomic_store_n(&g.ctl->check_pfn, bad < 0 ? 0 : bad,
		    __ATOMIC_RELAXED);
		__atomic_store_n(&g.ctl->check,
		    bad < 0 ? SIM_CHECK_OK : SIM_CHECK_BAD, __ATOMIC_RELEASE);
	}
	g.ctl->downtime_ns = g.ctx.stopped_ns != 0 && now > g.ctx.stopped_ns ?
	    now - g.ctx.stopped_ns : 0;
	g.ctl->started_ns = now;
	g.ctx.boots++;
	memcpy(&g.ctl->ctx, &g.ctx, sizeof(g.ctx));
	__atomic_store_n(&g.ctl->pid, (int32_t)getpid(), __ATOMIC_RELAXED);
	if (gset_state(&g, check_first ? SIM_CHECKING : SIM_STARTING,
	    SIM_RUNNING) == -1)
		gfail(&g, "domain is not starting");
	glog("running: boot %" PRIu64 ", %" PRIu64 " pages, downtime %" PRIu64
	    " ms, check %s", g.ctx.boots, g.nr_pages,
	    g.ctl->downtime_ns / 1000000,
	    !check_first ? "skipped" : bad < 0 ? "ok" : "FAILED");
	if (bad >= 0)
		glog("memory corrupt at pfn 0x%" PRIx64, (uint64_t)bad);
	ganswer(&g, 'R');
	close(g.pfd);
	g.pfd = -1;
	grun(&g);
}

/* The guest's answers: 'C' checking, 'R' running, 'F' + why failed. */
static int
spawn_wait(int fd, const char *name)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char buf[257];
	int checking = 0, r;
	ssize_t n, i;

	for (;;) {
		r = poll(&pfd, 1, checking ? -1 : sim_timeout_ms());
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			xp_seterr(XE_SYS, "domain %s: waiting for its guest",
			    name);
			return -1;
		}
		if (r == 0) {
			xp_seterr(XE_STATE, "domain %s: guest did not start "
			    "within %d ms", name, sim_timeout_ms());
			return -1;
		}
		n = read(fd, buf, sizeof(buf) - 1);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			xp_seterr(XE_STATE, "domain %s: guest process exited "
			    "while starting (see its log)", name);
			return -1;
		}
		for (i = 0; i < n; i++) {
			if (buf[i] == 'R')
				return 0;
			if (buf[i] == 'C')
				checking = 1;
			if (buf[i] == 'F') {
				buf[n] = '\0';
				xp_seterr(XE_STATE, "domain %s: guest failed "
				    "to start: %s", name, buf + i + 1);
				return -1;
			}
		}
	}
}

int
sim_guest_spawn(const char *path, const char *name, int check_first)
{
	pid_t pid, pid2;
	int p[2], status, rc;

	if (pipe2(p, O_CLOEXEC) == -1) {
		xp_seterr(XE_SYS, "domain %s: pipe", name);
		return -1;
	}
	if ((pid = fork()) == -1) {
		xp_seterr(XE_SYS, "domain %s: fork", name);
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		/* Detach twice: no zombie for the caller, no terminal. */
		close(p[0]);
		if (setsid() == -1 || (pid2 = fork()) == -1)
			_exit(1);
		if (pid2 != 0)
			_exit(0);
		guest_main(path, check_first, p[1]);
	}
	close(p[1]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	rc = spawn_wait(p[0], name);
	close(p[0]);
	return rc;
}
