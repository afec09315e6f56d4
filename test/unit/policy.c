/*
 * test-policy - the receiver policy's table (policy.h): hostile configs,
 * each refused with one line naming its field, and benign ones, accepted,
 * against a made-up host whose facts are data (no Xen, no real disks).
 * Prints TAP; exits 1 if any row goes the wrong way.  Run by
 * test/policy.bats.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "err.h"
#include "policy.h"

#define U_WEB1	"6b1e4cbb-5b0c-4a33-9d1e-0a7a3f3c1a01"
#define U_DB	"6b1e4cbb-5b0c-4a33-9d1e-0a7a3f3c1a02"
#define U_OLD	"6b1e4cbb-5b0c-4a33-9d1e-0a7a3f3c1a03"
#define U_NEW	"6b1e4cbb-5b0c-4a33-9d1e-0a7a3f3c1aff"

/* The made-up host: dom0 on vda, an LVM PV on vdb, an md member sdc1. */
static struct pol_blk blks[] = {
	{ .name = "vda" },		/* partitions below */
	{ .name = "vda1", .mounted = 1 },		/* dom0's / */
	{ .name = "vda2", .swap = 1 },		/* swap */
	{ .name = "vda3" },		/* spare */
	{ .name = "vdb", .holders = 1 },		/* LVM PV */
	{ .name = "dm-0" },		/* LV, free */
	{ .name = "dm-1", .mounted = 1 },		/* LV, mounted */
	{ .name = "dm-2" },		/* LV of domain db */
	{ .name = "loop0" },
	{ .name = "loop1", .mounted = 1 },
	{ .name = "sdb" },		/* a whole free disk */
	{ .name = "sdc" },
	{ .name = "sdc1", .holders = 1 },		/* md member */
	{ .name = "dm-9" },		/* dm-linear over vda1 */
};

static const struct {
	const char *path, *real;
	int kind, maj, min;
} paths[] = {
	{ "/dev/vda", "/dev/vda", 'b', 254, 0 },
	{ "/dev/vda1", "/dev/vda1", 'b', 254, 1 },
	{ "/dev/vda2", "/dev/vda2", 'b', 254, 2 },
	{ "/dev/vda3", "/dev/vda3", 'b', 254, 3 },
	{ "/dev/vdb", "/dev/vdb", 'b', 254, 16 },
	{ "/dev/vg/lv1", "/dev/dm-0", 'b', 253, 0 },
	{ "/dev/dm-0", "/dev/dm-0", 'b', 253, 0 },
	{ "/dev/unknown", "/dev/unknown", 'b', 99, 9 },
	{ "/dev/mapper/overroot", "/dev/dm-9", 'b', 253, 9 },
	{ "/dev/vg/home", "/dev/dm-1", 'b', 253, 1 },
	{ "/dev/vg/db", "/dev/dm-2", 'b', 253, 2 },
	{ "/dev/loop0", "/dev/loop0", 'b', 7, 0 },
	{ "/dev/loop1", "/dev/loop1", 'b', 7, 1 },
	{ "/dev/sdb", "/dev/sdb", 'b', 8, 16 },
	{ "/dev/sdc", "/dev/sdc", 'b', 8, 32 },
	{ "/tmp/blk", "/tmp/blk", 'b', 254, 3 },
	{ "/dev/null", "/dev/null", '?', 1, 3 },
	{ "/etc/shadow", "/etc/shadow", 'f', 0, 10 },
	{ "/proc/self/root/etc/shadow", "/etc/shadow", 'f', 0, 10 },
	{ "/var/lib/xen/images/../../../../etc/shadow", "/etc/shadow", 'f',
	    0, 10 },
	{ "/var/lib/xen/images/a.img", "/var/lib/xen/images/a.img", 'f', 0,
	    11 },
	{ "/var/lib/xen/images/web1.img", "/var/lib/xen/images/web1.img",
	    'f', 0, 12 },
	{ "/var/lib/xen/images/swapfile", "/var/lib/xen/images/swapfile",
	    'f', 0, 13 },
	{ "/var/lib/xen/images/link", "/root/.ssh/id_rsa", 'f', 0, 14 },
	{ "/var/lib/xen/images", "/var/lib/xen/images", 'd', 0, 1 },
	{ "/var/lib/xen/imagesX/a.img", "/var/lib/xen/imagesX/a.img", 'f', 0,
	    15 },
	{ "/srv/img", "/srv/img", 'd', 0, 2 },
	{ "/srv/img/b.img", "/srv/img/b.img", 'f', 0, 16 },
};

