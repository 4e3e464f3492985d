/*
 * Shard reports back into one report (nearmiss/merge.h).  Everything read
 * here came from files another machine wrote: every field is type-checked
 * before use and every refusal names the file.
 */
#include <stdlib.h>
#include <string.h>

#include "nearmiss/merge.h"
#include "nearmiss/report.h"
#include "nearmiss/reportread.h"
#include "nearmiss/spool.h"
#include "nearmiss/time.h"
#include "nearmiss/util.h"
#include "nearmiss/writers.h"

/* A report of 10 000 hosts is a few hundred MiB at most. */
#define SHARD_REPORT_MAX ((size_t)2 << 30)

json_t *nm_shard_record_json(const struct nm_shard_record *rec, const struct nm_checkset *cs,
                             const struct nm_fleet_options *fo)
{
    char checks[NM_SHA256_HEX_LEN];
    nm_checkset_digest(cs, checks);
    json_t *drain = json_array();
    for (size_t i = 0; fo && i < fo->n_drain; i++)
        json_array_append_new(drain, json_string(fo->drain[i]));
    return json_pack("{s:i, s:i, s:s, s:s, s:s, s:I, s:{s:s?, s:s?}, s:{s:s, s:o}}", "index",
                     (int)rec->shard.k, "count", (int)rec->shard.n, "hash", NM_SHARD_HASH,
                     "inventory_digest", rec->inventory_digest, "checks_digest", checks,
                     "hosts_total", (json_int_t)rec->hosts_total, "selection", "hosts", rec->hosts,
                     "role", rec->role, "fleet", "unhealthy_at",
                     nm_severity_name(fo ? fo->unhealthy_at : NM_SEV_CRITICAL), "drain", drain);
}

void nm_shard_set_init(struct nm_shard_set *set)
{
    memset(set, 0, sizeof *set);
}

void nm_shard_set_finish(struct nm_shard_set *set)
{
    if (!set)
        return;
    for (unsigned i = 0; i < set->n; i++) {
        json_decref(set->reports ? set->reports[i] : NULL);
        free(set->paths ? set->paths[i] : NULL);
    }
    free(set->reports);
    free(set->n_hosts);
    free(set->paths);
    free(set->drain);
    memset(set, 0, sizeof *set);
}

static bool is_hex64(const json_t *v)
{
    const char *s = json_string_value(v);
    if (!s || strlen(s) != 64)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return false;
    return true;
}

static bool is_null_or_string(const json_t *v)
{
    return !v || json_is_null(v) || json_is_string(v);
}

