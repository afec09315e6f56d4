/* config.c - the JSON domain config of the xl header; see config.h. */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "config.h"
#include "err.h"
#include "libxl_json.h"
#include "stream_format.h"
#include "version.h"

char *
config_to_json(const struct dom_info *info, const char *backend, int simulated)
{
	const char *type;
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
	bad |= lj_gen_str(g, "c_info");
	bad |= yajl_gen_map_open(g);
	bad |= lj_gen_kv_str(g, "type", type);
	bad |= lj_gen_kv_str(g, "name", info->name);
	if (info->uuid[0] != '\0')
		bad |= lj_gen_kv_str(g, "uuid", info->uuid);
	bad |= yajl_gen_map_close(g);
	bad |= lj_gen_str(g, "b_info");
	bad |= yajl_gen_map_open(g);
	bad |= lj_gen_kv_int(g, "max_vcpus", info->nr_vcpus);
	bad |= lj_gen_kv_int(g, "max_memkb", (long long)info->nr_pages * 4);
	bad |= lj_gen_kv_int(g, "target_memkb", (long long)info->nr_pages * 4);
	bad |= yajl_gen_map_close(g);
	bad |= lj_gen_str(g, "xenpipe");
	bad |= yajl_gen_map_open(g);
	bad |= lj_gen_kv_str(g, "version", XENPIPE_VERSION);
	bad |= lj_gen_kv_str(g, "backend", backend);
	bad |= lj_gen_str(g, "simulated");
	bad |= yajl_gen_bool(g, simulated);
	bad |= lj_gen_kv_int(g, "nr_pages", (long long)info->nr_pages);
	bad |= yajl_gen_map_close(g);
	bad |= yajl_gen_map_close(g);
	if (bad)
		xp_seterr(XE_SYS, "config: JSON generation failed");
	else
		json = lj_gen_take(g);
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
config_from_tree(yajl_val root, struct dom_config *cfg)
{
	yajl_val cinfo = lj_member(root, "c_info");
	yajl_val binfo = lj_member(root, "b_info");
	yajl_val xp = lj_member(root, "xenpipe");
	const char *s;
	long long n;
	int on;

	if (lj_str(cinfo, "c_info", "name", &s) < 0)
		return -1;
	if (s != NULL) {
		if (!config_valid_name(s)) {
			xp_seterr(XE_STREAM, "domain config: bad domain name");
			return -1;
		}
		strcpy(cfg->name, s);
	}
	if (lj_str(cinfo, "c_info", "uuid", &s) < 0)
		return -1;
	if (s != NULL && config_uuid(s, cfg->uuid) < 0) {
		xp_seterr(XE_STREAM, "domain config: bad uuid");
		return -1;
	}
	if (lj_str(cinfo, "c_info", "type", &s) < 0)
		return -1;
	if (s != NULL && strcmp(s, "pv") == 0)
		cfg->dom_type = DHDR_TYPE_X86_PV;
	else if (s != NULL && (strcmp(s, "pvh") == 0 || strcmp(s, "hvm") == 0))
		cfg->dom_type = DHDR_TYPE_X86_HVM;
	if (lj_int(binfo, "b_info", "max_vcpus", 1, 4096, 0, &n) < 0)
		return -1;
	if (n != 0)
		cfg->nr_vcpus = n;
	if (lj_bool(xp, "xenpipe", "simulated", &on) < 0)
		return -1;
	cfg->simulated = on;
	if (cfg->simulated) {
		if (lj_int(xp, "xenpipe", "nr_pages", 1, DOM_PAGES_MAX, 0,
		    &n) < 0 || n == 0) {
			xp_seterr(XE_STREAM, "domain config: simulated domain "
			    "without a valid xenpipe.nr_pages");
			return -1;
		}
		cfg->nr_pages = n;
	}
	cfg->tree = root;
	return 0;
}

int
config_from_json(const char *json, size_t len, struct dom_config *cfg)
{
	yajl_val root;
	int rc;

	if ((root = lj_parse(json, len)) == NULL)
		return -1;
	rc = config_from_tree(root, cfg);
	cfg->tree = NULL;
	lj_free(root);
	return rc;
}

char *
config_rewrite(const char *json, const char *name, const char *uuid)
{
	yajl_val root, cinfo;
	char *out = NULL;

	if ((root = lj_parse(json, strlen(json))) == NULL)
		return NULL;
	cinfo = lj_member(root, "c_info");
	if ((name == NULL || lj_set_str(cinfo, "name", name) == 0) &&
	    (uuid == NULL || lj_set_str(cinfo, "uuid", uuid) == 0))
		out = lj_text(root);
	lj_free(root);
	return out;
}