static int
fake_resolve(const char *path, struct pol_path *out)
{
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (strcmp(paths[i].path, path) == 0) {
			snprintf(out->real, sizeof(out->real), "%s",
			    paths[i].real);
			out->kind = paths[i].kind;
			out->rdev = makedev(paths[i].maj, paths[i].min);
			out->dev = makedev(254, 1);
			out->ino = paths[i].min;
			return 0;
		}
	errno = ENOENT;
	return -1;
}

static struct pol_dom doms[] = {
	{ 1, "web1", U_WEB1 },
	{ 2, "db", U_DB },
	{ 3, "old", U_OLD },
};

static struct pol_held held[] = {
	{ 2, 0, "/dev/vg/db" },
	{ 1, 0, "/var/lib/xen/images/web1.img" },
};

static char bridges[][16] = { "xenbr0", "br-lan" };
static dev_t swap_dev[] = { 0 };
static ino_t swap_ino[] = { 13 };

#define D(x)	"{\"c_info\":{\"type\":\"pvh\",\"name\":\"g\"}," \
		"\"b_info\":{\"max_memkb\":262144}," x "}"
#define DISK(p)	D("\"disks\":[{\"vdev\":\"xvda\",\"pdev_path\":\"" p "\"," \
		"\"format\":\"raw\",\"readwrite\":1}]")
#define NIC(x)	D("\"nics\":[{" x "}]")
#define CI(x)	"{\"c_info\":{\"type\":\"pvh\"," x "}," \
		"\"b_info\":{\"max_memkb\":262144}}"
#define BI(x)	"{\"c_info\":{\"type\":\"pvh\",\"name\":\"g\"}," \
		"\"b_info\":{\"max_memkb\":262144," x "}}"

