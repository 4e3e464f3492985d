#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nearmiss/bastion.h"
#include "nearmiss/report_view.h"
#include "nearmiss/facts.h"
#include "nearmiss/fiber.h"
#include "nearmiss/report.h"
#include "nearmiss/scan.h"
#include "nearmiss/script.h"
#include "nearmiss/spool.h"
#include "nearmiss/ssh.h"
#include "nearmiss/tls.h"
#include "nearmiss/util.h"

#include "nm-config.h"

#define FACTS_TIMEOUT_S 20
/* Findings one check may list for one host; the rest become one summary
 * finding.  A real host rarely has more than a few dozen per check; a host
 * that reports thousands (a flood, a broken tool) would otherwise make the
 * report, the HTML and the metrics grow with whatever it prints. */
#define MAX_FINDINGS_PER_CHECK 200
#define FACTS_CAP              (64u << 10)
#define WORKER_STACK           (512u << 10)
/* How often a fiber waiting for a --max-per slot looks at the count of
 * finished hosts. */
#define ROOM_LOOK_MS 10
/* Kinds of host whose script is kept for the rest of the scan; a fleet
 * with more (checks scoped to many different labels) builds the rest per
 * host, as every host once did. */
#define MAX_SCRIPT_KINDS 64

struct kh_entry {
    char *path;
    struct nm_known_hosts *kh;
};

/* One inventory "tls" endpoint, probed from the scanner by a worker. */
struct tls_job {
    size_t host;      /* index in the inventory */
    const char *spec; /* as written in the inventory */
    struct nm_tls_target target;
    bool valid;
    char error[1400];
    json_t *item; /* result, set by the worker */
};

/*
 * A kind of host as far as its probe script goes: which checks apply to it
 * and its privilege choices (the key).  Hosts of one kind are sent the same
 * script but for the marker and TLS name, so it is built once a kind.
 */
struct script_kind {
    unsigned char *key;
    size_t key_len;
    struct nm_script_template tmpl;
    struct nm_probe_spec *specs; /* ids, caps and timeouts, for the splitter */
    size_t n;
    char *error; /* the script could not be built: why */
};

struct scan {
    const struct nm_inventory *inv;
    const struct nm_checkset *cs;
    const struct nm_reach_set *reach; /* reach->hosts[i] for inv->hosts[i] */
    const struct nm_scan_options *o;
    int64_t now; /* the run's clock */
    char *facts_script;
    struct kh_entry *kh;
    size_t n_kh;
    struct nm_known_hosts *kh_global;   /* /etc/ssh/ssh_known_hosts{,2}, read by every check */
    struct nm_identity_set *identities; /* each key file read once per run */
    struct nm_bastion_pool *bastions;   /* hosts behind a jump host share its login */
    json_t **parser_options;            /* per check, at the run's clock */
    json_t **hosts;                     /* one slot per inventory host, filled by workers */
    struct tls_job *tls;
    size_t n_tls;
    json_t **discovered; /* per host: TLS items of discovered endpoints (worker-filled) */
    /* Which job runs next (sched_next), under mu.  A host waits while any
     * --max-per group it belongs to is full; a finishing host wakes the
     * workers waiting for a slot. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* Hosts finished so far: a fiber waiting for room (sched_next) looks
     * again only when it moved. */
    atomic_size_t finished;
    /* A host finished: the main thread waits on it, under mu. */
    pthread_cond_t done_cv;
    unsigned char *state; /* per host: HOST_WAITING, HOST_RUNNING, HOST_DONE */
    size_t first_waiting; /* no waiting host before this index */
    size_t n_waiting;     /* hosts not yet started */
    size_t next_tls;      /* inventory endpoints handed out so far */
    size_t *group;        /* [host * n_max_per + l]: the host's group for limit l, or NO_GROUP */
    size_t *running;      /* per group: its hosts being scanned now */
    size_t *group_cap;    /* per group: the limit's N */
    size_t n_groups;
    int64_t t0_ms; /* nm_now_ms() when the scan began */
    pthread_mutex_t kinds_mu;
    struct script_kind *kinds[MAX_SCRIPT_KINDS];
    size_t n_kinds;
    atomic_size_t done;
    atomic_size_t failed;
};

enum { HOST_WAITING, HOST_RUNNING, HOST_DONE };
#define NO_GROUP SIZE_MAX

static struct nm_known_hosts *kh_for(const struct scan *s, const char *path)
{
    for (size_t i = 0; i < s->n_kh; i++)
        if (strcmp(s->kh[i].path, path) == 0)
            return s->kh[i].kh;
    return NULL;
}

static int load_one_known_hosts(struct scan *s, const char *path, nm_diag *d)
{
    if (kh_for(s, path))
        return 0;
    struct nm_known_hosts *kh = NULL;
    int r = nm_known_hosts_load(path, &kh, d);
    if (r < 0)
        return r;
    nm_known_hosts_set_global(kh, s->kh_global);
    s->kh = nm_xreallocarray(s->kh, s->n_kh + 1, sizeof *s->kh);
    s->kh[s->n_kh].path = nm_xstrdup(path);
    s->kh[s->n_kh].kh = kh;
    s->n_kh++;
    return 0;
}

/* Loads each distinct known_hosts file (targets' and jump hosts') once,
 * before any thread starts. */
static int load_known_hosts(struct scan *s, nm_diag *d)
{
    int rg = nm_known_hosts_load_global(&s->kh_global, d);
    if (rg < 0)
        return rg;
    for (size_t i = 0; i < s->inv->n_hosts; i++) {
        const struct nm_reach *to = &s->reach->hosts[i];
        int r = load_one_known_hosts(s, to->known_hosts, d);
        for (size_t k = 0; r == 0 && k < to->n_jumps; k++)
            r = load_one_known_hosts(s, to->jumps[k].known_hosts, d);
        if (r < 0)
            return r;
    }
    return 0;
}

/*
 * A guard in front of a probe so the host skips it at once when none of the
 * checks using it can apply: wrong OS (from os-release, as the facts probe
 * reads it) or a required command missing.  The checks then say
 * notapplicable from the facts; the guard only saves the host the work (no
 * dnf run on a Debian host).  NULL when some check needs the probe anyway.
 */
