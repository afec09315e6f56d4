/* config.c - the JSON domain config of the xl header; see config.h. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "cli.h"
#include "config.h"
#include "err.h"
#include "stream_format.h"

static int
gen_str(yajl_gen g, const char *s)
{
	return yajl_gen_string(g, (const unsigned char *)s, strlen(s));
}

static int
gen_kv_str(yajl_gen g, const char *k, const char *v)
{
	return gen_str(g, k) || gen_str(g, v);
}

static int
gen_kv_int(yajl_gen g, const char *k, long long v)
{
	return gen_str(g, k) || yajl_gen_integer(g, v);
}

char *
config_to_json(const struct dom_info *info, const char *backend, int simulated)
{
	const unsigned char *buf;
	const char *type;
	size_t len;
	char *json = NULL;
	yajl_gen g;
	int bad = 0;

	g = yajl_gen_alloc(NULL);
	if (g == NULL) {
		xp_seterr(XE_SYS, "config");
		return NULL;
	}
	yajl_gen_config(g, yajl_gen_beautify, 1);
	type = info->dom_type == DHDR_TYPE_X86_PV ? "pv" : "pvh";
	bad |= yajl_gen_map_open(g);
	bad |= gen_str(g, "c_info");
	bad |= yajl_gen_map_open(g);
	bad |= gen_kv_str(g, "type", type);
	bad |= gen_kv_str(g, "name", info->name);
	bad |= yajl_gen_map_close(g);
	bad |= gen_str(g, "b_info");
	bad |= yajl_gen_map_open(g);
	bad |= gen_kv_int(g, "max_vcpus", info->nr_vcpus);
	bad |= gen_kv_int(g, "max_memkb", (long long)info->nr_pages * 4);
	bad |= gen_kv_int(g, "target_memkb", (long long)info->nr_pages * 4);
	bad |= yajl_gen_map_close(g);
	bad |= gen_str(g, "xenpipe");
	bad |= yajl_gen_map_open(g);
	bad |= gen_kv_str(g, "version", XENPIPE_VERSION);
	bad |= gen_kv_str(g, "backend", backend);
	bad |= gen_str(g, "simulated");
	bad |= yajl_gen_bool(g, simulated);
	bad |= gen_kv_int(g, "nr_pages", (long long)info->nr_pages);
	bad |= yajl_gen_map_close(g);
	bad |= yajl_gen_map_close(g);
	if (bad || yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
		xp_seterr(XE_SYS, "config: JSON generation failed");
		goto out;
	}
	json = strndup((const char *)buf, len);
	if (json == NULL)
		xp_seterr(XE_SYS, "config");
out:
	yajl_gen_free(g);
	return json;
}

int
config_valid_name(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len >= DOM_NAME_MAX || name[0] == '.' || name[0] == '-')
		return 0;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

static yajl_val
get(yajl_val root, const char *a, const char *b, yajl_type type)
{
	const char *path[] = { a, b, NULL };

	return yajl_tree_get(root, path, type);
}

int
config_from_json(const char *json, size_t len, struct dom_config *cfg)
{
	char errbuf[128], *copy;
	yajl_val root, v;
	const char *s;
	long long n;
	int rc = -1;

	copy = strndup(json, len);
	if (copy == NULL) {
		xp_seterr(XE_SYS, "config");
		return -1;
	}
	root = yajl_tree_parse(copy, errbuf, sizeof(errbuf));
	free(copy);
	if (root == NULL || !YAJL_IS_OBJECT(root)) {
		char *nl = strchr(errbuf, '\n');

		if (nl)
			*nl = '\0';
		xp_seterr(XE_STREAM, "domain config is not a JSON object%s%s",
		    root ? "" : ": ", root ? "" : errbuf);
		goto out;
	}
	v = get(root, "c_info", "name", yajl_t_string);
	s = v ? YAJL_GET_STRING(v) : NULL;
	if (s != NULL) {
		if (!config_valid_name(s)) {
			xp_seterr(XE_STREAM, "domain config: bad domain name");
			goto out;
		}
		strcpy(cfg->name, s);
	}
	v = get(root, "c_info", "type", yajl_t_string);
	s = v ? YAJL_GET_STRING(v) : NULL;
	if (s != NULL && strcmp(s, "pv") == 0)
		cfg->dom_type = DHDR_TYPE_X86_PV;
	else if (s != NULL && (strcmp(s, "pvh") == 0 || strcmp(s, "hvm") == 0))
		cfg->dom_type = DHDR_TYPE_X86_HVM;
	v = get(root, "b_info", "max_vcpus", yajl_t_number);
	if (v != NULL && YAJL_IS_INTEGER(v)) {
		n = YAJL_GET_INTEGER(v);
		if (n < 1 || n > 4096) {
			xp_seterr(XE_STREAM, "domain config: %lld vCPUs", n);
			goto out;
		}
		cfg->nr_vcpus = n;
	}
	v = get(root, "xenpipe", "simulated", yajl_t_true);
	cfg->simulated = v != NULL;
	if (cfg->simulated) {
		v = get(root, "xenpipe", "nr_pages", yajl_t_number);
		if (v == NULL || !YAJL_IS_INTEGER(v) ||
		    YAJL_GET_INTEGER(v) < 1 ||
		    (unsigned long long)YAJL_GET_INTEGER(v) > DOM_PAGES_MAX) {
			xp_seterr(XE_STREAM, "domain config: simulated domain "
			    "without a valid xenpipe.nr_pages");
			goto out;
		}
		cfg->nr_pages = YAJL_GET_INTEGER(v);
	}
	rc = 0;
out:
	yajl_tree_free(root);
	return rc;
}

/* Emit v; the string at c_info.name (depth 2 under the root) becomes name. */
static int
gen_val(yajl_gen g, yajl_val v, int depth, int in_cinfo, const char *name)
{
	const char *k;
	size_t i;
	int bad = 0;

	if (depth > 64)
		return 1;	/* libxl's config is nowhere near as deep */
	switch (v->type) {
	case yajl_t_string:
		return gen_str(g, YAJL_GET_STRING(v));
	case yajl_t_number:
		k = YAJL_GET_NUMBER(v);
		return yajl_gen_number(g, k, strlen(k));
	case yajl_t_true:
	case yajl_t_false:
		return yajl_gen_bool(g, v->type == yajl_t_true);
	case yajl_t_null:
		return yajl_gen_null(g);
	case yajl_t_array:
		bad |= yajl_gen_array_open(g);
		for (i = 0; i < v->u.array.len; i++)
			bad |= gen_val(g, v->u.array.values[i], depth + 1, 0,
			    name);
		return bad | yajl_gen_array_close(g);
	case yajl_t_object:
		bad |= yajl_gen_map_open(g);
		for (i = 0; i < v->u.object.len; i++) {
			k = v->u.object.keys[i];
			bad |= gen_str(g, k);
			if (in_cinfo && strcmp(k, "name") == 0)
				bad |= gen_str(g, name);
			else
				bad |= gen_val(g, v->u.object.values[i],
				    depth + 1, depth == 0 &&
				    strcmp(k, "c_info") == 0, name);
		}
		return bad | yajl_gen_map_close(g);
	default:
		return 1;
	}
}

char *
config_set_name(const char *json, const char *name)
{
	const unsigned char *buf;
	char errbuf[128], *out = NULL;
	yajl_val root;
	yajl_gen g = NULL;
	size_t len;

	if ((root = yajl_tree_parse(json, errbuf, sizeof(errbuf))) == NULL ||
	    !YAJL_IS_OBJECT(root)) {
		xp_seterr(XE_STATE, "domain config is not a JSON object");
		goto out;
	}
	if ((g = yajl_gen_alloc(NULL)) == NULL) {
		xp_seterr(XE_SYS, "config");
		goto out;
	}
	yajl_gen_config(g, yajl_gen_beautify, 1);
	if (gen_val(g, root, 0, 0, name) != 0 ||
	    yajl_gen_get_buf(g, &buf, &len) != yajl_gen_status_ok) {
		xp_seterr(XE_STATE, "domain config: cannot rewrite it");
		goto out;
	}
	if ((out = malloc(len + 1)) == NULL) {
		xp_seterr(XE_SYS, "config");
		goto out;
	}
	memcpy(out, buf, len);
	out[len] = '\0';
out:
	if (g != NULL)
		yajl_gen_free(g);
	yajl_tree_free(root);
	return out;
}
