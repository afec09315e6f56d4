/*
 * facts.c - this host's facts for the receiver's policy (policy.h): what
 * dom0's Linux does with its block devices (sysfs, mountinfo, swaps), its
 * bridges, and, from the backend, its domains, their disks and memory.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "err.h"
#include "policy.h"

#define BLK_MAX		4096	/* block devices we look at */
#define BRIDGE_MAX	256

int
facts_resolve(const char *path, struct pol_path *out)
{
	char real[PATH_MAX];
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (realpath(path, real) == NULL || stat(real, &st) < 0)
		return -1;
	if (strlen(real) >= sizeof(out->real)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(out->real, sizeof(out->real), "%s", real);
	out->kind = S_ISBLK(st.st_mode) ? 'b' : S_ISREG(st.st_mode) ? 'f' :
	    S_ISDIR(st.st_mode) ? 'd' : '?';
	out->rdev = st.st_rdev;
	out->dev = st.st_dev;
	out->ino = st.st_ino;
	return 0;
}

static int
read_dev(const char *path, dev_t *dev)
{
	unsigned int maj, min;
	FILE *fp;
	int ok;

	if ((fp = fopen(path, "re")) == NULL)
		return -1;
	ok = fscanf(fp, "%u:%u", &maj, &min) == 2;
	fclose(fp);
	if (!ok)
		return -1;
	*dev = makedev(maj, min);
	return 0;
}

static int
count_dir(const char *path)
{
	struct dirent *de;
	DIR *dp;
	int n = 0;

	if ((dp = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(dp)) != NULL)
		n += de->d_name[0] != '.';
	closedir(dp);
	return n;
}

struct pol_blk *
facts_blk(const struct host_facts *f, dev_t dev)
{
	size_t i;

	for (i = 0; i < f->n_blks; i++)
		if (f->blks[i].dev == dev)
			return &f->blks[i];
	return NULL;
}

/*
 * What b is built on: a dm device's slaves, a loop device's backing file
 * when that is a block device (a loop over dom0's partition shows no
 * holders there).
 */
static void
gather_under(struct pol_blk *b, const char *name)
{
	char path[PATH_MAX + 64], line[PATH_MAX];
	struct dirent *de;
	struct stat st;
	unsigned int n = 0;
	FILE *fp;
	DIR *dp;

	snprintf(path, sizeof(path), "/sys/class/block/%s/slaves", name);
	if ((dp = opendir(path)) != NULL) {
		while ((de = readdir(dp)) != NULL && n < 4) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path),
			    "/sys/class/block/%s/slaves/%s/dev", name,
			    de->d_name);
			if (read_dev(path, &b->under[n]) == 0)
				n++;
		}
		closedir(dp);
	}
	snprintf(path, sizeof(path), "/sys/class/block/%s/loop/backing_file",
	    name);
	if (n < 4 && (fp = fopen(path, "re")) != NULL) {
		if (fgets(line, sizeof(line), fp) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			if (stat(line, &st) == 0 && S_ISBLK(st.st_mode))
				b->under[n++] = st.st_rdev;
		}
		fclose(fp);
	}
}

/* Every block device sysfs knows, with its disk and its holders. */
static int
gather_blks(struct host_facts *f)
{
	char path[PATH_MAX + 16], real[PATH_MAX];
	struct pol_blk *b;
	struct dirent *de;
	DIR *dp;

	if ((f->blks = calloc(BLK_MAX, sizeof(*f->blks))) == NULL) {
		xp_seterr(XE_SYS, "facts");
		return -1;
	}
	if ((dp = opendir("/sys/class/block")) == NULL)
		return 0;	/* no sysfs: no block devices to protect */
	while ((de = readdir(dp)) != NULL && f->n_blks < BLK_MAX) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= 32)
			continue;
		b = &f->blks[f->n_blks];
		snprintf(path, sizeof(path), "/sys/class/block/%s/dev",
		    de->d_name);
		if (read_dev(path, &b->dev) < 0)
			continue;
		snprintf(b->name, sizeof(b->name), "%s", de->d_name);
		snprintf(path, sizeof(path), "/sys/class/block/%s/partition",
		    de->d_name);
		if (access(path, F_OK) == 0) {
			snprintf(path, sizeof(path), "/sys/class/block/%s",
			    de->d_name);
			if (realpath(path, real) != NULL) {
				snprintf(path, sizeof(path), "%s/../dev", real);
				read_dev(path, &b->parent);
			}
		}
		snprintf(path, sizeof(path), "/sys/class/block/%s/holders",
		    de->d_name);
		b->holders = count_dir(path);
		gather_under(b, de->d_name);
		f->n_blks++;
	}
	closedir(dp);
	return 0;
}

/* Undo /proc's octal escapes (\040) in place. */
static void
unoctal(char *s)
{
	char *o = s;

	for (; *s != '\0'; s++, o++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*o = (s[1] - '0') * 64 + (s[2] - '0') * 8 + s[3] - '0';
			s += 3;
		} else
			*o = *s;
	}
	*o = '\0';
}