static char *probe_guard(const struct scan *s, const struct nm_host *h,
                         const struct nm_probe_def *pd, bool *needed)
{
    struct nm_buf os_pat, cmds;
    bool all_os = true, all_cmds = true;
    nm_buf_init(&os_pat, 8192);
    nm_buf_init(&cmds, 8192);
    *needed = false;
    for (size_t i = 0; i < s->cs->n_checks; i++) {
        const struct nm_check *c = &s->cs->checks[i];
        if (c->probe != pd || !nm_check_applies_to_host(c, h, NULL, 0))
            continue;
        *needed = true;
        if (c->n_os == 0)
            all_os = false;
        for (size_t k = 0; k < c->n_os; k++)
            nm_buf_appendf(&os_pat, "%s*\" %s \"*", os_pat.len ? "|" : "", c->os[k]);
        if (c->n_commands == 0)
            all_cmds = false;
        else if (cmds.len == 0)
            for (size_t k = 0; k < c->n_commands; k++)
                nm_buf_appendf(&cmds, "command -v %s >/dev/null 2>&1 || exit 0\n", c->commands[k]);
    }
    char *guard = NULL;
    if (*needed && ((all_os && os_pat.len) || (all_cmds && cmds.len))) {
        struct nm_buf g;
        nm_buf_init(&g, 32768);
        if (all_os && os_pat.len)
            /* os-release is read as data, never sourced: a malformed file
             * must not break the probe, nor a hostile one run code in it. */
            nm_buf_appendf(&g,
                           "f=/etc/os-release; [ -r \"$f\" ] || f=/usr/lib/os-release\n"
                           "ID=; ID_LIKE=\n"
                           "if [ -r \"$f\" ]; then while IFS= read -r l || [ -n \"$l\" ]; do "
                           "case $l in ID=*) ID=${l#ID=} ;; ID_LIKE=*) ID_LIKE=${l#ID_LIKE=} ;; "
                           "esac; done < \"$f\"; fi\n"
                           "ID=${ID#[\\\"\\']}; ID=${ID%%[\\\"\\']}\n"
                           "ID_LIKE=${ID_LIKE#[\\\"\\']}; ID_LIKE=${ID_LIKE%%[\\\"\\']}\n"
                           "case \" $ID $ID_LIKE \" in %s) ;; *) exit 0 ;; esac\n",
                           os_pat.data);
        if (all_cmds && cmds.len)
            nm_buf_append(&g, cmds.data, cmds.len);
        guard = nm_buf_steal(&g, NULL);
    }
    nm_buf_finish(&os_pat);
    nm_buf_finish(&cmds);
    return guard;
}

static bool is_ip_literal(const char *s)
{
    struct in6_addr a6;
    struct in_addr a4;
    return inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1;
}

/* The name a host's TLS services should answer to: its inventory name
 * when that is a DNS name (as for a bare-port inventory endpoint). */
static const char *host_sni(const struct nm_host *h)
{
    return strchr(h->name, '.') && !is_ip_literal(h->name) && strlen(h->name) <= NM_TLS_HOST_MAX
               ? h->name
               : NULL;
}

/* The probe list for one host: facts first, then each needed probe once,
 * then TLS discovery when asked for: its handshakes may take longest, and
 * within the host's deadline the checks come first. */
static size_t host_probes(const struct scan *s, const struct nm_host *h,
                          struct nm_probe_spec *specs, char **guarded)
{
    size_t n = 0;
    specs[n++] = (struct nm_probe_spec){.id = NM_FACTS_PROBE_ID,
                                        .script = s->facts_script,
                                        .timeout_s = FACTS_TIMEOUT_S,
                                        .cap = FACTS_CAP};
    for (size_t p = 0; p < s->cs->n_probes; p++) {
        const struct nm_probe_def *pd = s->cs->probes[p];
        bool needed;
        char *guard = probe_guard(s, h, pd, &needed);
        if (!needed)
            continue;
        const char *script = pd->script;
        if (guard) {
            guarded[n] = nm_xasprintf("%s%s", guard, pd->script);
            script = guarded[n];
            free(guard);
        }
        specs[n++] = (struct nm_probe_spec){.id = pd->id,
                                            .script = script,
                                            .needs_root = pd->needs_root,
                                            .root_commands = pd->n_root_commands > 0,
                                            .timeout_s = pd->timeout_s,
                                            .cap = pd->max_output,
                                            .raw = pd->raw_output};
    }
    if (s->o->tls_discovery != NM_TLS_DISCOVERY_OFF) {
        /* The host's name reaches it as NM_SNI (nm_script_render). */
        guarded[n] = nm_discover_script(s->o->tls_discovery, NULL);
        specs[n] = (struct nm_probe_spec){.id = NM_DISCOVER_PROBE_ID,
                                          .script = guarded[n],
                                          .timeout_s = NM_DISCOVER_TIMEOUT_S,
                                          .cap = NM_DISCOVER_CAP};
        n++;
    }
    return n;
}

static json_t *string_array(char **a, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(a[i]));
    return arr;
}

static json_t *host_skeleton(const struct nm_host *h, int port)
{
    json_t *labels = json_object();
    for (size_t i = 0; i < h->n_labels; i++)
        json_object_set_new(labels, h->labels[i].key, json_string(h->labels[i].value));
    return json_pack("{s:s, s:s, s:i, s:o, s:o, s:s, s:s, s:n, s:n, s:n, s:[], s:[], s:{}}", "name",
                     h->name, "address", h->address, "port", port, "roles",
                     string_array(h->roles, h->n_roles), "labels", labels, "criticality",
                     h->criticality ? h->criticality : "medium", "status", "error", "error", "os",
                     "score", "findings", "checks", "metrics");
}

struct ranked {
    int sev;
    size_t idx;
};

/* Worst first; the host's own order among equals, so the cut is stable. */
static int cmp_ranked(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->sev != y->sev)
        return x->sev > y->sev ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/*
 * Keeps the MAX_FINDINGS_PER_CHECK worst findings that check c added to
 * findings (from index first on, in their order) and replaces the others
 * with one finding that counts them.  Its fingerprint holds no count, so it
 * stays the same from night to night while the flood lasts.
 */
