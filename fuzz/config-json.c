/*
 * config-json - the xl JSON domain config as a receiver reads it:
 * config_from_json on the raw bytes (not NUL-terminated), the receiver's
 * policy_check on them against a made-up host (every path resolves, as a
 * file, a block device or nothing, by its first byte; a few domains and
 * block devices; a bridge), under a name of the stream's and one of the
 * receiver's (-n); then config_rewrite, which a xen sender uses for
 * c_info.name and a receiver's copy for c_info.uuid, on a NUL-terminated
 * copy, and config_valid_name on the input as a name.
 * fuzz-flags: -max_len=65536 -dict=fuzz/config-json.dict
 */
#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "config.h"
#include "fuzz.h"
#include "policy.h"

static int
fake_resolve(const char *path, struct pol_path *out)
{
	size_t n = strlen(path);

	memset(out, 0, sizeof(*out));
	if (n == 0 || n >= sizeof(out->real) || path[n - 1] == 'x') {
		errno = ENOENT;
		return -1;
	}
	memcpy(out->real, path, n + 1);
	out->kind = "bfd?"[(unsigned char)path[n - 1] % 4];
	out->rdev = makedev(254, (unsigned char)path[n - 1] % 8);
	out->ino = n;
	return 0;
}

static struct pol_blk blks[] = {
	{ .name = "vda" }, { .name = "vda1", .mounted = 1 },
	{ .name = "vda2", .swap = 1 }, { .name = "vdb", .holders = 1 },
};
static struct pol_dom doms[] = {
	{ 1, "web1", "6b1e4cbb-5b0c-4a33-9d1e-0a7a3f3c1a01" },
	{ 2, "db", "6b1e4cbb-5b0c-4a33-9d1e-0a7a3f3c1a02" },
};
static struct pol_held held[] = { { 2, 0, "/dev/vg/db" } };
static char bridges[][16] = { "xenbr0" };
static dev_t swap_dev[1];
static ino_t swap_ino[1] = { 7 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct host_facts f;
	struct dom_config cfg;
	struct policy p;
	struct plan plan;
	char *s, *named;
	yajl_val root;
	unsigned int i;

	memset(&cfg, 0, sizeof(cfg));
	config_from_json((const char *)data, size, &cfg);
	fuzz_touch(cfg.name, strlen(cfg.name));

	for (i = 0; i < 4; i++)
		blks[i].dev = makedev(254, i);
	blks[1].parent = blks[2].parent = blks[0].dev;
	memset(&f, 0, sizeof(f));
	f.mem_kb = 8 << 20;
	f.blks = blks;
	f.n_blks = 4;
	f.doms = doms;
	f.n_doms = 2;
	f.held = held;
	f.n_held = 1;
	f.bridges = bridges;
	f.n_bridges = 1;
	f.swap_files_dev = swap_dev;
	f.swap_files_ino = swap_ino;
	f.n_swap_files = 1;
	f.resolve = fake_resolve;
	policy_defaults(&p);
	if ((root = lj_parse((const char *)data, size)) != NULL) {
		if (policy_check(&p, &f, root, NULL, &plan) == 0)
			fuzz_touch(&plan, sizeof(plan));
		if (policy_check(&p, &f, root, "copy", &plan) == 0)
			fuzz_touch(&plan, sizeof(plan));
		lj_free(root);
	}

	if ((s = malloc(size + 1)) == NULL)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	config_valid_name(s);
	named = config_rewrite(s, "fuzz-renamed",
	    "6b1e4cbb-5b0c-4a33-9d1e-0a7a3f3c1aff");
	if (named != NULL)
		fuzz_touch(named, strlen(named));
	free(named);
	free(s);
	return 0;
}