/* The shard object of one report, checked for shape; borrowed. */
static int shard_of_report(const char *path, const json_t *report, const json_t **ret, nm_diag *d)
{
    if (!json_is_object(report) || !json_is_string(json_object_get(report, "schema")) ||
        strcmp(json_string_value(json_object_get(report, "schema")), NM_REPORT_SCHEMA) != 0)
        return nm_diag_set(d, NM_ERR_PARSE, "%s: not a nearmiss report (schema %s)", path,
                           NM_REPORT_SCHEMA);
    const json_t *s = json_object_get(report, "shard");
    if (!json_is_object(s))
        return nm_diag_set(d, NM_ERR_CONFIG,
                           "%s: not a shard report (no \"shard\": written by scan without "
                           "--shard?)",
                           path);
    const json_t *k = json_object_get(s, "index"), *n = json_object_get(s, "count");
    const json_t *sel = json_object_get(s, "selection"), *fleet = json_object_get(s, "fleet");
    const json_t *hash = json_object_get(s, "hash");
    if (!json_is_integer(k) || !json_is_integer(n) || json_integer_value(n) < 1 ||
        json_integer_value(n) > NM_SHARD_MAX || json_integer_value(k) < 1 ||
        json_integer_value(k) > json_integer_value(n))
        return nm_diag_set(d, NM_ERR_PARSE, "%s: shard: index and count are not K/N", path);
    if (!json_is_string(hash) || strcmp(json_string_value(hash), NM_SHARD_HASH) != 0)
        return nm_diag_set(d, NM_ERR_CONFIG, "%s: shard: hash is not \"%s\"", path, NM_SHARD_HASH);
    if (!is_hex64(json_object_get(s, "inventory_digest")) ||
        !is_hex64(json_object_get(s, "checks_digest")))
        return nm_diag_set(d, NM_ERR_PARSE, "%s: shard: digests missing or malformed", path);
    if (!json_is_integer(json_object_get(s, "hosts_total")) ||
        json_integer_value(json_object_get(s, "hosts_total")) < 0)
        return nm_diag_set(d, NM_ERR_PARSE, "%s: shard: hosts_total missing", path);
    if (!json_is_object(sel) || !is_null_or_string(json_object_get(sel, "hosts")) ||
        !is_null_or_string(json_object_get(sel, "role")))
        return nm_diag_set(d, NM_ERR_PARSE, "%s: shard: selection malformed", path);
    if (!json_is_object(fleet) ||
        nm_severity_from_name(json_string_value(json_object_get(fleet, "unhealthy_at"))) ==
            NM_SEV_NONE ||
        !json_is_array(json_object_get(fleet, "drain")))
        return nm_diag_set(d, NM_ERR_PARSE, "%s: shard: fleet options malformed", path);
    size_t i;
    json_t *v;
    json_array_foreach (json_object_get(fleet, "drain"), i, v)
        if (!json_is_string(v))
            return nm_diag_set(d, NM_ERR_PARSE, "%s: shard: fleet.drain holds a non-string", path);
    /* The hosts themselves are checked as the merge step reads them. */
    if (!json_is_array(json_object_get(report, "hosts")))
        return nm_diag_set(d, NM_ERR_PARSE, "%s: no hosts array", path);
    if (!json_is_string(json_object_get(report, "started_at")) ||
        !json_is_string(json_object_get(report, "finished_at")))
        return nm_diag_set(d, NM_ERR_PARSE, "%s: started_at or finished_at missing", path);
    *ret = s;
    return 0;
}

/* Waivers say "active" or "expired" as of each shard's own clock; which
 * waivers were in force is what must agree. */
static json_t *waivers_without_status(const json_t *report)
{
    json_t *w = json_deep_copy(json_object_get(report, "waivers"));
    size_t i;
    json_t *v;
    json_array_foreach (w, i, v)
        json_object_del(v, "status");
    return w;
}

static bool same(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return a == b || json_is_null(a ? a : b);
    return json_equal(a, b);
}