static void cap_findings(const struct nm_check *c, const struct nm_host *h, json_t *findings,
                         size_t first, json_t *entry)
{
    size_t n = json_array_size(findings) - first;
    if (n <= MAX_FINDINGS_PER_CHECK)
        return;
    struct ranked *r = nm_xcalloc(n, sizeof *r);
    bool *keep = nm_xcalloc(n, sizeof *keep);
    for (size_t i = 0; i < n; i++) {
        json_t *f = json_array_get(findings, first + i);
        r[i] = (struct ranked){
            nm_severity_from_name(json_string_value(json_object_get(f, "severity"))), i};
    }
    if (n > 1)
        qsort(r, n, sizeof *r, cmp_ranked);
    for (size_t i = 0; i < MAX_FINDINGS_PER_CHECK; i++)
        keep[r[i].idx] = true;

    size_t dropped = n - MAX_FINDINGS_PER_CHECK, by_sev[NM_SEV_CRITICAL + 1] = {0};
    int worst = NM_SEV_INFO;
    struct nm_buf examples;
    nm_buf_init(&examples, 1024);
    json_t *kept = json_array();
    for (size_t i = 0, shown = 0; i < n; i++) {
        json_t *f = json_array_get(findings, first + i);
        if (keep[i]) {
            json_array_append(kept, f);
            continue;
        }
        int sev = nm_severity_from_name(json_string_value(json_object_get(f, "severity")));
        if (sev >= NM_SEV_INFO && sev <= NM_SEV_CRITICAL)
            by_sev[sev]++;
        worst = sev > worst ? sev : worst;
        const char *subj = json_string_value(json_object_get(f, "subject"));
        if (subj && shown++ < 5)
            nm_buf_appendf(&examples, "%s%s", examples.len ? ", " : "", subj);
    }
    while (json_array_size(findings) > first)
        json_array_remove(findings, json_array_size(findings) - 1);
    json_array_extend(findings, kept);
    json_decref(kept);

    char fp[65];
    const char *subject = "findings beyond the per-check limit";
    nm_finding_fingerprint(c->id, h->name, subject, fp);
    json_t *agg = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s}", "check", c->id, "category",
        c->category ? c->category : "health", "severity", nm_severity_name((enum nm_severity)worst),
        "subject", subject, "message", "", "value", (json_int_t)dropped, "threshold",
        (json_int_t)MAX_FINDINGS_PER_CHECK, "fingerprint", fp, "evidence", "", "remediation",
        "The host reported far more problems for this check than a host normally has: look at "
        "it directly, starting with the findings listed; a broken tool or a runaway process "
        "can cause this as well.",
        "ticket_summary", "");
    json_object_set_new(
        agg, "message",
        json_sprintf("%zu more findings of %s were left out of the report (at most %d per check "
                     "and host are listed, the worst first): %zu critical, %zu high, %zu medium, "
                     "%zu low, %zu info",
                     dropped, c->id, MAX_FINDINGS_PER_CHECK, by_sev[NM_SEV_CRITICAL],
                     by_sev[NM_SEV_HIGH], by_sev[NM_SEV_MEDIUM], by_sev[NM_SEV_LOW],
                     by_sev[NM_SEV_INFO]));
    json_object_set_new(agg, "evidence", json_sprintf("left out, for example: %s", examples.data));
    json_object_set_new(agg, "ticket_summary",
                        json_sprintf("%s: %zu more %s findings", h->name, dropped, c->id));
    json_array_append_new(findings, agg);
    json_object_set_new(entry, "findings_dropped", json_integer((json_int_t)dropped));
    nm_buf_finish(&examples);
    free(keep);
    free(r);
}

/* Judges what arrived; returns whether the host's facts did. */
static bool evaluate_host(const struct scan *s, const struct nm_host *h, json_t *hj,
                          const struct nm_splitter *sp, bool reached_end)
{
    json_t *findings = json_object_get(hj, "findings");
    json_t *checks = json_object_get(hj, "checks");
    json_t *facts = NULL;
    nm_diag d = {{0}};
    const struct nm_section *fs = nm_splitter_find(sp, NM_FACTS_PROBE_ID);
    if (fs && fs->state == NM_SECTION_DONE &&
        nm_facts_parse(fs->out.data ? fs->out.data : "", fs->out.len, &facts, &d) == 0) {
        json_object_set(hj, "os", json_object_get(facts, "os"));
        const char *keys[] = {"kernel", "arch", "hostname", "uptime_seconds", "uid"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
            json_t *v = json_object_get(facts, keys[i]);
            if (v)
                json_object_set(hj, keys[i], v);
        }
    } else if (reached_end) {
        json_object_set_new(hj, "facts_error",
                            json_string(d.msg[0] ? d.msg : "facts probe did not complete"));
    }
    for (size_t i = 0; i < s->cs->n_checks; i++) {
        const struct nm_check *c = &s->cs->checks[i];
        char why[512];
        json_t *entry;
        if (c->source_tls || c->source_history)
            continue; /* judged once the TLS endpoints were probed / by the history step */
        if (!nm_check_applies_to_host(c, h, NULL, 0)) {
            entry = nm_check_result_entry(c, NM_RESULT_NOTAPPLICABLE,
                                          "host roles/labels/criticality do not match the check");
        } else if (!facts) {
            entry = nm_check_result_entry(
                c, NM_RESULT_ERROR, "host facts unavailable; cannot tell if the check applies");
        } else if (!nm_check_applies(c, h, facts, why, sizeof why)) {
            entry = nm_check_result_entry(c, NM_RESULT_NOTAPPLICABLE, why);
            if (c->missing_remediation && nm_check_missing_command(c, facts))
                json_object_set_new(entry, "remediation", json_string(c->missing_remediation));
        } else {
            size_t first = json_array_size(findings);
            entry = nm_check_evaluate_with(c, h, nm_splitter_find(sp, c->probe->id),
                                           s->parser_options[i], s->now, findings,
                                           json_object_get(hj, "metrics"));
            cap_findings(c, h, findings, first, entry);
        }
        json_array_append_new(checks, entry);
    }
    bool got_facts = facts != NULL;
    json_decref(facts);
    return got_facts;
}

/* An endpoint the inventory already lists is judged there, once. */
static bool in_inventory(const struct scan *s, const struct nm_host *h, const json_t *ep)
{
    const json_t *tg = json_object_get(ep, "target");
    const char *host = json_string_value(json_object_get(tg, "host"));
    json_int_t port = json_integer_value(json_object_get(tg, "port"));
    for (size_t i = 0; host && i < s->n_tls; i++)
        if (&s->inv->hosts[s->tls[i].host] == h && s->tls[i].valid &&
            s->tls[i].target.port == port && strcmp(s->tls[i].target.host, host) == 0)
            return true;
    return false;
}

/*
 * The host's TLS services found from its listening sockets: handshakes made
 * on the host are read from its output; the others are probed from here, at
 * the host's inventory address only, each within --tls-timeout.  The items
 * that completed a handshake join the host's "tls" for the tls step.
 */
