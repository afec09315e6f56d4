/* libxl_json.c - the domain config as a tree; see libxl_json.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "libxl_json.h"

int
lj_depth(const char *json, size_t len)
{
	int depth = 0, max = 0, in_str = 0;
	size_t i;

	for (i = 0; i < len && json[i] != '\0'; i++) {
		if (in_str) {
			if (json[i] == '\\')
				i++;
			else if (json[i] == '"')
				in_str = 0;
		} else if (json[i] == '"')
			in_str = 1;
		else if (json[i] == '[' || json[i] == '{') {
			if (++depth > max)
				max = depth;
		} else if (json[i] == ']' || json[i] == '}')
			depth--;
	}
	return max;
}

yajl_val
lj_parse(const char *json, size_t len)
{
	char errbuf[128], *copy, *nl;
	yajl_val root;

	errno = 0;
	if (lj_depth(json, len) > LJ_DEPTH_MAX) {
		xp_seterr(XE_STREAM, "domain config nests deeper than %d "
		    "levels", LJ_DEPTH_MAX);
		return NULL;
	}
	if ((copy = strndup(json, len)) == NULL) {
		xp_seterr(XE_SYS, "config");
		return NULL;
	}
	errbuf[0] = '\0';
	root = yajl_tree_parse(copy, errbuf, sizeof(errbuf));
	free(copy);
	if (root != NULL && YAJL_IS_OBJECT(root))
		return root;
	if ((nl = strchr(errbuf, '\n')) != NULL)
		*nl = '\0';
	errno = 0;
	xp_seterr(XE_STREAM, "domain config is not a JSON object%s%s",
	    root ? "" : ": ", root ? "" : errbuf);
	yajl_tree_free(root);
	return NULL;
}

void
lj_free(yajl_val root)
{
	yajl_tree_free(root);
}

yajl_val
lj_member(yajl_val o, const char *k)
{
	size_t i;

	if (o == NULL || !YAJL_IS_OBJECT(o))
		return NULL;
	for (i = 0; i < o->u.object.len; i++)
		if (strcmp(o->u.object.keys[i], k) == 0)
			return YAJL_IS_NULL(o->u.object.values[i]) ? NULL :
			    o->u.object.values[i];
	return NULL;
}

size_t
lj_len(yajl_val v)
{
	return v != NULL && YAJL_IS_ARRAY(v) ? v->u.array.len : 0;
}

int
lj_set_str(yajl_val o, const char *k, const char *s)
{
	yajl_val v = NULL, *values;
	const char **keys;
	char *copy;
	size_t i, n;

	if (o == NULL || !YAJL_IS_OBJECT(o)) {
		errno = 0;
		xp_seterr(XE_STREAM, "domain config: no object to set %s in",
		    k);
		return -1;
	}
	if ((copy = strdup(s)) == NULL)
		goto nomem;
	n = o->u.object.len;
	for (i = 0; i < n; i++)
		if (strcmp(o->u.object.keys[i], k) == 0)
			break;
	if (i < n) {
		/* yajl frees what it allocated: only its own kind of string */
		yajl_tree_free(o->u.object.values[i]);
		o->u.object.values[i] = NULL;
	} else {
		keys = realloc(o->u.object.keys, (n + 1) * sizeof(*keys));
		if (keys == NULL)
			goto nomem_copy;
		o->u.object.keys = keys;
		values = realloc(o->u.object.values, (n + 1) *
		    sizeof(*values));
		if (values == NULL)
			goto nomem_copy;
		o->u.object.values = values;
		if ((keys[n] = strdup(k)) == NULL)
			goto nomem_copy;
		values[n] = NULL;
		o->u.object.len = n + 1;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL)
		goto nomem_copy;
	v->type = yajl_t_string;
	v->u.string = copy;
	o->u.object.values[i] = v;
	return 0;
nomem_copy:
	free(copy);
nomem:
	xp_seterr(XE_SYS, "config");
	return -1;
}

int
lj_gen_str(yajl_gen g, const char *s)
{
	return yajl_gen_string(g, (const unsigned char *)s, strlen(s)) !=
	    yajl_gen_status_ok;
}

