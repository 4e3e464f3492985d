/*
 * Shard membership and the inventory digest (nearmiss/shard.h).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "nearmiss/shard.h"
#include "nearmiss/util.h"

static int parse_uint(const char **p, unsigned *ret)
{
    unsigned long v = 0;
    const char *s = *p;
    if (*s < '0' || *s > '9')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        v = v * 10 + (unsigned long)(*s - '0');
        if (v > NM_SHARD_MAX)
            return -1;
    }
    *p = s;
    *ret = (unsigned)v;
    return 0;
}

int nm_shard_parse(const char *s, struct nm_shard *ret, nm_diag *d)
{
    const char *p = s;
    unsigned k, n;
    if (parse_uint(&p, &k) < 0 || *p++ != '/' || parse_uint(&p, &n) < 0 || *p != '\0')
        return nm_diag_set(d, NM_ERR_INVAL, "\"%.40s\" is not K/N (e.g. 2/8, at most %u shards)", s,
                           NM_SHARD_MAX);
    if (n == 0 || k == 0 || k > n)
        return nm_diag_set(d, NM_ERR_INVAL, "\"%.40s\": shards count from 1 to N (1 <= K <= N)", s);
    ret->k = k;
    ret->n = n;
    return 0;
}

unsigned nm_shard_of(const char *name, unsigned n)
{
    unsigned char md[NM_SHA256_LEN];
    nm_sha256(name, strlen(name), md);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | md[i];
    return (unsigned)(v % n) + 1;
}

static json_t *strv_json(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

void nm_inventory_digest(const struct nm_inventory *inv, char out[NM_SHA256_HEX_LEN])
{
    /* A canonical JSON text (sorted keys, compact) is the hashed form: easy
     * to reproduce by hand when two digests disagree. */
    json_t *hosts = json_array();
    for (size_t i = 0; i < inv->n_hosts; i++) {
        const struct nm_host *h = &inv->hosts[i];
        json_t *labels = json_object();
        for (size_t j = 0; j < h->n_labels; j++)
            json_object_set_new(labels, h->labels[j].key, json_string(h->labels[j].value));
        json_array_append_new(
            hosts, json_pack("{s:s, s:s, s:i, s:o, s:o, s:s?, s:o}", "name", h->name, "address",
                             h->address ? h->address : h->name, "port", h->port, "roles",
                             strv_json(h->roles, h->n_roles), "labels", labels, "criticality",
                             h->criticality, "tls", strv_json(h->tls, h->n_tls)));
    }
    json_t *roles = json_object();
    for (size_t i = 0; i < inv->n_roles; i++) {
        const struct nm_role *r = &inv->roles[i];
        json_object_set_new(roles, r->name,
                            json_pack("{s:i, s:o}", "min_healthy", r->min_healthy, "spread",
                                      strv_json(r->spread, r->n_spread)));
    }
    json_t *all = json_pack("{s:o, s:o}", "hosts", hosts, "roles", roles);
    char *text = json_dumps(all, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!text)
        abort();
    nm_sha256_hex(text, strlen(text), out);
    free(text);
    json_decref(all);
}

static bool in_shard(const struct nm_host *h, void *ctx)
{
    const struct nm_shard *s = ctx;
    return nm_shard_of(h->name, s->n) == s->k;
}

void nm_inventory_shard(struct nm_inventory *inv, const struct nm_shard *s, const char *hosts,
                        const char *role, struct nm_shard_record *rec)
{
    memset(rec, 0, sizeof *rec);
    rec->shard = *s;
    nm_inventory_digest(inv, rec->inventory_digest);
    rec->hosts_total = inv->n_hosts;
    rec->hosts = hosts;
    rec->role = role;
    struct nm_shard copy = *s;
    nm_inventory_keep_if(inv, in_shard, &copy);
}