static void discover_host(struct scan *s, const struct nm_host *h, json_t *hj,
                          const struct nm_splitter *sp)
{
    const struct nm_scan_options *o = s->o;
    if (o->tls_discovery == NM_TLS_DISCOVERY_OFF)
        return;
    int64_t t0 = nm_now_ms();
    const struct nm_section *sec = nm_splitter_find(sp, NM_DISCOVER_PROBE_ID);
    if (!sec || sec->state != NM_SECTION_DONE) {
        json_object_set_new(hj, "tls_discovery",
                            json_pack("{s:s, s:s}", "mode", nm_tls_discovery_name(o->tls_discovery),
                                      "error", "the discovery probe did not complete"));
        return;
    }
    struct nm_tls_target base;
    memset(&base, 0, sizeof base);
    base.ca_file = o->tls_ca;
    base.now = s->now;
    json_t *rec = NULL;
    nm_diag d = {{0}};
    const char *address = s->reach->hosts[h - s->inv->hosts].address;
    if (nm_discover_read(sec->out.data, sec->out.len, o->tls_discovery, address, host_sni(h), &base,
                         &rec, &d) < 0) {
        json_object_set_new(hj, "tls_discovery",
                            json_pack("{s:s, s:s}", "mode", nm_tls_discovery_name(o->tls_discovery),
                                      "error", d.msg));
        return;
    }
    json_t *found = json_array();
    size_t i;
    json_t *ep;
    json_array_foreach (json_object_get(rec, "endpoints"), i, ep) {
        const char *result = json_string_value(json_object_get(ep, "result"));
        if (strcmp(result, "pending") == 0) {
            struct nm_tls_target t;
            json_t *item = NULL;
            if (in_inventory(s, h, ep)) {
                json_object_del(ep, "target");
                json_object_set_new(ep, "result", json_string("skipped"));
                json_object_set_new(ep, "reason",
                                    json_string("listed in the inventory: judged there"));
                continue;
            }
            if (nm_discover_target(ep, &base, &t) < 0 ||
                nm_tls_probe(&t, nm_now_ms() + (int64_t)o->tls_timeout_s * 1000, &item, &d) < 0) {
                json_object_del(ep, "target");
                json_object_set_new(ep, "result", json_string("skipped"));
                json_object_set_new(ep, "reason", json_string(d.msg[0] ? d.msg : "bad target"));
                continue;
            }
            nm_discover_record_remote(ep, item);
        }
        /* The item goes to the host's "tls" list once; the record keeps
         * what was found and how. */
        json_t *item = json_object_get(ep, "item");
        if (item && !json_is_string(json_object_get(item, "error")))
            json_array_append(found, item);
        json_object_del(ep, "item");
    }
    json_object_set_new(rec, "remote_ms", json_integer((json_int_t)(nm_now_ms() - t0)));
    json_object_set_new(hj, "tls_discovery", rec);
    s->discovered[h - s->inv->hosts] = found;
}

static unsigned char *kind_key(const struct scan *s, const struct nm_host *h, size_t *ret_len)
{
    const char *user = h->become_user ? h->become_user : "";
    size_t ulen = strlen(user), n_checks = s->cs->n_checks;
    size_t len = 2 + ulen + 1 + (n_checks + 7) / 8;
    unsigned char *key = nm_xcalloc(1, len);
    key[0] = h->become != NM_BECOME_DEFAULT;
    key[1] = h->become_user != NULL;
    memcpy(key + 2, user, ulen); /* and its NUL, from calloc */
    unsigned char *applies = key + 2 + ulen + 1;
    for (size_t i = 0; i < n_checks; i++)
        if (nm_check_applies_to_host(&s->cs->checks[i], h, NULL, 0))
            applies[i / 8] |= (unsigned char)(1u << (i % 8));
    *ret_len = len;
    return key;
}

static void kind_free(struct script_kind *k)
{
    if (!k)
        return;
    free(k->key);
    nm_script_template_finish(&k->tmpl);
    free(k->specs);
    free(k->error);
    free(k);
}

static struct script_kind *kind_build(const struct scan *s, const struct nm_host *h,
                                      unsigned char *key, size_t key_len)
{
    struct script_kind *k = nm_xcalloc(1, sizeof *k);
    k->key = key;
    k->key_len = key_len;
    size_t max = s->cs->n_probes + 2;
    k->specs = nm_xcalloc(max, sizeof *k->specs);
    char **guarded = nm_xcalloc(max, sizeof *guarded);
    k->n = host_probes(s, h, k->specs, guarded);
    const struct nm_script_opts sopts = {.no_sudo = h->become != NM_BECOME_DEFAULT,
                                         .sudo_user = h->become_user};
    nm_diag d = {{0}};
    if (nm_script_template_build(k->specs, k->n, &sopts, &k->tmpl, &d) < 0)
        k->error = nm_xstrdup(d.msg);
    /* The texts live on in the template; the splitter needs none. */
    for (size_t i = 0; i < k->n; i++)
        k->specs[i].script = "";
    for (size_t i = 0; i < max; i++)
        free(guarded[i]);
    free(guarded);
    return k;
}

/* The host's kind, built by the first host of the kind (under the lock, so
 * the others wait for that build instead of each doing it); *own is set
 * when the kind could not be kept, for the caller to free. */
static const struct script_kind *kind_for(struct scan *s, const struct nm_host *h,
                                          struct script_kind **own)
{
    size_t key_len;
    unsigned char *key = kind_key(s, h, &key_len);
    *own = NULL;
    pthread_mutex_lock(&s->kinds_mu);
    for (size_t i = 0; i < s->n_kinds; i++) {
        struct script_kind *k = s->kinds[i];
        if (k->key_len == key_len && memcmp(k->key, key, key_len) == 0) {
            pthread_mutex_unlock(&s->kinds_mu);
            free(key);
            return k;
        }
    }
    if (s->n_kinds == MAX_SCRIPT_KINDS) {
        pthread_mutex_unlock(&s->kinds_mu);
        *own = kind_build(s, h, key, key_len);
        return *own;
    }
    struct script_kind *k = kind_build(s, h, key, key_len);
    s->kinds[s->n_kinds++] = k;
    pthread_mutex_unlock(&s->kinds_mu);
    return k;
}

