/*
 * test-srcguard - the source guard (srcguard.h) against a made-up backend
 * whose operations record what they did and fail on request: what each
 * stage turned on is undone on the way out, in order, a failed undo is
 * reported and stays held, and nothing is undone that was handed on.
 * Prints TAP; exits 1 if any case goes the wrong way.  Run by
 * test/srcguard.bats.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "srcguard.h"

struct dom { int logdirty, cap, suspended, closed; };

static struct dom the_dom;
static char calls[256];		/* l(og-dirty off) t(hrottle) r(esume)... */
static const char *failing = "";	/* ops that fail: L T S R O */
static char said[1024];
static int nr_said;

static int
op(char c, char fail)
{
	size_t n = strlen(calls);

	if (n + 1 < sizeof(calls)) {
		calls[n] = c;
		calls[n + 1] = '\0';
	}
	if (strchr(failing, fail) != NULL) {
		xp_seterr(XE_STATE, "op %c refused", fail);
		return -1;
	}
	return 0;
}

static int
f_logdirty(struct dom *d, enum logdirty_op o, uint64_t *bm)
{
	(void)bm;
	if (op(o == LOGDIRTY_ENABLE ? 'L' : 'l', 'L') < 0)
		return -1;
	d->logdirty = o == LOGDIRTY_ENABLE;
	return 0;
}

static int
f_throttle(struct dom *d, unsigned int pct)
{
	if (op('t', 'T') < 0)
		return -1;
	d->cap = pct;
	return 0;
}

static int
f_suspend(struct dom *d)
{
	if (op('S', 'S') < 0)
		return -1;
	d->suspended = 1;
	return 0;
}

static int
f_resume(struct dom *d)
{
	if (op('r', 'R') < 0)
		return -1;
	d->suspended = 0;
	return 0;
}

static int
f_open(const char *name, struct dom **d)
{
	if (op('o', 'O') < 0)
		return -1;
	(void)name;
	*d = &the_dom;
	return 0;
}

static void
f_close(struct dom *d)
{
	d->closed++;
	op('c', '-');
}

static const struct backend fake = {
	.name = "fake",
	.open = f_open,
	.close = f_close,
	.logdirty = f_logdirty,
	.suspend = f_suspend,
	.resume = f_resume,
	.throttle = f_throttle,
};

static void
say(const char *line)
{
	size_t n = strlen(said);

	snprintf(said + n, sizeof(said) - n, "%s|", line);
	nr_said++;
}

static void
reset(const char *fail)
{
	memset(&the_dom, 0, sizeof(the_dom));
	the_dom.cap = 100;
	calls[0] = said[0] = '\0';
	nr_said = 0;
	failing = fail;
}

static int nr, bad;

static void
check(int ok, const char *what)
{
	printf("%sok %d - %s\n", ok ? "" : "not ", ++nr, what);
	if (!ok) {
		printf("#   calls '%s', said '%s'\n", calls, said);
		bad++;
	}
}