/* Shard b agrees with shard a on everything that shapes a verdict. */
static int agree(const char *pa, const json_t *ra, const char *pb, const json_t *rb, nm_diag *d)
{
    const json_t *a = json_object_get(ra, "shard"), *b = json_object_get(rb, "shard");
    static const struct {
        const char *key, *what;
    } keys[] = {
        {"inventory_digest", "were scanned from different inventories"},
        {"checks_digest", "were judged by different check sets"},
        {"hosts_total", "cut selections of different sizes"},
        {"selection", "selected different hosts (--hosts/--role)"},
        {"fleet", "have different fleet options (--unhealthy-at/--drain)"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!same(json_object_get(a, keys[i].key), json_object_get(b, keys[i].key)))
            return nm_diag_set(d, NM_ERR_CONFIG, "%s and %s %s: refusing to merge them", pa, pb,
                               keys[i].what);
    if (!same(json_object_get(ra, "fail_on"), json_object_get(rb, "fail_on")))
        return nm_diag_set(d, NM_ERR_CONFIG,
                           "%s and %s were run with different --fail-on: refusing to merge them",
                           pa, pb);
    json_t *wa = waivers_without_status(ra), *wb = waivers_without_status(rb);
    bool w_same = same(wa, wb);
    json_decref(wa);
    json_decref(wb);
    if (!w_same)
        return nm_diag_set(d, NM_ERR_CONFIG,
                           "%s and %s were run with different waivers: refusing to merge them", pa,
                           pb);
    return 0;
}

int nm_shard_set_load(struct nm_shard_set *set, const char *const *paths, size_t n, nm_diag *d)
{
    json_t **byk = NULL;
    const char **pathk = NULL;
    size_t *nk = NULL;
    unsigned count = 0;
    int r = 0;
    if (n == 0)
        return nm_diag_set(d, NM_ERR_INVAL, "no shard report given");
    for (size_t i = 0; i < n; i++) {
        const json_t *sh = NULL;
        json_t *rep = NULL;
        size_t n_hosts = 0;
        /* Everything but the hosts, which are only counted here: the merge
         * step reads them one at a time. */
        if ((r = nm_report_read(paths[i], SHARD_REPORT_MAX, &rep, &n_hosts, NULL, NULL, d)) < 0)
            goto out;
        if ((r = shard_of_report(paths[i], rep, &sh, d)) < 0) {
            json_decref(rep);
            goto out;
        }
        unsigned k = (unsigned)json_integer_value(json_object_get(sh, "index"));
        unsigned nn = (unsigned)json_integer_value(json_object_get(sh, "count"));
        if (!byk) {
            count = nn;
            byk = nm_xcalloc(count, sizeof *byk);
            pathk = nm_xcalloc(count, sizeof *pathk);
            nk = nm_xcalloc(count, sizeof *nk);
        } else if (nn != count) {
            r = nm_diag_set(d, NM_ERR_CONFIG,
                            "%s is a shard of %u but %s is a shard of %u: the reports come from "
                            "different cuts",
                            paths[i], nn, paths[0], count);
            json_decref(rep);
            goto out;
        }
        if (byk[k - 1]) {
            r = nm_diag_set(d, NM_ERR_CONFIG, "shard %u/%u given twice: %s and %s", k, count,
                            pathk[k - 1], paths[i]);
            json_decref(rep);
            goto out;
        }
        byk[k - 1] = rep;
        pathk[k - 1] = paths[i];
        nk[k - 1] = n_hosts;
    }
    /* Say every missing shard, not only the first: the operator reruns them all. */
    {
        struct nm_buf miss;
        size_t n_miss = 0, have_hosts = 0;
        nm_buf_init(&miss, 512);
        for (unsigned k = 0; k < count; k++) {
            if (!byk[k]) {
                nm_buf_appendf(&miss, "%s%u/%u", n_miss ? ", " : "", k + 1, count);
                n_miss++;
            } else {
                have_hosts += nk[k];
            }
        }
        if (n_miss) {
            const json_t *s0 = NULL;
            for (unsigned k = 0; k < count && !s0; k++)
                if (byk[k])
                    s0 = json_object_get(byk[k], "shard");
            json_int_t total = json_integer_value(json_object_get(s0, "hosts_total"));
            r = nm_diag_set(
                d, NM_ERR_CONFIG,
                "shard%s %s missing (the reports given hold %zu of the %" JSON_INTEGER_FORMAT
                " hosts): refusing to merge an incomplete cut",
                n_miss == 1 ? "" : "s", miss.data ? miss.data : "", have_hosts, total);
            nm_buf_finish(&miss);
            goto out;
        }
        nm_buf_finish(&miss);
    }
    for (unsigned k = 1; k < count; k++)
        if ((r = agree(pathk[0], byk[0], pathk[k], byk[k], d)) < 0)
            goto out;

    /* One cut, complete and consistent: the set takes it. */
    const json_t *s0 = json_object_get(byk[0], "shard");
    const json_t *sel = json_object_get(s0, "selection"), *fl = json_object_get(s0, "fleet");
    int64_t started = 0;
    for (unsigned k = 0; k < count; k++) {
        int64_t t;
        const char *iso = json_string_value(json_object_get(byk[k], "started_at"));
        if (nm_utc_parse(iso, &t) < 0) {
            r = nm_diag_set(d, NM_ERR_PARSE, "%s: started_at \"%.40s\" is not a UTC time", pathk[k],
                            iso);
            goto out;
        }
        if (k == 0 || t < started)
            started = t;
    }
    nm_shard_set_finish(set);
    set->n = count;
    set->reports = byk;
    set->n_hosts = nk;
    nk = NULL;
    set->paths = nm_xcalloc(count, sizeof *set->paths);
    for (unsigned k = 0; k < count; k++)
        set->paths[k] = nm_xstrdup(pathk[k]);
    byk = NULL;
    set->inventory_digest = json_string_value(json_object_get(s0, "inventory_digest"));
    set->checks_digest = json_string_value(json_object_get(s0, "checks_digest"));
    set->hosts_total = (size_t)json_integer_value(json_object_get(s0, "hosts_total"));
    set->hosts = json_string_value(json_object_get(sel, "hosts"));
    set->role = json_string_value(json_object_get(sel, "role"));
    set->unhealthy_at =
        nm_severity_from_name(json_string_value(json_object_get(fl, "unhealthy_at")));
    const json_t *dr = json_object_get(fl, "drain");
    set->n_drain = json_array_size(dr);
    set->drain = nm_xcalloc(set->n_drain + 1, sizeof *set->drain);
    for (size_t i = 0; i < set->n_drain; i++)
        set->drain[i] = (char *)json_string_value(json_array_get(dr, i));
    set->started_at = started;
out:
    if (byk)
        for (unsigned k = 0; k < count; k++)
            json_decref(byk[k]);
    free(byk);
    free(pathk);
    free(nk);
    return r;
}

/* What the merge step carries from one shard host to the next. */
struct gather {
    const struct nm_shard_set *set;
    const struct nm_inventory *inv;
    unsigned k;       /* the shard being read, from 1 */
    json_t *index;    /* inventory name -> its position */
    bool *seen;       /* [position]: already given by a shard */
    size_t n_unknown; /* hosts of the right shard but not in the inventory */
    struct nm_spool *spool;
    json_t *hosts; /* [position]: the host, or null where spooled */
};

/* One host of shard k: it must belong there and come once; it goes to its
 * inventory position, in the spool when there is one. */
static int gather_host(void *ctx, size_t i, json_t *h, nm_diag *d)
{
    struct gather *g = ctx;
    const char *path = g->set->paths[g->k - 1];
    const json_t *jname = json_object_get(h, "name");
    const char *name = json_string_value(jname);
    if (!name)
        return nm_diag_set(d, NM_ERR_PARSE, "%s: hosts[%zu] has no name", path, i);
    /* "a\u0000b" would otherwise pass for host "a". */
    if (strlen(name) != json_string_length(jname))
        return nm_diag_set(d, NM_ERR_PARSE, "%s: hosts[%zu]: a NUL in the host's name", path, i);
    /* A report edited or produced with another hash would otherwise slip
     * a host in twice or not at all. */
    unsigned want = nm_shard_of(name, g->set->n);
    if (want != g->k)
        return nm_diag_set(d, NM_ERR_CONFIG, "%s: host \"%.200s\" belongs to shard %u/%u, not %u",
                           path, name, want, g->set->n, g->k);
    json_t *pos = json_object_get(g->index, name);
    if (!pos) {
        g->n_unknown++;
        return 0;
    }
    size_t at = (size_t)json_integer_value(pos);
    if (g->seen[at])
        return nm_diag_set(d, NM_ERR_CONFIG, "%s: host \"%.200s\" appears twice", path, name);
    g->seen[at] = true;
    nm_diag ds = {{0}};
    /* A host the spool cannot take (a full disk) stays in memory. */
    if (g->spool && nm_spool_put(g->spool, at, h, &ds) == 0)
        json_array_set_new(g->hosts, at, json_null());
    else
        json_array_set(g->hosts, at, h);
    return 0;
}

int nm_merge_build(const struct nm_shard_set *set, const struct nm_inventory *inv,
                   const struct nm_checkset *cs, struct nm_spool *spool, json_t **ret_report,
                   json_t **ret_hosts, nm_diag *d)
{
    char digest[NM_SHA256_HEX_LEN];
    json_t *report = NULL;
    struct gather g = {.set = set, .inv = inv, .spool = spool};
    int r = 0;

    nm_inventory_digest(inv, digest);
    if (strcmp(digest, set->inventory_digest) != 0)
        return nm_diag_set(d, NM_ERR_CONFIG,
                           "the inventory given is not the one the shards scanned (digest %.12s, "
                           "shards %.12s): refusing to merge",
                           digest, set->inventory_digest);
    nm_checkset_digest(cs, digest);
    if (strcmp(digest, set->checks_digest) != 0)
        return nm_diag_set(d, NM_ERR_CONFIG,
                           "the check set given is not the one the shards were judged by (digest "
                           "%.12s, shards %.12s): refusing to merge",
                           digest, set->checks_digest);
    if (inv->n_hosts != set->hosts_total)
        return nm_diag_set(d, NM_ERR_CONFIG, "the shards cut %zu hosts, the inventory has %zu",
                           set->hosts_total, inv->n_hosts);

    /* The hosts, one at a time from each shard's file, each to its place in
     * inventory order: only one shard host is ever parsed at once. */
    g.index = json_object();
    g.seen = nm_xcalloc(inv->n_hosts + 1, sizeof *g.seen);
    g.hosts = json_array();
    for (size_t i = 0; i < inv->n_hosts; i++) {
        json_object_set_new(g.index, inv->hosts[i].name, json_integer((json_int_t)i));
        json_array_append_new(g.hosts, json_null());
    }
    for (g.k = 1; g.k <= set->n; g.k++)
        if ((r = nm_report_read(set->paths[g.k - 1], SHARD_REPORT_MAX, NULL, NULL, gather_host, &g,
                                d)) < 0)
            goto out;
    for (size_t i = 0; i < inv->n_hosts; i++) {
        if (!g.seen[i]) {
            const char *name = inv->hosts[i].name;
            unsigned k = nm_shard_of(name, set->n);
            r = nm_diag_set(d, NM_ERR_CONFIG, "host \"%.200s\" (shard %u/%u) is missing from %s",
                            name, k, set->n, set->paths[k - 1]);
            goto out;
        }
    }
    if (g.n_unknown) {
        r = nm_diag_set(d, NM_ERR_CONFIG,
                        "the shards hold %zu hosts, %zu of them not in the inventory",
                        inv->n_hosts + g.n_unknown, g.n_unknown);
        goto out;
    }

    /* The rest of the top level as the first shard wrote it (schema, tool,
     * fail_on, waivers, and whatever later versions add), then the merge's
     * own parts.  Times: the earliest start and the latest end. */
    report = json_deep_copy(set->reports[0]);
    static const char *const drop[] = {"hosts", "summary",    "fleet_findings", "shard",
                                       "drain", "started_at", "finished_at"};
    for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
        json_object_del(report, drop[i]);
    const char *started = NULL, *finished = NULL;
    json_t *from = json_array();
    for (unsigned k = 0; k < set->n; k++) {
        const json_t *rk = set->reports[k];
        const char *s = json_string_value(json_object_get(rk, "started_at"));
        const char *f = json_string_value(json_object_get(rk, "finished_at"));
        /* ISO 8601 UTC of one fixed width: string order is time order. */
        if (!started || strcmp(s, started) < 0)
            started = s;
        if (!finished || strcmp(f, finished) > 0)
            finished = f;
        json_array_append_new(from,
                              json_pack("{s:i, s:s, s:s, s:s, s:I}", "index", (int)k + 1, "report",
                                        set->paths[k], "started_at", s, "finished_at", f, "hosts",
                                        (json_int_t)set->n_hosts[k]));
    }
    json_object_set_new(report, "started_at", json_string(started));
    json_object_set_new(report, "finished_at", json_string(finished));
    json_object_set_new(report, "hosts", json_array());
    json_object_set_new(report, "fleet_findings", json_array());
    json_object_set_new(report, "merged",
                        json_pack("{s:i, s:s, s:s, s:s, s:I, s:o}", "count", (int)set->n, "hash",
                                  NM_SHARD_HASH, "inventory_digest", set->inventory_digest,
                                  "checks_digest", set->checks_digest, "hosts_total",
                                  (json_int_t)set->hosts_total, "shards", from));
    *ret_report = report;
    *ret_hosts = g.hosts;
    g.hosts = NULL;
out:
    json_decref(g.hosts);
    json_decref(g.index);
    free(g.seen);
    return r;
}