static json_t *scan_host(struct scan *s, const struct nm_host *h)
{
    const struct nm_scan_options *o = s->o;
    json_t *hj = host_skeleton(h, s->reach->hosts[h - s->inv->hosts].port);
    int64_t deadline = nm_now_ms() + (int64_t)o->timeout_s * 1000;

    struct script_kind *own_kind;
    const struct script_kind *kind = kind_for(s, h, &own_kind);
    size_t n = kind->n;

    char marker[NM_MARKER_LEN + 1];
    struct nm_buf script;
    nm_buf_init(&script, 4u << 20);
    nm_diag d = {{0}};
    struct nm_splitter *sp = NULL;
    if (kind->error || nm_marker_generate(marker) < 0 ||
        nm_script_render(&kind->tmpl, marker, host_sni(h), &script, &d) < 0) {
        json_object_set_new(
            hj, "error",
            json_sprintf("cannot build the probe script: %s", kind->error ? kind->error : d.msg));
        goto out;
    }
    sp = nm_splitter_create(marker, kind->specs, n, o->host_cap);
    char *save_error = NULL;
    if (o->save_scripts) {
        /* For check authors: the exact script this host was sent.  The host
         * name only reaches the file system through the safe mapping. */
        char *path = nm_safe_path_in(o->save_scripts, h->name, ".sh");
        nm_diag sd = {{0}};
        if (nm_write_atomic(path, script.data, script.len, 0600, &sd) < 0)
            save_error = nm_xstrdup(sd.msg);
        free(path);
    }

    const struct nm_reach *to = &s->reach->hosts[h - s->inv->hosts];
    struct nm_ssh_hop hops[NM_SSH_MAX_JUMPS];
    size_t n_hops = to->n_jumps < NM_SSH_MAX_JUMPS ? to->n_jumps : NM_SSH_MAX_JUMPS;
    for (size_t k = 0; k < n_hops; k++) {
        const struct nm_reach *j = &to->jumps[k];
        hops[k] = (struct nm_ssh_hop){
            .name = j->name,
            .address = j->address,
            .port = j->port,
            .user = j->user,
            .identities = j->identities,
            .n_identities = j->n_identities,
            .use_agent = j->use_agent,
            .hostkey_alias = j->hostkey_alias,
            .known_hosts = kh_for(s, j->known_hosts),
            .known_hosts_path = j->known_hosts,
            .connect_timeout_s = j->connect_timeout_s,
        };
    }
    struct nm_ssh_target t = {
        .name = h->name,
        .address = to->address,
        .port = to->port,
        .user = to->user,
        .identity = to->identity,
        .identities = to->identities ? to->identities : (const char *const[]){NULL},
        .n_identities = to->n_identities,
        .use_agent = to->use_agent,
        .hostkey_alias = to->hostkey_alias,
        .connect_timeout_s = to->connect_timeout_s,
        .jumps = hops,
        .n_jumps = n_hops,
        .passphrase = s->reach->passphrase,
        .keys = s->identities,
        .known_hosts = kh_for(s, to->known_hosts),
        .known_hosts_path = to->known_hosts,
        .accept_new = o->accept_new,
        .bastions = s->bastions,
        .output_cap = o->host_cap,
    };
    struct nm_ssh_result res;
    int r;
    if (to->error) {
        /* Configured so that nearmiss cannot follow (a ProxyCommand): never
         * a direct connection instead. */
        memset(&res, 0, sizeof res);
        res.status = NM_HOST_UNREACHABLE;
        res.exit_status = -1;
        snprintf(res.error, sizeof res.error, "%s", to->error);
        r = NM_ERR_CONFIG;
    } else {
        r = nm_ssh_run(&t, script.data, script.len, deadline, sp, &res);
    }
    nm_splitter_finish(sp);

    json_object_set_new(hj, "status", json_string(nm_host_status_name(res.status)));
    json_object_set_new(hj, "error", res.error[0] ? json_string(res.error) : json_null());
    json_t *scan =
        json_pack("{s:I, s:I, s:I, s:I, s:I}", "duration_ms", (json_int_t)res.total_ms,
                  "connect_ms", (json_int_t)res.connect_ms, "bytes", (json_int_t)res.bytes_received,
                  "probes", (json_int_t)n, "exit_status", (json_int_t)res.exit_status);
    if (n_hops) {
        json_t *via = json_array();
        for (size_t k = 0; k < n_hops; k++)
            json_array_append_new(
                via, json_sprintf("%s@%s:%d", hops[k].user, hops[k].address, hops[k].port));
        json_object_set_new(scan, "via", via);
    }
    if (res.hostkey_type[0])
        json_object_set_new(scan, "hostkey",
                            json_pack("{s:s, s:s, s:b}", "type", res.hostkey_type, "fingerprint",
                                      res.hostkey_fingerprint, "added", res.hostkey_added));
    if (res.output_capped)
        json_object_set_new(scan, "truncated",
                            json_sprintf("host output exceeded the %" PRIu64
                                         "-byte cap; reading stopped there and the probes after "
                                         "it are missing",
                                         o->host_cap));
    if (o->timings) {
        /* The phases add up to duration_ms: a phase that failed took the
         * rest of the time, the ones after it none. */
        int64_t reach = res.reach_ms >= 0 ? res.reach_ms : res.total_ms;
        int64_t login = res.login_ms >= 0 ? res.login_ms : res.total_ms - reach;
        int64_t run = res.login_ms >= 0 ? res.total_ms - reach - login : 0;
        json_object_update_new(scan,
                               json_pack("{s:I, s:I, s:I}", "reach_ms", (json_int_t)reach,
                                         "login_ms", (json_int_t)login, "run_ms", (json_int_t)run));
    }
    if (save_error)
        json_object_set_new(scan, "script_save_error", json_string(save_error));
    free(save_error);
    json_object_set_new(hj, "scan", scan);
    if (res.output_capped && res.status == NM_HOST_OK)
        json_object_set_new(hj, "error",
                            json_sprintf("output truncated at %" PRIu64 " bytes", o->host_cap));

    /* Whatever arrived is judged, even when the host timed out or dropped
     * the connection half way: checks whose probe did not finish say so
     * themselves. */
    int64_t t_judge = o->timings ? nm_now_ms() : 0;
    if (r == 0 || res.status == NM_HOST_TIMEOUT || res.output_capped || res.connection_lost) {
        bool got_facts = evaluate_host(s, h, hj, sp, r == 0);
        if (got_facts)
            discover_host(s, h, hj, sp);
        if (!got_facts && res.status == NM_HOST_OK) {
            /* A login that runs nothing (a ForceCommand, a restricted or
             * missing shell) is not a scan: nothing was looked at. */
            json_object_set_new(hj, "status", json_string(nm_host_status_name(NM_HOST_ERROR)));
            if (res.output_capped)
                json_object_set_new(
                    hj, "error",
                    json_sprintf("output truncated at %" PRIu64 " bytes before the host facts "
                                 "arrived: the host printed something else instead of running "
                                 "the probes; nothing could be judged",
                                 o->host_cap));
            else
                json_object_set_new(
                    hj, "error",
                    json_sprintf(
                        "logged in, but the probe script did not run: the host facts never "
                        "arrived (remote exit status %d, %" PRIu64
                        " bytes of output); a ForceCommand, a restricted shell or a missing "
                        "/bin/sh on the host does this",
                        res.exit_status, res.bytes_received));
        }
    }
    if (o->timings)
        json_object_set_new(scan, "judge_ms", json_integer((json_int_t)(nm_now_ms() - t_judge)));
out:
    nm_splitter_destroy(sp);
    nm_buf_finish(&script);
    kind_free(own_kind);
    return hj;
}

