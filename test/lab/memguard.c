/*
 * memguard - the lab guest's integrity oracle.
 *
 * Owns a region of memory, keeps rewriting random pages of it at a steady
 * rate with contents derived from (page, version), keeps the version of
 * every page in a table, and keeps checking the region against the table.
 * Every tick it measures the time since the previous tick: the longest gap
 * is the pause the guest saw (save, restore, the stop-and-copy of a
 * migration).  Its figures go to xenstore under the guest's own
 * data/memguard/ (relative paths), written through /dev/xen/xenbus, so the
 * guest needs no Xen library:
 *
 *	boot_id		/proc/sys/kernel/random/boot_id
 *	status		ok | CORRUPT
 *	ticks writes checks passes pages
 *	max_pause_ms last_pause_ms pauses (gaps over the threshold)
 *	recent_pauses	the last RECENT of those gaps in ms, oldest first:
 *			the pause of one operation is the largest of the
 *			ones that "pauses" grew by while it ran
 *	bad		pages found wrong; first_bad describes the first one
 *
 * A page holds in word 0 (page << 32 | version) and in every other word
 * mix(page, version) ^ (i * K), so a page that came back stale (a dirty
 * page lost by a migration) shows its old version in first_bad.
 *
 * Static, for the guest's busybox initramfs:
 *	gcc -static -O2 -o memguard memguard.c
 * memguard -w path value [path value ...] only writes xenstore keys (the
 * guest's xenstore-write).
 */
#include <sys/mman.h>

#include <poll.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE_SIZE	4096
#define PAGE_WORDS	(PAGE_SIZE / 8)
#define XENBUS_DEV	"/dev/xen/xenbus"
#define XS_WRITE	11
#define XS_ERROR	16
#define XS_PAYLOAD_MAX	4096
#define XS_TIMEOUT_MS	5000	/* a reply lost across a migration */
#define K_WORD		0x9e3779b97f4a7c15ULL
#define RECENT		16

struct xsd_sockmsg {
	uint32_t type;
	uint32_t req_id;
	uint32_t tx_id;
	uint32_t len;
};

struct guard {
	uint64_t *mem;
	uint32_t *ver;
	uint64_t npages;
	uint64_t ticks, writes, checks, passes, bad, pauses;
	uint64_t max_pause_ms, last_pause_ms;
	uint64_t recent[RECENT];		/* ring, by pauses % RECENT */
	uint64_t check_pos;
	uint64_t rng;
	char first_bad[160];
	char boot_id[64];
	const char *prefix;
};

static int xsfd = -1;
static char xserr[64];		/* why the last xs_write failed */

static __attribute__((noreturn)) void
usage(void)
{
	fprintf(stderr, "usage: memguard [-m MiB] [-r writes/s] [-c checks/s] "
	    "[-t tick_ms] [-i publish_ms] [-P pause_ms] [-p prefix]\n"
	    "       memguard -w path value [path value ...]\n");
	exit(100);
}

static uint64_t
mix(uint64_t x)
{
	x += K_WORD;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

static int
xfer(int fd, void *buf, size_t len, int wr)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char *p = buf;
	ssize_t r;

	while (len > 0) {
		if (!wr && (r = poll(&pfd, 1, XS_TIMEOUT_MS)) != 1) {
			if (r == 0)
				errno = ETIMEDOUT;
			return -1;
		}
		r = wr ? write(fd, p, len) : read(fd, p, len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r == 0)
			errno = EPIPE;
		if (r <= 0)
			return -1;
		p += r;
		len -= r;
	}
	return 0;
}

static void
xs_close(void)
{
	if (xsfd >= 0)
		close(xsfd);
	xsfd = -1;
}

/*
 * One XS_WRITE of a path relative to the guest's home, or absolute.  The
 * device stays open until xs_close(): each publish opens it afresh, so
 * nothing is left waiting across a save or a migration.
 */
static int
xs_write(const char *path, const char *val)
{
	char buf[sizeof(struct xsd_sockmsg) + XS_PAYLOAD_MAX];
	struct xsd_sockmsg h;
	size_t pl = strlen(path) + 1, vl = strlen(val);

	snprintf(xserr, sizeof(xserr), "too long");
	if (pl + vl > XS_PAYLOAD_MAX)
		return -1;
	snprintf(xserr, sizeof(xserr), "%s: %s", XENBUS_DEV, strerror(errno));
	if (xsfd < 0 && (xsfd = open(XENBUS_DEV, O_RDWR)) < 0)
		return -1;
	memset(&h, 0, sizeof(h));
	h.type = XS_WRITE;
	h.len = pl + vl;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), path, pl);
	memcpy(buf + sizeof(h) + pl, val, vl);
	if (xfer(xsfd, buf, sizeof(h) + h.len, 1) == -1 ||
	    xfer(xsfd, &h, sizeof(h), 0) == -1 || h.len > XS_PAYLOAD_MAX ||
	    xfer(xsfd, buf, h.len, 0) == -1) {
		snprintf(xserr, sizeof(xserr), "%s: %s", XENBUS_DEV,
		    errno ? strerror(errno) : "no reply");
		xs_close();
		return -1;
	}
	if (h.type == XS_ERROR) {
		snprintf(xserr, sizeof(xserr), "%.*s", (int)h.len, buf);
		return -1;
	}
	return 0;
}