int
main(void)
{
	struct srcguard g;
	unsigned int left;

	/* mem-dump -l that fails after log-dirty is on */
	reset("");
	sg_init(&g, &fake, "web1");
	sg_bind(&g, &the_dom, NULL);
	check(sg_logdirty_on(&g) == 0 && the_dom.logdirty, "log-dirty on, held");
	left = sg_undo(&g, say);
	check(left == 0 && !the_dom.logdirty && strcmp(calls, "Ll") == 0 &&
	    nr_said == 0, "a failed stage turns log-dirty off, silently");

	/* mem-dump -l that succeeds: log-dirty is handed on */
	reset("");
	sg_init(&g, &fake, "web1");
	sg_bind(&g, &the_dom, NULL);
	sg_logdirty_on(&g);
	sg_keep(&g);
	check(sg_undo(&g, say) == 0 && the_dom.logdirty &&
	    strcmp(calls, "L") == 0, "what is kept for the next stage is left on");

	/* log-dirty refused: nothing held */
	reset("L");
	sg_init(&g, &fake, "web1");
	sg_bind(&g, &the_dom, NULL);
	check(sg_logdirty_on(&g) < 0 && g.held == 0 &&
	    strstr(xp_errmsg(), "op L refused") != NULL,
	    "log-dirty refused: an error, nothing held");

	/* dom-suspend, live, fails after the suspend: all three, in order */
	reset("");
	sg_init(&g, &fake, "web1");
	sg_adopt(&g, SG_LOGDIRTY | SG_THROTTLE);
	sg_bind(&g, &the_dom, NULL);
	the_dom.logdirty = 1;
	the_dom.cap = 20;
	check(sg_suspend(&g) == 0 && the_dom.suspended, "suspended, held");
	left = sg_undo(&g, say);
	check(left == 0 && strcmp(calls, "Sltr") == 0 && !the_dom.logdirty &&
	    the_dom.cap == 100 && !the_dom.suspended,
	    "undo: log-dirty off, throttle lifted, resumed, in that order");
	check(nr_said == 1 && strcmp(said, "web1 resumed|") == 0,
	    "the resume is reported, one line");

	/* the undo of each part fails: reported, still held, the rest done */
	reset("TR");
	sg_init(&g, &fake, "web1");
	sg_adopt(&g, SG_LOGDIRTY | SG_THROTTLE);
	sg_bind(&g, &the_dom, NULL);
	sg_suspend(&g);
	left = sg_undo(&g, say);
	check(left == (SG_THROTTLE | SG_SUSPEND) && !the_dom.logdirty &&
	    strcmp(calls, "Sltr") == 0, "a failed undo stays held, the others are done");
	check(nr_said == 2 && strstr(said, "fake: web1: the throttle is left on: op T refused|") &&
	    strstr(said, "fake: web1: could not resume it: op R refused|"),
	    "each failed undo is one line naming backend, domain and problem");

	/* the success path lifts the throttle, then log-dirty; keeps the suspend */
	reset("");
	sg_init(&g, &fake, "web1");
	sg_adopt(&g, SG_LOGDIRTY | SG_THROTTLE);
	sg_bind(&g, &the_dom, NULL);
	sg_suspend(&g);
	check(sg_lift(&g, SG_THROTTLE) == 0 && sg_lift(&g, SG_LOGDIRTY) == 0 &&
	    g.held == SG_SUSPEND && strcmp(calls, "Stl") == 0,
	    "lifted one by one, as the last stage goes");
	sg_keep(&g);
	check(sg_undo(&g, say) == 0 && the_dom.suspended,
	    "a cold save's suspend is its outcome: kept");

	/* a failed lift: -1 with the first error; held for the undo */
	reset("T");
	sg_init(&g, &fake, "web1");
	sg_adopt(&g, SG_LOGDIRTY | SG_THROTTLE);
	sg_bind(&g, &the_dom, NULL);
	check(sg_lift(&g, SG_THROTTLE | SG_LOGDIRTY) < 0 &&
	    g.held == SG_THROTTLE && strstr(xp_errmsg(), "op T refused") != NULL,
	    "a failed lift returns its error and stays held");

	/* before the domain is open: opened by name for the undo, then closed */
	reset("");
	sg_init(&g, &fake, "web1");
	sg_adopt(&g, SG_LOGDIRTY | SG_THROTTLE);
	the_dom.logdirty = 1;
	left = sg_undo(&g, say);
	check(left == 0 && strcmp(calls, "oltc") == 0 && the_dom.closed == 1,
	    "not open: opened by name, undone, closed");

	reset("O");
	sg_init(&g, &fake, "web1");
	sg_adopt(&g, SG_LOGDIRTY | SG_THROTTLE);
	left = sg_undo(&g, say);
	check(left == (SG_LOGDIRTY | SG_THROTTLE) && nr_said == 1 &&
	    strstr(said, "fake: web1: cannot turn its log-dirty off") != NULL,
	    "not open and cannot be opened: one line, all still held");

	/* nothing to open by, and nothing held: nothing done */
	reset("");
	sg_init(&g, &fake, NULL);
	sg_adopt(&g, SG_LOGDIRTY);
	check(sg_undo(&g, say) == SG_LOGDIRTY && calls[0] == '\0',
	    "no name and not open: nothing can be done, it says what is left");
	reset("");
	sg_init(&g, &fake, "web1");
	sg_bind(&g, &the_dom, NULL);
	check(sg_undo(&g, say) == 0 && calls[0] == '\0', "nothing held: no call");
	check(sg_suspend(&(struct srcguard){ .be = &fake, .name = "x" }) < 0,
	    "suspend of a guard with no domain open is an error, not a crash");

	printf("1..%d\n", nr);
	return bad ? 1 : 0;
}