static bool is_bare_port(const char *spec)
{
    const char *p = spec;
    while (*p >= '0' && *p <= '9')
        p++;
    return p > spec && (*p == '\0' || *p == '/');
}

/* Every inventory "tls" entry becomes a job in the same queue as the hosts. */
static void plan_tls_jobs(struct scan *s)
{
    for (size_t i = 0; i < s->inv->n_hosts; i++) {
        const struct nm_host *h = &s->inv->hosts[i];
        for (size_t k = 0; k < h->n_tls; k++) {
            s->tls = nm_xreallocarray(s->tls, s->n_tls + 1, sizeof *s->tls);
            struct tls_job *j = &s->tls[s->n_tls++];
            memset(j, 0, sizeof *j);
            j->host = i;
            j->spec = h->tls[k];
            nm_diag d = {{0}};
            if (nm_tls_spec_parse(h->tls[k], h->address, &j->target, &d) < 0) {
                snprintf(j->error, sizeof j->error, "bad tls endpoint \"%s\": %s", h->tls[k],
                         d.msg);
                continue;
            }
            /* "443" on a host known by its DNS name: ask for that name, as
             * a browser would, even when the inventory connects by address. */
            if (!j->target.sni[0] && is_bare_port(h->tls[k]) && strchr(h->name, '.') &&
                strlen(h->name) < sizeof j->target.sni)
                snprintf(j->target.sni, sizeof j->target.sni, "%s", h->name);
            j->target.ca_file = s->o->tls_ca;
            /* Days left and chain validation at the run's time, not the
             * handshake's. */
            j->target.now = s->now;
            j->valid = true;
        }
    }
}

/* The host's endpoint results, in inventory order, then the discovered
 * ones, as its report's "tls" (absent when it has none); the tls step
 * judges them. */
static void attach_tls(struct scan *s, size_t host)
{
    json_t *items = json_array();
    for (size_t i = 0; i < s->n_tls; i++)
        if (s->tls[i].host == host && s->tls[i].item)
            json_array_append(items, s->tls[i].item);
    if (s->discovered[host])
        json_array_extend(items, s->discovered[host]);
    if (json_array_size(items))
        json_object_set(s->hosts[host], "tls", items);
    json_decref(items);
}

static void run_tls_job(const struct scan *s, struct tls_job *j)
{
    nm_diag d = {{0}};
    if (!j->valid) {
        j->item = json_pack("{s:s, s:s, s:s}", "subject", j->spec, "endpoint", j->spec, "error",
                            j->error);
        return;
    }
    int64_t deadline = nm_now_ms() + (int64_t)s->o->tls_timeout_s * 1000;
    if (nm_tls_probe(&j->target, deadline, &j->item, &d) < 0)
        j->item =
            json_pack("{s:s, s:s, s:s}", "subject", j->spec, "endpoint", j->spec, "error", d.msg);
    json_object_set_new(j->item, "spec", json_string(j->spec));
}

static const char *host_label(const struct nm_host *h, const char *key)
{
    for (size_t i = 0; i < h->n_labels; i++)
        if (strcmp(h->labels[i].key, key) == 0)
            return h->labels[i].value;
    return NULL;
}

/* One group per (--max-per label, value) present in the inventory; hosts
 * without the label are in none for it. */
static void plan_groups(struct scan *s)
{
    size_t nl = s->o->n_max_per, nh = s->inv->n_hosts, cells = nh * nl + 1;
    s->group = nm_xcalloc(cells, sizeof *s->group);
    const char **value = nm_xcalloc(cells, sizeof *value);
    size_t *limit = nm_xcalloc(cells, sizeof *limit);
    for (size_t h = 0; h < nh; h++)
        for (size_t l = 0; l < nl; l++) {
            const char *v = host_label(&s->inv->hosts[h], s->o->max_per[l].label);
            size_t g = NO_GROUP;
            for (size_t k = 0; v && k < s->n_groups && g == NO_GROUP; k++)
                if (limit[k] == l && strcmp(value[k], v) == 0)
                    g = k;
            if (v && g == NO_GROUP) {
                g = s->n_groups++;
                value[g] = v;
                limit[g] = l;
            }
            s->group[h * nl + l] = g;
        }
    s->running = nm_xcalloc(s->n_groups ? s->n_groups : 1, sizeof *s->running);
    s->group_cap = nm_xcalloc(s->n_groups ? s->n_groups : 1, sizeof *s->group_cap);
    for (size_t g = 0; g < s->n_groups; g++)
        s->group_cap[g] = s->o->max_per[limit[g]].max;
    free(value);
    free(limit);
}

static bool host_fits(const struct scan *s, size_t h)
{
    size_t nl = s->o->n_max_per;
    for (size_t l = 0; l < nl; l++) {
        size_t g = s->group[h * nl + l];
        if (g != NO_GROUP && s->running[g] >= s->group_cap[g])
            return false;
    }
    return true;
}

static void host_slots(struct scan *s, size_t h, bool take)
{
    size_t nl = s->o->n_max_per;
    for (size_t l = 0; l < nl; l++) {
        size_t g = s->group[h * nl + l];
        if (g != NO_GROUP)
            s->running[g] += take ? 1 : (size_t)-1;
    }
}

/*
 * The next job, under mu: the first waiting host (inventory order) whose
 * groups all have room, else an inventory endpoint, else wait for a running
 * host to free a slot.  A worker so never idles while something it may run
 * waits.  Returns a host index, n_hosts + an endpoint index, or SIZE_MAX
 * when nothing is left.
 */