static const struct row {
	const char *what, *json, *policy;
	const char *refused;	/* a part of the one line; NULL: accepted */
} rows[] = {
	/* disks that are dom0's */
	{ "dom0's whole disk, partitions mounted", DISK("/dev/vda"), NULL,
	    "disks[0] (xvda): /dev/vda is in use by dom0 (vda1 is mounted)" },
	{ "dom0's root partition", DISK("/dev/vda1"), NULL,
	    "/dev/vda1 is in use by dom0 (vda1 is mounted)" },
	{ "dom0's swap partition", DISK("/dev/vda2"), NULL,
	    "(vda2 is swap)" },
	{ "an LVM physical volume", DISK("/dev/vdb"), NULL,
	    "vdb is held by dom0" },
	{ "a mounted LV", DISK("/dev/vg/home"), NULL,
	    "/dev/dm-1 is in use by dom0" },
	{ "a mounted loop device", DISK("/dev/loop1"), NULL,
	    "loop1 is mounted" },
	{ "a disk whose partition is an md member", DISK("/dev/sdc"), NULL,
	    "sdc1 is held by dom0" },
	{ "/etc/shadow", DISK("/etc/shadow"), NULL,
	    "disks[0] (xvda): /etc/shadow is a file outside the disk "
	    "directories" },
	{ "/etc/shadow through /proc/self/root",
	    DISK("/proc/self/root/etc/shadow"), NULL,
	    "/etc/shadow is a file outside" },
	{ "/etc/shadow through ../", 
	    DISK("/var/lib/xen/images/../../../../etc/shadow"), NULL,
	    "/etc/shadow is a file outside" },
	{ "a symlink in the image directory to a key",
	    DISK("/var/lib/xen/images/link"), NULL,
	    "/root/.ssh/id_rsa is a file outside" },
	{ "a sibling of the image directory",
	    DISK("/var/lib/xen/imagesX/a.img"), NULL,
	    "is a file outside" },
	{ "dom0's swap file", DISK("/var/lib/xen/images/swapfile"), NULL,
	    "swapfile is dom0's swap" },
	{ "a block device node outside /dev", DISK("/tmp/blk"), NULL,
	    "/tmp/blk is a block device outside /dev" },
	{ "a character device", DISK("/dev/null"), NULL,
	    "neither a block device nor a file" },
	{ "a relative path", DISK("disk.img"), NULL,
	    "pdev_path must be an absolute path" },
	{ "a missing file", DISK("/var/lib/xen/images/nope.img"), NULL,
	    "No such file" },
	{ "the LV of domain db", DISK("/dev/vg/db"), NULL,
	    "/dev/dm-2 is a disk of domain 2 (db)" },
	{ "web1's image, as another guest",
	    DISK("/var/lib/xen/images/web1.img"), NULL,
	    "is a disk of domain 1 (web1)" },
	{ "one disk twice", D("\"disks\":[{\"vdev\":\"xvda\",\"pdev_path\":"
	    "\"/dev/vg/lv1\"},{\"vdev\":\"xvdb\",\"pdev_path\":\"/dev/dm-0\"}]"),
	    NULL, "disks[1] (xvdb): /dev/dm-0 is also disks[0]" },
	/* scripts */
	{ "a disk naming launch-xenstore", D("\"disks\":[{\"vdev\":\"xvda\","
	    "\"pdev_path\":\"/etc/shadow\",\"script\":\"launch-xenstore\"}]"),
	    NULL, "disks[0] (xvda): script launch-xenstore is refused" },
	{ "a disk naming block-iscsi by path", D("\"disks\":[{\"vdev\":"
	    "\"xvda\",\"pdev_path\":\"iqn.x\",\"script\":"
	    "\"/etc/xen/scripts/block-iscsi\"}]"), NULL,
	    "script block-iscsi is refused" },
	{ "a script outside the script directory", D("\"disks\":[{\"vdev\":"
	    "\"xvda\",\"pdev_path\":\"/dev/vg/lv1\",\"script\":"
	    "\"../../../bin/sh\"}]"), NULL,
	    "is not a name in /etc/xen/scripts" },
	{ "a disk backed in a driver domain", D("\"disks\":[{\"vdev\":"
	    "\"xvda\",\"pdev_path\":\"/dev/vg/lv1\",\"backend_domid\":5}]"),
	    NULL, "disks[0]: a backend in a driver domain is refused" },
	/* network */
	{ "a routing vif taking dom0's traffic",
	    NIC("\"script\":\"vif-route\",\"ip\":\"0.0.0.0/1 128.0.0.0/1\""),
	    NULL, "nics[0]: script vif-route is refused" },
	{ "vif-nat", NIC("\"script\":\"vif-nat\""), NULL,
	    "script vif-nat is refused" },
	{ "an ip with the default script", NIC("\"ip\":\"10.0.0.1\""), NULL,
	    "nics[0]: ip is honoured only with a script the policy allows" },
	{ "a gatewaydev with the default script",
	    NIC("\"gatewaydev\":\"eth0\""), NULL,
	    "gatewaydev is honoured only" },
	{ "a vif on an interface that is no bridge", NIC("\"bridge\":\"eth0\""),
	    NULL, "nics[0]: bridge eth0 is not a bridge on this host" },
	{ "a vif on a missing bridge", NIC("\"bridge\":\"nosuch\""), NULL,
	    "bridge nosuch is not a bridge" },
	{ "a vif on a bridge the policy does not list",
	    NIC("\"bridge\":\"br-lan\""), "Bridge xenbr0\n",
	    "bridge br-lan is not one the policy allows" },
	/* UUIDs */
	{ "web1's UUID for another name", CI("\"name\":\"evil\",\"uuid\":\""
	    U_WEB1 "\""), NULL,
	    "c_info.uuid: " U_WEB1 " is domain 1 (web1) here" },
	{ "db's UUID, upper case", CI("\"name\":\"db2\",\"uuid\":"
	    "\"6B1E4CBB-5B0C-4A33-9D1E-0A7A3F3C1A02\""), NULL,
	    "is domain 2 (db) here" },
	{ "a malformed UUID", CI("\"name\":\"g\",\"uuid\":\"zz\""), NULL,
	    "c_info.uuid: not a UUID" },
	/* names */
	{ "a second Domain-0", CI("\"name\":\"Domain-0\""), NULL,
	    "c_info.name: \"Domain-0\" is reserved" },
	{ "domain-0 in other case", CI("\"name\":\"domain-0\""), NULL,
	    "is reserved" },
	{ "a name that reads as a domid", CI("\"name\":\"12345\""), NULL,
	    "is reserved" },
	{ "a name xenpipe keeps for a build", CI("\"name\":\"x--incoming\""),
	    NULL, "ends in --incoming" },
	{ "a name a handover gives", CI("\"name\":\"x--migratedaway\""), NULL,
	    "ends in --migratedaway" },
	{ "a running guest's name, other UUID", CI("\"name\":\"web1\","
	    "\"uuid\":\"" U_NEW "\""), NULL,
	    "domain 1 is already called web1 here" },
	{ "a suspended guest's name, no UUID", CI("\"name\":\"old\""), NULL,
	    "domain 3 is already called old here" },
	{ "terminal escapes in the name", CI("\"name\":\"\\u001b[2Jx\""),
	    NULL, "c_info.name: not a valid domain name" },
	{ "terminal escapes in a path",
	    DISK("/var/lib/xen/images/\\u001b]0;pwned\\u0007"), NULL,
	    "pdev_path \"/var/lib/xen/images/?]0;pwned?\"" },
	/* features and sizes */
	{ "nested HVM", BI("\"nested_hvm\":\"True\""), NULL,
	    "b_info.nested_hvm is on: refused unless the policy says "
	    "AllowNestedHvm yes" },
	{ "vPMU", BI("\"vpmu\":\"True\""), NULL, "b_info.vpmu is on" },
	{ "altp2m", BI("\"altp2m\":\"mixed\""), NULL,
	    "b_info.altp2m is mixed" },
	{ "a driver domain", CI("\"name\":\"g\",\"driver_domain\":\"True\""),
	    NULL, "c_info.driver_domain is on" },
	{ "another cpupool", CI("\"name\":\"g\",\"pool_name\":\"gold\""),
	    NULL, "cpupool gold is not one the policy allows" },
	{ "1 TiB of memory", "{\"c_info\":{\"name\":\"g\"},\"b_info\":"
	    "{\"max_memkb\":1073741824}}", NULL,
	    "KiB of memory asked, this host allows 8388608 KiB" },
	{ "a 1 TiB shadow pool", BI("\"shadow_memkb\":1073741824"), NULL,
	    "b_info.shadow_memkb 1073741824 is more than" },
	{ "memory over the policy's MaxMemory", BI("\"video_memkb\":0"),
	    "MaxMemory 128M\n", "this host allows 131072 KiB" },
	{ "4096 vCPUs", BI("\"max_vcpus\":4096"), NULL,
	    "b_info.max_vcpus is 4096, this host allows 1..128" },
	{ "INT32_MAX event channels", BI("\"event_channels\":2147483647"),
	    NULL, "b_info.event_channels is 2147483647" },
	{ "INT32_MAX grant frames", BI("\"max_grant_frames\":2147483647"),
	    NULL, "b_info.max_grant_frames is 2147483647" },
	{ "a big maptrack", BI("\"max_maptrack_frames\":100000"), NULL,
	    "b_info.max_maptrack_frames is 100000" },
	{ "a negative vCPU count", BI("\"max_vcpus\":-1"), NULL,
	    "b_info.max_vcpus is -1" },
	{ "a vif taking over dom0's eth0", NIC("\"ifname\":\"eth0\""), NULL,
	    "nics[0]: ifname \"eth0\": dom0 names its vifs" },
	{ "a vif shrinking the bridge's mtu", NIC("\"mtu\":68"), NULL,
	    "nics[0]: mtu 68, below 1280" },
	{ "a multicast mac", NIC("\"mac\":\"01:00:5e:00:00:01\""), NULL,
	    "mac 01:00:5e:00:00:01 is a multicast address" },
	{ "dom0's I/O memory", BI("\"iomem\":[{\"start\":0,\"number\":"
	    "1048576}]"), NULL, "b_info.iomem: a guest's access to dom0's "
	    "hardware" },
	{ "dom0's I/O ports", BI("\"ioports\":[{\"first\":0,\"number\":"
	    "65536}]"), NULL, "b_info.ioports:" },
	{ "dom0's IRQs", BI("\"irqs\":[1,4]"), NULL, "b_info.irqs:" },
	{ "event channels at libxl's default over the policy's",
	    BI("\"max_vcpus\":1"), "MaxEventChannels 100\n",
	    "a limit left at its default is above this host's" },
	{ "a block device sysfs does not show", DISK("/dev/unknown"), NULL,
	    "sysfs does not show" },
	{ "a dm device over dom0's root", DISK("/dev/mapper/overroot"), NULL,
	    "dm-9 is built on vda1, which is mounted" },
	{ "the default shadow pool of 128 vCPUs past MaxMemory",
	    BI("\"max_vcpus\":128"), "MaxMemory 256M\n",
	    "this host allows 262144 KiB" },
	/* shapes */
	{ "nesting 40 deep", "{\"c_info\":{\"name\":\"g\"},\"x\":"
	    "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]"
	    "]]]]]]]]]]]]]]]}", NULL, "nests deeper than 32" },
	{ "c_info an array", "{\"c_info\":[]}", NULL,
	    "c_info or b_info is not an object" },
	{ "a config that is no object", "[1]", NULL,
	    "domain config is not a JSON object" },
	{ "17 disks", D("\"disks\":[{},{},{},{},{},{},{},{},{},{},{},{},{},{},"
	    "{},{},{}]"), NULL, "17 disks, at most 16" },

	/* what a site runs every day */
	{ "an LV", DISK("/dev/vg/lv1"), NULL, NULL },
	{ "a loop device", DISK("/dev/loop0"), NULL, NULL },
	{ "a spare partition of dom0's disk", DISK("/dev/vda3"), NULL, NULL },
	{ "a whole free disk", DISK("/dev/sdb"), NULL, NULL },
	{ "an image file", DISK("/var/lib/xen/images/a.img"), NULL, NULL },
	{ "an image under a DiskDir of the policy", DISK("/srv/img/b.img"),
	    "DiskDir /srv/img\n", NULL },
	{ "a bridged vif", NIC("\"bridge\":\"xenbr0\",\"mac\":"
	    "\"00:16:3e:00:00:01\""), NULL, NULL },
	{ "a vif on the default bridge", NIC("\"devid\":0"), NULL, NULL },
	{ "a routed vif the policy allows", NIC("\"script\":\"vif-route\","
	    "\"ip\":\"192.0.2.7\""), "Script vif-route\n", NULL },
	{ "nested HVM the policy allows", BI("\"nested_hvm\":\"True\""),
	    "AllowNestedHvm yes\n", NULL },
	{ "web1 migrating onto this host: its own name, UUID and disk",
	    "{\"c_info\":{\"type\":\"pvh\",\"name\":\"web1\",\"uuid\":\""
	    U_WEB1 "\"},\"b_info\":{\"max_memkb\":262144},\"disks\":[{\"vdev\":"
	    "\"xvda\",\"pdev_path\":\"/var/lib/xen/images/web1.img\"}]}",
	    NULL, NULL },
	{ "a sim guest", "{\"c_info\":{\"name\":\"s\"},\"xenpipe\":"
	    "{\"simulated\":true,\"nr_pages\":4096}}", NULL, NULL },
};