int
lj_gen_kv_str(yajl_gen g, const char *k, const char *v)
{
	return lj_gen_str(g, k) | lj_gen_str(g, v);
}

int
lj_gen_kv_int(yajl_gen g, const char *k, long long v)
{
	return lj_gen_str(g, k) | (yajl_gen_integer(g, v) !=
	    yajl_gen_status_ok);
}

char *
lj_gen_take(yajl_gen g)
{
	const unsigned char *buf;
	size_t len;
	char *out;

	if (yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
		errno = 0;
		xp_seterr(XE_STATE, "JSON: cannot generate it");
		return NULL;
	}
	if ((out = malloc(len + 1)) == NULL) {
		xp_seterr(XE_SYS, "JSON");
		return NULL;
	}
	memcpy(out, buf, len);
	out[len] = '\0';
	return out;
}

static int
gen_val(yajl_gen g, yajl_val v, int depth)
{
	const char *k;
	size_t i;
	int bad = 0;

	if (v == NULL)
		return yajl_gen_null(g) != yajl_gen_status_ok;
	if (depth > LJ_DEPTH_MAX)
		return 1;
	switch (v->type) {
	case yajl_t_string:
		return lj_gen_str(g, YAJL_GET_STRING(v));
	case yajl_t_number:
		k = YAJL_GET_NUMBER(v);
		return yajl_gen_number(g, k, strlen(k)) != yajl_gen_status_ok;
	case yajl_t_true:
	case yajl_t_false:
		return yajl_gen_bool(g, v->type == yajl_t_true) !=
		    yajl_gen_status_ok;
	case yajl_t_null:
		return yajl_gen_null(g) != yajl_gen_status_ok;
	case yajl_t_array:
		bad |= yajl_gen_array_open(g);
		for (i = 0; i < v->u.array.len; i++)
			bad |= gen_val(g, v->u.array.values[i], depth + 1);
		return bad | yajl_gen_array_close(g);
	case yajl_t_object:
		bad |= yajl_gen_map_open(g);
		for (i = 0; i < v->u.object.len; i++) {
			bad |= lj_gen_str(g, v->u.object.keys[i]);
			bad |= gen_val(g, v->u.object.values[i], depth + 1);
		}
		return bad | yajl_gen_map_close(g);
	default:
		return 1;
	}
}

char *
lj_text(yajl_val root)
{
	yajl_gen g;
	char *out = NULL;

	if ((g = yajl_gen_alloc(NULL)) == NULL) {
		xp_seterr(XE_SYS, "config");
		return NULL;
	}
	yajl_gen_config(g, yajl_gen_beautify, 1);
	if (gen_val(g, root, 0) != 0) {
		errno = 0;
		xp_seterr(XE_STATE, "domain config: cannot write it");
	} else
		out = lj_gen_take(g);
	yajl_gen_free(g);
	return out;
}

/* ---- typed reads ---- */

/* A key as a message may quote it: at most 32 bytes (xp_seterr scrubs). */
#define KEY	"%.32s"

int
lj_str(yajl_val o, const char *what, const char *k, const char **out)
{
	yajl_val v = lj_member(o, k);

	*out = NULL;
	if (v == NULL)
		return 0;
	if (!YAJL_IS_STRING(v)) {
		errno = 0;
		xp_seterr(XE_STREAM, "domain config: %s: %s is not a string",
		    what, k);
		return -1;
	}
	*out = YAJL_GET_STRING(v);
	return 0;
}

int
lj_int(yajl_val o, const char *what, const char *k, long long min,
    long long max, long long def, long long *out)
{
	yajl_val v = lj_member(o, k);

	*out = def;
	if (v == NULL)
		return 0;
	if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < min ||
	    YAJL_GET_INTEGER(v) > max) {
		errno = 0;
		xp_seterr(XE_STREAM, "domain config: %s: %s is not an integer "
		    "in %lld..%lld", what, k, min, max);
		return -1;
	}
	*out = YAJL_GET_INTEGER(v);
	return 0;
}