static size_t sched_next(struct scan *s)
{
    size_t nh = s->inv->n_hosts, job = SIZE_MAX;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->first_waiting < nh && s->state[s->first_waiting] != HOST_WAITING)
            s->first_waiting++;
        for (size_t h = s->first_waiting; s->n_waiting && h < nh; h++)
            if (s->state[h] == HOST_WAITING && host_fits(s, h)) {
                s->state[h] = HOST_RUNNING;
                s->n_waiting--;
                host_slots(s, h, true);
                job = h;
                break;
            }
        if (job == SIZE_MAX && s->next_tls < s->n_tls)
            job = nh + s->next_tls++;
        /* Waiting hosts that do not fit: one finishing host makes room. */
        if (job != SIZE_MAX || s->n_waiting == 0)
            break;
        if (!nm_in_fiber()) {
            pthread_cond_wait(&s->cv, &s->mu);
            continue;
        }
        /* A fiber must not block its thread (the running hosts may be its
         * neighbours): it sleeps, and looks again once a host finished. */
        size_t seen = atomic_load(&s->finished);
        pthread_mutex_unlock(&s->mu);
        while (atomic_load(&s->finished) == seen)
            nm_sleep_ms(ROOM_LOOK_MS);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return job;
}

static void sched_done(struct scan *s, size_t h)
{
    pthread_mutex_lock(&s->mu);
    s->state[h] = HOST_DONE;
    host_slots(s, h, false);
    atomic_fetch_add(&s->finished, 1);
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* When the host's scan ran, on the run's clock (the scan began at `now`)
 * and in milliseconds since then: the concurrency the fleet saw. */
static void record_times(const struct scan *s, json_t *hj, int64_t t_start, int64_t t_end)
{
    char started[32], ended[32];
    int64_t off = t_start - s->t0_ms, end = t_end - s->t0_ms;
    nm_utc_iso8601(s->now + off / 1000, started);
    nm_utc_iso8601(s->now + end / 1000, ended);
    json_t *scan = json_object_get(hj, "scan");
    if (!json_is_object(scan)) {
        scan = json_object();
        json_object_set_new(hj, "scan", scan);
    }
    json_object_set_new(scan, "started_at", json_string(started));
    json_object_set_new(scan, "ended_at", json_string(ended));
    json_object_set_new(scan, "start_ms", json_integer((json_int_t)off));
    json_object_set_new(scan, "end_ms", json_integer((json_int_t)end));
}

/* Near the end, the names of the hosts still running: who is slow.  Only
 * looked up once few hosts are unfinished; names[] has room for
 * progress_names. */
static void report_progress(struct scan *s, const char **names)
{
    struct nm_scan_progress p = {.done = atomic_load(&s->done),
                                 .total = s->inv->n_hosts,
                                 .failed = atomic_load(&s->failed),
                                 .running = names};
    size_t cap = s->o->progress_names;
    if (cap && p.total - p.done <= cap) {
        pthread_mutex_lock(&s->mu);
        for (size_t h = 0; h < p.total && p.n_running < cap; h++)
            if (s->state[h] == HOST_RUNNING)
                names[p.n_running++] = s->inv->hosts[h].name;
        pthread_mutex_unlock(&s->mu);
    }
    s->o->progress(s->o->progress_ctx, &p);
}

/* Out of memory as soon as it is done (nearmiss/spool.h); kept when the
 * spool cannot take it, so a full disk costs memory, never a host. */
static json_t *spool_host(const struct scan *s, size_t i, json_t *hj)
{
    nm_diag d = {{0}};
    if (!s->o->spool || nm_spool_put(s->o->spool, i, hj, &d) < 0)
        return hj;
    json_decref(hj);
    return NULL;
}

/* attach_tls() for a host in the spool: read back, attached, put again. */
static void attach_tls_spooled(struct scan *s, size_t host)
{
    bool any = s->discovered[host] && json_array_size(s->discovered[host]);
    for (size_t i = 0; !any && i < s->n_tls; i++)
        any = s->tls[i].host == host && s->tls[i].item;
    nm_diag d = {{0}};
    if (!any || nm_spool_get(s->o->spool, host, &s->hosts[host], &d) < 0)
        return;
    attach_tls(s, host);
    s->hosts[host] = spool_host(s, host, s->hosts[host]);
}

static void work(void *arg)
{
    struct scan *s = arg;
    for (;;) {
        size_t i = sched_next(s);
        if (i == SIZE_MAX)
            break;
        if (i >= s->inv->n_hosts) {
            run_tls_job(s, &s->tls[i - s->inv->n_hosts]);
            continue;
        }
        int64_t t_start = nm_now_ms();
        json_t *hj = scan_host(s, &s->inv->hosts[i]);
        record_times(s, hj, t_start, nm_now_ms());
        sched_done(s, i);
        if (s->o->host_done)
            s->o->host_done(s->o->progress_ctx, hj);
        if (!nm_view_host_ok(hj))
            atomic_fetch_add(&s->failed, 1);
        s->hosts[i] = spool_host(s, i, hj);
        size_t done = atomic_fetch_add(&s->done, 1) + 1;
        /* The main thread waits for the last host, or shows progress: only
         * then is it woken (one wakeup a run, not a context switch a host). */
        if (done == s->inv->n_hosts || s->o->progress) {
            pthread_mutex_lock(&s->mu);
            pthread_cond_signal(&s->done_cv);
            pthread_mutex_unlock(&s->mu);
        }
    }
}

/* One thread of the scan: its share of the --jobs sessions, as fibers
 * (nearmiss/fiber.h); a share of one needs none. */
struct crew {
    struct scan *s;
    size_t sessions;
};

static void *crew_thread(void *arg)
{
    const struct crew *c = arg;
    if (c->sessions <= 1 || nm_fibers_run(c->sessions, WORKER_STACK, work, c->s) < 0)
        work(c->s);
    return NULL;
}

int nm_scan_threads_env(size_t *ret, nm_diag *d)
{
    *ret = 0;
    const char *env = getenv("NEARMISS_THREADS");
    if (!env || !*env)
        return 0;
    char *end = NULL;
    errno = 0;
    long t = strtol(env, &end, 10);
    if (errno || *end || t < 1 || t > 100000)
        return nm_diag_set(d, NM_ERR_INVAL,
                           "NEARMISS_THREADS=\"%.40s\" is not a number of threads (1 to 100000)",
                           env);
    *ret = (size_t)t;
    return 0;
}

/* Threads for `sessions` concurrent sessions: as asked, else one a core (a
 * session mostly waits, and its computing needs no more); never more than
 * one a session. */
static size_t scan_threads(size_t asked, size_t sessions)
{
    long t = (long)asked;
    if (t <= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        t = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set)
                                                          : sysconf(_SC_NPROCESSORS_ONLN);
        if (t < 1)
            t = 1;
    }
    return (size_t)t < sessions ? (size_t)t : sessions;
}