static void
put(const struct guard *g, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
put(const struct guard *g, const char *key, const char *fmt, ...)
{
	char path[128], val[256];
	va_list ap;

	snprintf(path, sizeof(path), "%s/%s", g->prefix, key);
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	xs_write(path, val);
}

static uint64_t
now_ms(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
fill(struct guard *g, uint64_t p)
{
	uint64_t *w = g->mem + p * PAGE_WORDS;
	uint64_t s = mix(p << 32 | g->ver[p]);
	unsigned int i;

	w[0] = p << 32 | g->ver[p];
	for (i = 1; i < PAGE_WORDS; i++)
		w[i] = s ^ (i * K_WORD);
}

static void
check(struct guard *g, uint64_t p)
{
	const uint64_t *w = g->mem + p * PAGE_WORDS;
	uint64_t s = mix(p << 32 | g->ver[p]);
	unsigned int i = 0;

	g->checks++;
	if (w[0] != (p << 32 | g->ver[p]))
		goto bad;
	for (i = 1; i < PAGE_WORDS; i++)
		if (w[i] != (s ^ (i * K_WORD)))
			goto bad;
	return;
bad:
	if (g->bad++ == 0) {
		if ((w[0] >> 32) == p)
			snprintf(g->first_bad, sizeof(g->first_bad),
			    "page %llu: version %u expected, found stale "
			    "version %llu", (unsigned long long)p, g->ver[p],
			    (unsigned long long)(w[0] & 0xffffffff));
		else
			snprintf(g->first_bad, sizeof(g->first_bad),
			    "page %llu: version %u expected, found garbage "
			    "word0=%#llx word%u=%#llx", (unsigned long long)p,
			    g->ver[p], (unsigned long long)w[0], i,
			    (unsigned long long)w[i < PAGE_WORDS ? i : 0]);
		printf("MEMGUARD CORRUPT %s\n", g->first_bad);
		fflush(stdout);
	}
}

static void
publish(struct guard *g)
{
	char recent[RECENT * 21 + 1];
	uint64_t i;
	size_t off = 0;

	recent[0] = '\0';
	i = g->pauses > RECENT ? g->pauses - RECENT : 0;
	for (; i < g->pauses; i++)
		off += snprintf(recent + off, sizeof(recent) - off, "%s%llu",
		    off ? " " : "", (unsigned long long)g->recent[i % RECENT]);
	put(g, "boot_id", "%s", g->boot_id);
	put(g, "status", "%s", g->bad ? "CORRUPT" : "ok");
	put(g, "pages", "%llu", (unsigned long long)g->npages);
	put(g, "writes", "%llu", (unsigned long long)g->writes);
	put(g, "checks", "%llu", (unsigned long long)g->checks);
	put(g, "passes", "%llu", (unsigned long long)g->passes);
	put(g, "pauses", "%llu", (unsigned long long)g->pauses);
	put(g, "max_pause_ms", "%llu", (unsigned long long)g->max_pause_ms);
	put(g, "last_pause_ms", "%llu", (unsigned long long)g->last_pause_ms);
	put(g, "recent_pauses", "%s", recent);
	put(g, "bad", "%llu", (unsigned long long)g->bad);
	put(g, "first_bad", "%s", g->bad ? g->first_bad : "none");
	/* last: once ticks moved on, every other key is fresh too */
	put(g, "ticks", "%llu", (unsigned long long)g->ticks);
	xs_close();
}

static uint64_t
num(const char *s, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		usage();
	return v;
}

int
main(int argc, char **argv)
{
	struct guard g;
	uint64_t mib = 64, rate = 1000, crate = 0, tick = 20, pubms = 1000;
	uint64_t pausems = 500, lb, lr, nb, nr, gap, last_pub, last_log;
	double wdue = 0, cdue = 0;
	FILE *f;
	int ch, i;

	if (argc > 1 && strcmp(argv[1], "-w") == 0) {
		if (argc < 4 || argc % 2)
			usage();
		for (i = 2; i < argc; i += 2)
			if (xs_write(argv[i], argv[i + 1]) == -1) {
				fprintf(stderr, "memguard: xenstore write %s: "
				    "%s\n", argv[i], xserr);
				return 111;
			}
		xs_close();
		return 0;
	}
	memset(&g, 0, sizeof(g));
	g.prefix = "data/memguard";
	while ((ch = getopt(argc, argv, "c:i:m:P:p:r:t:")) != -1) {
		switch (ch) {
		case 'c': crate = num(optarg, 1, 1 << 24); break;
		case 'i': pubms = num(optarg, 10, 600000); break;
		case 'm': mib = num(optarg, 1, 1 << 16); break;
		case 'P': pausems = num(optarg, 1, 600000); break;
		case 'p': g.prefix = optarg; break;
		case 'r': rate = num(optarg, 0, 1 << 24); break;
		case 't': tick = num(optarg, 1, 10000); break;
		default: usage();
		}
	}
	g.npages = mib * 1024 * 1024 / PAGE_SIZE;
	if (crate == 0)		/* the whole region every 20 s */
		crate = g.npages / 20 ? g.npages / 20 : 1;
	g.mem = mmap(NULL, g.npages * PAGE_SIZE, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	g.ver = calloc(g.npages, sizeof(*g.ver));
	if (g.mem == MAP_FAILED || g.ver == NULL) {
		perror("memguard: region");
		return 111;
	}
	mlock(g.mem, g.npages * PAGE_SIZE);	/* best effort */
	if ((f = fopen("/proc/sys/kernel/random/boot_id", "r")) != NULL) {
		if (fgets(g.boot_id, sizeof(g.boot_id), f) != NULL)
			g.boot_id[strcspn(g.boot_id, "\n")] = '\0';
		fclose(f);
	}
	g.rng = mix(now_ms(CLOCK_REALTIME));
	for (g.check_pos = 0; g.check_pos < g.npages; g.check_pos++) {
		g.ver[g.check_pos] = 1;
		fill(&g, g.check_pos);
	}
	g.check_pos = 0;
	printf("MEMGUARD start pages=%llu rate=%llu/s check=%llu/s tick=%llums "
	    "boot_id=%s\n", (unsigned long long)g.npages,
	    (unsigned long long)rate, (unsigned long long)crate,
	    (unsigned long long)tick, g.boot_id);
	fflush(stdout);
	lb = now_ms(CLOCK_BOOTTIME);
	lr = now_ms(CLOCK_REALTIME);
	last_pub = last_log = lb;
	publish(&g);
	for (;;) {
		usleep(tick * 1000);
		nb = now_ms(CLOCK_BOOTTIME);
		nr = now_ms(CLOCK_REALTIME);
		/* the larger of the two clocks; wall time only if it moved on */
		gap = nb - lb;
		if (nr > lr && nr - lr > gap)
			gap = nr - lr;
		lb = nb;
		lr = nr;
		g.ticks++;
		if (gap > g.max_pause_ms)
			g.max_pause_ms = gap;
		if (gap >= pausems) {
			g.recent[g.pauses % RECENT] = gap;
			g.pauses++;
			g.last_pause_ms = gap;
			printf("MEMGUARD pause %llums\n", (unsigned long long)gap);
			fflush(stdout);
		}
		/* no burst of catch-up work after a pause */
		if (gap > 1000)
			gap = tick;
		wdue += (double)rate * gap / 1000;
		cdue += (double)crate * gap / 1000;
		for (; wdue >= 1; wdue--) {
			uint64_t p;

			g.rng ^= g.rng << 13;
			g.rng ^= g.rng >> 7;
			g.rng ^= g.rng << 17;
			p = g.rng % g.npages;
			g.ver[p]++;
			fill(&g, p);
			g.writes++;
		}
		for (; cdue >= 1; cdue--) {
			check(&g, g.check_pos);
			if (++g.check_pos == g.npages) {
				g.check_pos = 0;
				g.passes++;
			}
		}
		if (nb - last_pub >= pubms) {
			last_pub = nb;
			publish(&g);
		}
		if (nb - last_log >= 10000) {
			last_log = nb;
			printf("MEMGUARD ticks=%llu writes=%llu passes=%llu "
			    "max_pause_ms=%llu bad=%llu\n",
			    (unsigned long long)g.ticks,
			    (unsigned long long)g.writes,
			    (unsigned long long)g.passes,
			    (unsigned long long)g.max_pause_ms,
			    (unsigned long long)g.bad);
			fflush(stdout);
		}
	}
}