/* What the receiver does: parse the config once, then hold it to p. */
static int
check(const struct policy *p, const struct host_facts *f, const char *json,
    const char *name, struct plan *plan)
{
	yajl_val root = NULL;
	int rc;

	if (json != NULL && (root = lj_parse(json, strlen(json))) == NULL)
		return -1;
	rc = policy_check(p, f, root, name, plan);
	lj_free(root);
	return rc;
}

int
main(void)
{
	struct host_facts f;
	struct policy p;
	struct plan plan;
	char tmp[] = "/tmp/test-policy-XXXXXX";
	size_t i;
	int fd, bad = 0, rc;

	for (i = 0; i < sizeof(blks) / sizeof(blks[0]); i++) {
		size_t j;

		for (j = 0; j < sizeof(paths) / sizeof(paths[0]); j++)
			if (paths[j].kind == 'b' &&
			    strcmp(paths[j].real + 5, blks[i].name) == 0)
				blks[i].dev = makedev(paths[j].maj,
				    paths[j].min);
	}
	blks[1].parent = blks[2].parent = blks[3].parent = blks[0].dev;
	blks[12].dev = makedev(8, 33);
	blks[12].parent = blks[11].dev;
	blks[13].under[0] = blks[1].dev;
	swap_dev[0] = makedev(254, 1);
	memset(&f, 0, sizeof(f));
	f.mem_kb = 8 << 20;
	f.blks = blks;
	f.n_blks = sizeof(blks) / sizeof(blks[0]);
	f.doms = doms;
	f.n_doms = 3;
	f.held = held;
	f.n_held = 2;
	f.bridges = bridges;
	f.n_bridges = 2;
	f.swap_files_dev = swap_dev;
	f.swap_files_ino = swap_ino;
	f.n_swap_files = 1;
	f.resolve = fake_resolve;

	printf("1..%zu\n", sizeof(rows) / sizeof(rows[0]) + 2);
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		const char *msg;

		policy_defaults(&p);
		if (r->policy != NULL) {
			if ((fd = mkstemp(tmp)) < 0 ||
			    write(fd, r->policy, strlen(r->policy)) < 0)
				return 2;
			close(fd);
			rc = policy_load(&p, tmp);
			unlink(tmp);
			strcpy(tmp, "/tmp/test-policy-XXXXXX");
			if (rc < 0) {
				printf("not ok %zu - %s: policy: %s\n", i + 1,
				    r->what, xp_errmsg());
				bad = 1;
				continue;
			}
		}
		rc = check(&p, &f, r->json, NULL, &plan);
		msg = rc < 0 ? xp_errmsg() : "accepted";
		if (r->refused == NULL ? rc == 0 : rc < 0 &&
		    strstr(msg, r->refused) != NULL &&
		    strchr(msg, '\n') == NULL && strchr(msg, '\033') == NULL &&
		    xp_errclass() == XE_STREAM) {
			printf("ok %zu - %s %s: %s\n", i + 1, r->refused ?
			    "refused" : "accepted", r->what, msg);
		} else {
			printf("not ok %zu - %s: want %s%s%s, got: %s\n", i + 1,
			    r->what, r->refused ? "refusal \"" : "acceptance",
			    r->refused ? r->refused : "", r->refused ? "\"" :
			    "", msg);
			bad = 1;
		}
	}
	/* the receiver's -n makes a copy: web1's UUID is replaced, not refused */
	policy_defaults(&p);
	i = sizeof(rows) / sizeof(rows[0]);
	rc = check(&p, &f, CI("\"name\":\"web1\",\"uuid\":\"" U_WEB1 "\""),
	    "web1-copy", &plan);
	if (rc == 0 && plan.new_uuid && strcmp(plan.uuid, U_WEB1) != 0 &&
	    strlen(plan.uuid) == 36)
		printf("ok %zu - accepted a copy by -n, with a UUID of its own: "
		    "%s\n", i + 1, plan.uuid);
	else {
		printf("not ok %zu - a copy by -n: %s\n", i + 1, rc < 0 ?
		    xp_errmsg() : plan.uuid);
		bad = 1;
	}
	/* ... but not under the name of a third domain */
	rc = check(&p, &f, CI("\"name\":\"web1\",\"uuid\":\"" U_WEB1 "\""),
	    "db", &plan);
	if (rc < 0 && strstr(xp_errmsg(), "domain 2 is already called db"))
		printf("ok %zu - refused a copy by -n under db's name: %s\n",
		    i + 2, xp_errmsg());
	else {
		printf("not ok %zu - a copy by -n named db: %s\n", i + 2,
		    rc < 0 ? xp_errmsg() : "accepted");
		bad = 1;
	}
	return bad;
}