int nm_scan_run(const struct nm_inventory *inv, const struct nm_reach_set *reach,
                const struct nm_checkset *cs, const struct nm_scan_options *o, int64_t now,
                json_t **ret_report, nm_diag *d)
{
    struct scan s = {.inv = inv, .reach = reach, .cs = cs, .o = o, .now = now};
    int r = 0;
    char started[32];
    pthread_t *threads = NULL;
    struct crew *crews = NULL;
    size_t n_threads = 0;
    const char **running = NULL;

    s.t0_ms = nm_now_ms();
    pthread_mutex_init(&s.mu, NULL);
    pthread_mutex_init(&s.kinds_mu, NULL);
    pthread_cond_init(&s.cv, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s.done_cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&s.done, 0);
    atomic_init(&s.failed, 0);
    nm_utc_iso8601(now, started);
    r = load_known_hosts(&s, d);
    if (r < 0)
        goto out;
    s.facts_script = nm_facts_script(cs);
    s.identities = nm_identity_set_create(reach->passphrase);
    s.bastions = nm_bastion_pool_create();
    s.parser_options = nm_xcalloc(cs->n_checks ? cs->n_checks : 1, sizeof *s.parser_options);
    for (size_t i = 0; i < cs->n_checks; i++)
        s.parser_options[i] = nm_check_parser_options(&cs->checks[i], now);
    plan_tls_jobs(&s);
    s.hosts = nm_xcalloc(inv->n_hosts ? inv->n_hosts : 1, sizeof *s.hosts);
    s.discovered = nm_xcalloc(inv->n_hosts ? inv->n_hosts : 1, sizeof *s.discovered);
    s.state = nm_xcalloc(inv->n_hosts ? inv->n_hosts : 1, sizeof *s.state);
    s.n_waiting = inv->n_hosts;
    plan_groups(&s);
    running = nm_xcalloc(o->progress_names ? o->progress_names : 1, sizeof *running);

    size_t want = (size_t)(o->jobs > 0 ? o->jobs : NM_DEFAULT_JOBS);
    if (want > inv->n_hosts + s.n_tls)
        want = inv->n_hosts + s.n_tls;
    size_t n_crews = scan_threads(o->threads, want);
    threads = nm_xcalloc(n_crews ? n_crews : 1, sizeof *threads);
    crews = nm_xcalloc(n_crews ? n_crews : 1, sizeof *crews);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK);
    for (size_t i = 0; i < n_crews; i++) {
        crews[i] = (struct crew){.s = &s, .sessions = want / n_crews + (i < want % n_crews)};
        if (pthread_create(&threads[n_threads], &attr, crew_thread, &crews[i]) != 0)
            break;
        n_threads++;
    }
    pthread_attr_destroy(&attr);
    if (n_threads == 0 && inv->n_hosts + s.n_tls > 0) {
        work(&s); /* no thread could start: scan serially rather than not at all */
    }
    /* Woken by the last host as it finishes (the report waits for no
     * sleep to end); progress is shown every 200 ms. */
    struct timespec next = {0};
    pthread_mutex_lock(&s.mu);
    while (atomic_load(&s.done) < inv->n_hosts) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec > next.tv_sec || (t.tv_sec == next.tv_sec && t.tv_nsec >= next.tv_nsec)) {
            if (o->progress) {
                pthread_mutex_unlock(&s.mu);
                report_progress(&s, running);
                pthread_mutex_lock(&s.mu);
            }
            next = t;
            next.tv_nsec += 200 * 1000000L;
            if (next.tv_nsec >= 1000000000L) {
                next.tv_sec++;
                next.tv_nsec -= 1000000000L;
            }
            continue;
        }
        pthread_cond_timedwait(&s.done_cv, &s.mu, &next);
    }
    pthread_mutex_unlock(&s.mu);
    for (size_t i = 0; i < n_threads; i++)
        pthread_join(threads[i], NULL);
    /* Logs out of the jump hosts now, not after the report is built. */
    nm_bastion_pool_destroy(s.bastions);
    s.bastions = NULL;
    /* What the sessions used (libssh2 buffers, outputs, scripts) was freed
     * in the workers' malloc arenas, which keep it; hand it back before the
     * writers build the report's big parts, so that the two peaks do not
     * add up. */
    malloc_trim(0);
    for (size_t i = 0; i < inv->n_hosts; i++) {
        if (s.hosts[i])
            attach_tls(&s, i);
        else
            attach_tls_spooled(&s, i);
    }
    if (o->progress)
        o->progress(o->progress_ctx, &(struct nm_scan_progress){.done = inv->n_hosts,
                                                                .total = inv->n_hosts,
                                                                .failed = atomic_load(&s.failed)});

    /* The report's skeleton, in its key order; finished_at and summary are
     * filled by the run's summary step. */
    json_t *report = json_pack("{s:s, s:s, s:s, s:s, s:{}, s:[], s:[]}", "schema", NM_REPORT_SCHEMA,
                               "tool", "nearmiss " NM_VERSION, "started_at", started, "finished_at",
                               started, "summary", "hosts", "fleet_findings");
    json_t *hosts = json_object_get(report, "hosts");
    for (size_t i = 0; i < inv->n_hosts; i++)
        json_array_append_new(hosts, s.hosts[i] ? s.hosts[i] : json_null());
    *ret_report = report;
out:
    free(running);
    free(threads);
    free(crews);
    free(s.hosts);
    for (size_t i = 0; s.discovered && i < inv->n_hosts; i++)
        json_decref(s.discovered[i]);
    free(s.discovered);
    free(s.state);
    free(s.group);
    free(s.running);
    free(s.group_cap);
    pthread_mutex_destroy(&s.mu);
    for (size_t i = 0; i < s.n_kinds; i++)
        kind_free(s.kinds[i]);
    pthread_mutex_destroy(&s.kinds_mu);
    pthread_cond_destroy(&s.cv);
    pthread_cond_destroy(&s.done_cv);
    free(s.facts_script);
    nm_bastion_pool_destroy(s.bastions);
    nm_identity_set_destroy(s.identities);
    for (size_t i = 0; s.parser_options && i < cs->n_checks; i++)
        json_decref(s.parser_options[i]);
    free(s.parser_options);
    for (size_t i = 0; i < s.n_tls; i++)
        json_decref(s.tls[i].item);
    free(s.tls);
    for (size_t i = 0; i < s.n_kh; i++) {
        free(s.kh[i].path);
        nm_known_hosts_destroy(s.kh[i].kh);
    }
    free(s.kh);
    nm_known_hosts_destroy(s.kh_global);
    return r;
}
