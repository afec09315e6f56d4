/*
 * config.h - the domain configuration that travels in the xl header: JSON
 * in the shape of libxl_domain_config ("c_info", "b_info"), plus a
 * "xenpipe" object saying which backend wrote it and, for the sim, the
 * exact size.  Built and parsed with yajl; a parse failure is a stream
 * error.  Callers: the backends (config_json), restore.c, stream-info.
 */
#ifndef XENPIPE_CONFIG_H
#define XENPIPE_CONFIG_H

#include <stddef.h>

#include "backend.h"
#include "libxl_json.h"

/* JSON for a domain, malloc'd; NULL with xp_err on failure. */
char *config_to_json(const struct dom_info *info, const char *backend,
    int simulated);
/*
 * Fill cfg from json (len bytes, need not be NUL-terminated).  nr_pages is
 * set only for a simulated domain (a real one's pfn space has holes that
 * its memory size does not tell); cfg->json is left alone.
 */
int config_from_json(const char *json, size_t len, struct dom_config *cfg);
/*
 * The same from a tree lj_parse made (libxl_json.h), which cfg->tree then
 * points to: the receiver parses the config once and hands it down.
 */
int config_from_tree(yajl_val root, struct dom_config *cfg);
/*
 * json with c_info.name set to name and c_info.uuid to uuid (either NULL:
 * left alone), malloc'd; NULL with xp_err.  libxl keeps the name a domain
 * was created under (NAME--incoming after a migration): the one it has now
 * is what travels.  A receiver's copy gets a UUID of its own.
 */
char *config_rewrite(const char *json, const char *name, const char *uuid);

/* s as a lower-case UUID in out (DOM_UUID_LEN); -1 if it is not one. */
int config_uuid(const char *s, char *out);
/* A fresh random (version 4) UUID, as libxl makes; -1 with xp_err. */
int config_uuid_fresh(char *out);

/* A name a domain may have: 1..63 of [A-Za-z0-9_.-], not starting with '.' or '-'. */
int config_valid_name(const char *name);

#endif
