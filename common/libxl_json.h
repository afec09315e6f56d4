/*
 * libxl_json.h - the domain config that travels: libxl_domain_config as
 * libxl writes it (c_info, b_info, disks, nics...), plus our "xenpipe"
 * object.  The receiver parses it once (lj_parse, depth-checked first) and
 * hands the tree down: config.c takes what every backend needs, policy.c
 * checks the proposal, the xen backend builds from it (xen_restore.c,
 * xen_dev.c).  The typed reads refuse, with one line naming the field,
 * what libxl would not have written.  The writers' few yajl helpers are
 * here too.  Callers: config.c, policy.c, restore.c, xen_restore.c,
 * xen_dev.c, xen_save.c, stream-info, dom-list, lz4pipe.c.
 */
#ifndef XENPIPE_LIBXL_JSON_H
#define XENPIPE_LIBXL_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

/*
 * libxl's config nests 4 deep; yajl's tree and its free recurse once a
 * level, so a deeper one is refused before yajl sees it.
 */
#define LJ_DEPTH_MAX	32
#define LJ_KEYS_MAX	128	/* members of one object that lj_keys takes */

/* How deep json (len bytes) nests arrays and objects. */
int lj_depth(const char *json, size_t len);
/*
 * json (len bytes, need not be NUL-terminated) as a tree whose root is an
 * object; NULL with xp_err (XE_STREAM) when it is not one.
 */
yajl_val lj_parse(const char *json, size_t len);
void lj_free(yajl_val root);
/* The tree as JSON text (indented, as libxl writes it), malloc'd; NULL with xp_err. */
char *lj_text(yajl_val root);

/* o's member k; NULL when o is no object, or k is absent or null. */
yajl_val lj_member(yajl_val o, const char *k);
/* How many elements v has, when it is an array; else 0. */
size_t lj_len(yajl_val v);
/* Set o's string member k to s, adding it when absent.  -1 with xp_err. */
int lj_set_str(yajl_val o, const char *k, const char *s);

/*
 * Typed reads of o's member k, def (or NULL) when absent; what names o in
 * the message ("domain config: WHAT: K is not ...").
 */
int lj_str(yajl_val o, const char *what, const char *k, const char **out);
int lj_int(yajl_val o, const char *what, const char *k, long long min,
    long long max, long long def, long long *out);
/* libxl's integer used as a flag: nonzero is 1. */
int lj_flag(yajl_val o, const char *what, const char *k, int *out);
/* libxl's bool: JSON true or false. */
int lj_bool(yajl_val o, const char *what, const char *k, int *out);
/* libxl's defbool: "True", "False", "<default>" (def), or a JSON bool. */
int lj_defbool(yajl_val o, const char *what, const char *k, int def,
    int *out);
/* An enum: k's index in names (NULL-terminated; "" never matches). */
int lj_enum(yajl_val o, const char *what, const char *k,
    const char *const *names, int def, uint32_t *out);
/* An array member of at most max elements, or NULL when absent. */
int lj_array(yajl_val o, const char *k, size_t max, yajl_val *out);
/*
 * o is an object whose members are each one of known, once; with colo,
 * members colo* must be null (a nic's COLO settings, never built here).
 */
int lj_keys(yajl_val o, const char *what, const char *const *known,
    int colo);

/* yajl's generator, as the writers use it: nonzero on failure. */
int lj_gen_str(yajl_gen g, const char *s);
int lj_gen_kv_str(yajl_gen g, const char *k, const char *v);
int lj_gen_kv_int(yajl_gen g, const char *k, long long v);
/* g's output, malloc'd and NUL-terminated; NULL with xp_err. */
char *lj_gen_take(yajl_gen g);

#endif