int
lj_flag(yajl_val o, const char *what, const char *k, int *out)
{
	long long n;

	if (lj_int(o, what, k, INT32_MIN, INT32_MAX, 0, &n) < 0)
		return -1;
	*out = n != 0;
	return 0;
}

int
lj_bool(yajl_val o, const char *what, const char *k, int *out)
{
	yajl_val v = lj_member(o, k);

	*out = 0;
	if (v == NULL)
		return 0;
	if (!YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v)) {
		errno = 0;
		xp_seterr(XE_STREAM, "domain config: %s: %s is not a boolean",
		    what, k);
		return -1;
	}
	*out = YAJL_IS_TRUE(v);
	return 0;
}

int
lj_defbool(yajl_val o, const char *what, const char *k, int def, int *out)
{
	yajl_val v = lj_member(o, k);
	const char *s;

	*out = def;
	if (v == NULL)
		return 0;
	if (YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)) {
		*out = YAJL_IS_TRUE(v);
		return 0;
	}
	s = YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : "";
	if (strcmp(s, "True") == 0)
		*out = 1;
	else if (strcmp(s, "False") == 0)
		*out = 0;
	else if (strcmp(s, "<default>") != 0) {
		errno = 0;
		xp_seterr(XE_STREAM, "domain config: %s: %s is not True, "
		    "False or <default>", what, k);
		return -1;
	}
	return 0;
}

int
lj_enum(yajl_val o, const char *what, const char *k,
    const char *const *names, int def, uint32_t *out)
{
	const char *s;
	int i;

	*out = def;
	if (lj_str(o, what, k, &s) < 0)
		return -1;
	if (s == NULL)
		return 0;
	for (i = 0; names[i] != NULL; i++)
		if (names[i][0] != '\0' && strcmp(s, names[i]) == 0) {
			*out = i;
			return 0;
		}
	errno = 0;
	xp_seterr(XE_STREAM, "domain config: %s: %s \"" KEY "\" is not "
	    "supported", what, k, s);
	return -1;
}

int
lj_array(yajl_val o, const char *k, size_t max, yajl_val *out)
{
	yajl_val v = lj_member(o, k);

	*out = NULL;
	if (v == NULL)
		return 0;
	errno = 0;
	if (!YAJL_IS_ARRAY(v)) {
		xp_seterr(XE_STREAM, "domain config: %s is not an array", k);
		return -1;
	}
	if (v->u.array.len > max) {
		xp_seterr(XE_STREAM, "domain config: %zu %s, at most %zu",
		    v->u.array.len, k, max);
		return -1;
	}
	*out = v;
	return 0;
}

int
lj_keys(yajl_val o, const char *what, const char *const *known, int colo)
{
	const char *k;
	size_t i, j, n;

	errno = 0;
	if (o == NULL || !YAJL_IS_OBJECT(o)) {
		xp_seterr(XE_STREAM, "domain config: %s is not an object",
		    what);
		return -1;
	}
	n = o->u.object.len;
	if (n > LJ_KEYS_MAX) {
		xp_seterr(XE_STREAM, "domain config: %s has %zu fields", what, n);
		return -1;
	}
	for (i = 0; i < n; i++) {
		k = o->u.object.keys[i];
		for (j = 0; j < i; j++)
			if (strcmp(o->u.object.keys[j], k) == 0) {
				xp_seterr(XE_STREAM, "domain config: %s: " KEY
				    " twice", what, k);
				return -1;
			}
		for (j = 0; known[j] != NULL; j++)
			if (strcmp(known[j], k) == 0)
				break;
		if (known[j] != NULL)
			continue;
		if (colo && strncmp(k, "colo", 4) == 0) {
			if (YAJL_IS_NULL(o->u.object.values[i]))
				continue;
			xp_seterr(XE_STREAM, "domain config: %s: COLO (" KEY
			    ") is not supported", what, k);
			return -1;
		}
		xp_seterr(XE_STREAM, "domain config: %s: unknown field " KEY,
		    what, k);
		return -1;
	}
	return 0;
}