static void
mark_path(struct host_facts *f, const char *path, int swap)
{
	struct pol_blk *b;
	struct stat st;

	if (path[0] != '/' || stat(path, &st) < 0)
		return;
	if (S_ISBLK(st.st_mode)) {
		if ((b = facts_blk(f, st.st_rdev)) != NULL) {
			if (swap)
				b->swap = 1;
			else
				b->mounted = 1;
		}
	} else if (swap && S_ISREG(st.st_mode) && f->n_swap_files < 64) {
		f->swap_files_dev[f->n_swap_files] = st.st_dev;
		f->swap_files_ino[f->n_swap_files++] = st.st_ino;
	}
}

/* mountinfo: "ID PARENT MAJ:MIN ROOT POINT OPTS [TAGS] - FSTYPE SOURCE ..." */
static void
gather_mounts(struct host_facts *f, const char *mountinfo)
{
	char line[4096], *p, *src;
	unsigned int maj, min;
	struct pol_blk *b;
	FILE *fp;

	if ((fp = fopen(mountinfo, "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, "%*u %*u %u:%u", &maj, &min) == 2 &&
		    (b = facts_blk(f, makedev(maj, min))) != NULL)
			b->mounted = 1;
		/* btrfs and others show an anonymous dev: the source says */
		if ((p = strstr(line, " - ")) == NULL ||
		    (p = strchr(p + 3, ' ')) == NULL)
			continue;
		src = p + 1;
		src[strcspn(src, " \n")] = '\0';
		unoctal(src);
		mark_path(f, src, 0);
	}
	fclose(fp);
}

static void
gather_swaps(struct host_facts *f)
{
	char line[4096];
	FILE *fp;

	if ((fp = fopen("/proc/swaps", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, " \t\n")] = '\0';
		unoctal(line);
		mark_path(f, line, 1);
	}
	fclose(fp);
}

static int
gather_bridges(struct host_facts *f)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *dp;

	if ((f->bridges = calloc(BRIDGE_MAX, sizeof(*f->bridges))) == NULL) {
		xp_seterr(XE_SYS, "facts");
		return -1;
	}
	if ((dp = opendir("/sys/class/net")) == NULL)
		return 0;
	while ((de = readdir(dp)) != NULL && f->n_bridges < BRIDGE_MAX) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= 16)
			continue;
		snprintf(path, sizeof(path), "/sys/class/net/%s/bridge",
		    de->d_name);
		if (access(path, F_OK) == 0)
			snprintf(f->bridges[f->n_bridges++], 16, "%s",
			    de->d_name);
	}
	closedir(dp);
	return 0;
}

static uint64_t
meminfo_kb(void)
{
	unsigned long long kb = 0;
	char line[256];
	FILE *fp;

	if ((fp = fopen("/proc/meminfo", "re")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
			break;
	fclose(fp);
	return kb;
}

int
facts_gather(const struct backend *be, struct host_facts *f)
{
	struct dom_info *infos = NULL;
	size_t n = 0, i;

	int look_only = f->look_only;

	memset(f, 0, sizeof(*f));
	f->look_only = look_only;
	f->resolve = facts_resolve;
	f->swap_files_dev = calloc(64, sizeof(dev_t));
	f->swap_files_ino = calloc(64, sizeof(ino_t));
	if (f->swap_files_dev == NULL || f->swap_files_ino == NULL) {
		xp_seterr(XE_SYS, "facts");
		goto err;
	}
	if (gather_blks(f) < 0 || gather_bridges(f) < 0)
		goto err;
	/* ours, and init's: a mount namespace of our own hides none */
	gather_mounts(f, "/proc/self/mountinfo");
	gather_mounts(f, "/proc/1/mountinfo");
	gather_swaps(f);
	f->mem_kb = meminfo_kb();
	if (be == NULL)
		return 0;
	/* the hypervisor's memory and the disks its domains hold */
	if (be->host(f) < 0)
		goto err;
	if (be->list(&infos, &n) < 0)
		goto err;
	if ((f->doms = calloc(n ? n : 1, sizeof(*f->doms))) == NULL) {
		xp_seterr(XE_SYS, "facts");
		goto err;
	}
	for (i = 0; i < n; i++) {
		f->doms[i].domid = infos[i].domid;
		snprintf(f->doms[i].name, sizeof(f->doms[i].name), "%s",
		    infos[i].name);
		snprintf(f->doms[i].uuid, sizeof(f->doms[i].uuid), "%s",
		    infos[i].uuid);
	}
	f->n_doms = n;
	free(infos);
	return 0;
err:
	free(infos);
	facts_free(f);
	return -1;
}

void
facts_free(struct host_facts *f)
{
	free(f->blks);
	free(f->doms);
	free(f->held);
	free(f->bridges);
	free(f->swap_files_dev);
	free(f->swap_files_ino);
	memset(f, 0, sizeof(*f));
}
