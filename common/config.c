/* config.c - the JSON domain config of the xl header; see config.h. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "config.h"
#include "err.h"
#include "stream_format.h"
#include "version.h"

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
	if (info->uuid[0] != '\0')
		bad |= gen_kv_str(g, "uuid", info->uuid);
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

int
config_uuid(const char *s, char *out)
{
	size_t i;

	if (strlen(s) != 36)
		return -1;
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -1;
			out[i] = '-';
		} else if (isxdigit((unsigned char)s[i]))
			out[i] = tolower((unsigned char)s[i]);
		else
			return -1;
	}
	out[36] = '\0';
	return strcmp(out, "00000000-0000-0000-0000-000000000000") == 0 ? -1 :
	    0;
}

int
config_uuid_fresh(char *out)
{
	uint8_t h[16];

	if (getrandom(h, sizeof(h), 0) != sizeof(h)) {
		xp_seterr(XE_SYS, "uuid");
		return -1;
	}
	h[6] = (h[6] & 0x0f) | 0x40;
	h[8] = (h[8] & 0x3f) | 0x80;
	snprintf(out, DOM_UUID_LEN, "%02x%02x%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x%02x%02x%02x%02x", h[0], h[1], h[2], h[3], h[4],
	    h[5], h[6], h[7], h[8], h[9], h[10], h[11], h[12], h[13], h[14],
	    h[15]);
	return 0;
}

int
config_json_depth(const char *json, size_t len)
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

	if (config_json_depth(json, len) > CONFIG_DEPTH_MAX) {
		xp_seterr(XE_STREAM, "domain config nests deeper than %d "
		    "levels", CONFIG_DEPTH_MAX);
		return -1;
	}
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
	v = get(root, "c_info", "uuid", yajl_t_string);
	s = v ? YAJL_GET_STRING(v) : NULL;
	if (s != NULL && config_uuid(s, cfg->uuid) < 0) {
		xp_seterr(XE_STREAM, "domain config: bad uuid");
		goto out;
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

/* What config_rewrite puts into c_info. */
struct rewrite {
	const char *name, *uuid;
};

/* Emit v; c_info's name and uuid (depth 2 under the root) become rw's. */
static int
gen_val(yajl_gen g, yajl_val v, int depth, int in_cinfo,
    const struct rewrite *rw)
{
	const char *k;
	size_t i;
	int bad = 0, uuid_seen = 0;

	if (depth > CONFIG_DEPTH_MAX)
		return 1;
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
			    rw);
		return bad | yajl_gen_array_close(g);
	case yajl_t_object:
		bad |= yajl_gen_map_open(g);
		for (i = 0; i < v->u.object.len; i++) {
			k = v->u.object.keys[i];
			bad |= gen_str(g, k);
			if (in_cinfo && strcmp(k, "name") == 0 && rw->name)
				bad |= gen_str(g, rw->name);
			else if (in_cinfo && strcmp(k, "uuid") == 0 &&
			    rw->uuid) {
				bad |= gen_str(g, rw->uuid);
				uuid_seen = 1;
			} else
				bad |= gen_val(g, v->u.object.values[i],
				    depth + 1, depth == 0 &&
				    strcmp(k, "c_info") == 0, rw);
		}
		if (in_cinfo && rw->uuid && !uuid_seen)
			bad |= gen_kv_str(g, "uuid", rw->uuid);
		return bad | yajl_gen_map_close(g);
	default:
		return 1;
	}
}

char *
config_rewrite(const char *json, const char *name, const char *uuid)
{
	struct rewrite rw = { name, uuid };
	const unsigned char *buf;
	char errbuf[128], *out = NULL;
	yajl_val root = NULL;
	yajl_gen g = NULL;
	size_t len;

	if (config_json_depth(json, strlen(json)) > CONFIG_DEPTH_MAX ||
	    (root = yajl_tree_parse(json, errbuf, sizeof(errbuf))) == NULL ||
	    !YAJL_IS_OBJECT(root)) {
		xp_seterr(XE_STATE, "domain config is not a JSON object");
		goto out;
	}
	if ((g = yajl_gen_alloc(NULL)) == NULL) {
		xp_seterr(XE_SYS, "config");
		goto out;
	}
	yajl_gen_config(g, yajl_gen_beautify, 1);
	if (gen_val(g, root, 0, 0, &rw) != 0 ||
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
