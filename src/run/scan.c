#include <arpa/inet.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nearmiss/facts.h"
#include "nearmiss/scan.h"
#include "nearmiss/score.h"
#include "nearmiss/script.h"
#include "nearmiss/ssh.h"
#include "nearmiss/tls.h"
#include "nearmiss/util.h"

#include "nm-config.h"

#define FACTS_TIMEOUT_S 20
#define FACTS_CAP       (64u << 10)
#define WORKER_STACK    (512u << 10)

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

struct scan {
    const struct nm_inventory *inv;
    const struct nm_checkset *cs;
    const struct nm_scan_options *o;
    char *facts_script;
    struct kh_entry *kh;
    size_t n_kh;
    json_t **hosts; /* one slot per inventory host, filled by workers */
    struct tls_job *tls;
    size_t n_tls;
    atomic_size_t next;
    atomic_size_t done;
    atomic_size_t failed;
};

static const char *host_known_hosts(const struct scan *s, const struct nm_host *h)
{
    if (h->known_hosts)
        return h->known_hosts;
    return s->o->known_hosts;
}

static struct nm_known_hosts *kh_for(const struct scan *s, const char *path)
{
    for (size_t i = 0; i < s->n_kh; i++)
        if (strcmp(s->kh[i].path, path) == 0)
            return s->kh[i].kh;
    return NULL;
}

/* Loads each distinct known_hosts file once, before any thread starts. */
static int load_known_hosts(struct scan *s, nm_diag *d)
{
    for (size_t i = 0; i < s->inv->n_hosts; i++) {
        const char *path = host_known_hosts(s, &s->inv->hosts[i]);
        if (kh_for(s, path))
            continue;
        struct nm_known_hosts *kh = NULL;
        int r = nm_known_hosts_load(path, &kh, d);
        if (r < 0)
            return r;
        s->kh = nm_xreallocarray(s->kh, s->n_kh + 1, sizeof *s->kh);
        s->kh[s->n_kh].path = nm_xstrdup(path);
        s->kh[s->n_kh].kh = kh;
        s->n_kh++;
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
            nm_buf_appendf(&g,
                           "f=/etc/os-release; [ -r \"$f\" ] || f=/usr/lib/os-release\n"
                           "ID=; ID_LIKE=; [ -r \"$f\" ] && . \"$f\" 2>/dev/null\n"
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

/* The probe list for one host: facts first, then each needed probe once. */
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
                                            .timeout_s = pd->timeout_s,
                                            .cap = pd->max_output};
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

static void evaluate_host(const struct scan *s, const struct nm_host *h, json_t *hj,
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
        if (c->source_tls)
            continue; /* judged once the host's TLS endpoints were probed */
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
            entry = nm_check_evaluate(c, h, nm_splitter_find(sp, c->probe->id), findings,
                                      json_object_get(hj, "metrics"));
        }
        json_array_append_new(checks, entry);
    }
    json_decref(facts);
}

static json_t *scan_host(struct scan *s, const struct nm_host *h)
{
    const struct nm_scan_options *o = s->o;
    int port = h->port ? h->port : 22;
    json_t *hj = host_skeleton(h, port);
    int64_t deadline = nm_now_ms() + (int64_t)o->timeout_s * 1000;

    size_t max = s->cs->n_probes + 1;
    struct nm_probe_spec *specs = nm_xcalloc(max, sizeof *specs);
    char **guarded = nm_xcalloc(max, sizeof *guarded);
    size_t n = host_probes(s, h, specs, guarded);

    char marker[NM_MARKER_LEN + 1];
    struct nm_buf script;
    nm_buf_init(&script, 4u << 20);
    nm_diag d = {{0}};
    struct nm_splitter *sp = NULL;
    if (nm_marker_generate(marker) < 0 || nm_script_build(specs, n, marker, &script, &d) < 0) {
        json_object_set_new(hj, "error", json_sprintf("cannot build the probe script: %s", d.msg));
        goto out;
    }
    sp = nm_splitter_create(marker, specs, n, o->host_cap);
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

    char *user_env = getenv("USER");
    const char *kh_path = host_known_hosts(s, h);
    struct nm_ssh_target t = {
        .name = h->name,
        .address = h->address,
        .port = port,
        .user = h->user    ? h->user
                : o->user  ? o->user
                : user_env ? user_env
                           : "root",
        .identity = h->identity ? h->identity : o->identity,
        .passphrase = o->passphrase,
        .known_hosts = kh_for(s, kh_path),
        .known_hosts_path = kh_path,
        .accept_new = o->accept_new,
    };
    struct nm_ssh_result res;
    int r = nm_ssh_run(&t, script.data, script.len, deadline, sp, &res);
    nm_splitter_finish(sp);

    json_object_set_new(hj, "status", json_string(nm_host_status_name(res.status)));
    json_object_set_new(hj, "error", res.error[0] ? json_string(res.error) : json_null());
    json_t *scan =
        json_pack("{s:I, s:I, s:I, s:I, s:I}", "duration_ms", (json_int_t)res.total_ms,
                  "connect_ms", (json_int_t)res.connect_ms, "bytes", (json_int_t)res.bytes_received,
                  "probes", (json_int_t)n, "exit_status", (json_int_t)res.exit_status);
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
    if (save_error)
        json_object_set_new(scan, "script_save_error", json_string(save_error));
    free(save_error);
    json_object_set_new(hj, "scan", scan);
    if (res.output_capped && res.status == NM_HOST_OK)
        json_object_set_new(hj, "error",
                            json_sprintf("output truncated at %" PRIu64 " bytes", o->host_cap));

    /* Whatever arrived is judged, even when the host timed out half way:
     * checks whose probe did not finish say so themselves. */
    if (r == 0 || res.status == NM_HOST_TIMEOUT || res.output_capped)
        evaluate_host(s, h, hj, sp, r == 0);
out:
    nm_splitter_destroy(sp);
    nm_buf_finish(&script);
    for (size_t i = 0; i < max; i++)
        free(guarded[i]);
    free(guarded);
    free(specs);
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
            j->valid = true;
        }
    }
}

/* On-disk certificates as the cert-expiry check records them (by SHA-256). */
#define CERT_DISK_CHECK   "cert-expiry"
#define CERT_SERVED_CHECK "cert-served-stale"

static bool is_ip_literal(const char *s)
{
    struct in6_addr a6;
    struct in_addr a4;
    return inet_pton(AF_INET, s, &a4) == 1 || inet_pton(AF_INET6, s, &a6) == 1;
}

static bool names_overlap(const json_t *a, const json_t *b)
{
    /* Each side: its cn and its sans; a shared DNS name is the same service. */
    const char *acn = json_string_value(json_object_get(a, "cn"));
    const char *bcn = json_string_value(json_object_get(b, "cn"));
    const json_t *as = json_object_get(a, "sans"), *bs = json_object_get(b, "sans");
    const char *an[65], *bn[65];
    size_t na = 0, nb = 0;
    if (acn)
        an[na++] = acn;
    if (bcn)
        bn[nb++] = bcn;
    /* IP SANs are skipped: every service on a host may carry the host's
     * address, so sharing one says nothing about being the same service. */
    for (size_t i = 0; i < json_array_size(as) && na < 65; i++)
        if (json_is_string(json_array_get(as, i)) &&
            !is_ip_literal(json_string_value(json_array_get(as, i))))
            an[na++] = json_string_value(json_array_get(as, i));
    for (size_t i = 0; i < json_array_size(bs) && nb < 65; i++)
        if (json_is_string(json_array_get(bs, i)) &&
            !is_ip_literal(json_string_value(json_array_get(bs, i))))
            bn[nb++] = json_string_value(json_array_get(bs, i));
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (strcasecmp(an[i], bn[j]) == 0)
                return true;
    return false;
}

/*
 * A renewed certificate that the service never reloaded: the endpoint still
 * serves the old one while a newer one for the same name sits on disk.  The
 * outage comes when the old one expires although "we renewed it".
 */
static void compare_served_with_disk(const struct nm_host *h, json_t *hj, const json_t *items)
{
    const json_t *disk = json_object_get(json_object_get(hj, "metrics"), CERT_DISK_CHECK);
    if (!disk)
        return;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *ep = json_array_get(items, i);
        const json_t *leaf = json_array_get(json_object_get(ep, "chain"), 0);
        const char *served_fp = json_string_value(json_object_get(leaf, "sha256"));
        const json_t *served_na = json_object_get(leaf, "not_after_unix");
        if (!served_fp || !json_is_integer(served_na))
            continue;
        const char *sha;
        const json_t *rec;
        json_object_foreach ((json_t *)disk, sha, rec) {
            const json_t *na = json_object_get(rec, "not_after_unix");
            if (strcmp(sha, served_fp) == 0 || !json_is_integer(na) ||
                json_integer_value(na) <= json_integer_value(served_na) ||
                !names_overlap(leaf, rec))
                continue;
            const char *endpoint = json_string_value(json_object_get(ep, "subject"));
            const char *path = json_string_value(json_array_get(json_object_get(rec, "paths"), 0));
            if (!path)
                path = json_string_value(json_object_get(rec, "subject"));
            const char *served_date = json_string_value(json_object_get(leaf, "not_after"));
            const char *disk_date = json_string_value(json_object_get(rec, "not_after"));
            char *msg = nm_xasprintf("%s serves a certificate that expires %s, but a renewed one "
                                     "for the same name is on disk (%s, expires %s): the service "
                                     "was not reloaded",
                                     endpoint ? endpoint : "the endpoint",
                                     served_date ? served_date : "sooner", path ? path : "?",
                                     disk_date ? disk_date : "later");
            char fp[65];
            nm_finding_fingerprint(CERT_SERVED_CHECK, h->name, endpoint ? endpoint : "?", fp);
            json_t *f = json_pack(
                "{s:s, s:s, s:s, s:s, s:s, s:O, s:O, s:s, s:s, s:s}", "check", CERT_SERVED_CHECK,
                "category", "cert", "severity", "medium", "subject", endpoint ? endpoint : "?",
                "message", msg, "value",
                json_object_get(leaf, "days_left") ? json_object_get(leaf, "days_left")
                                                   : json_null(),
                "threshold", json_null(), "fingerprint", fp, "evidence",
                "served certificate sha256 differs from the newer on-disk one", "remediation",
                "Reload or restart the service that terminates TLS here so it "
                "picks up the renewed certificate, and add a reload hook to the "
                "renewal (e.g. certbot --deploy-hook).");
            free(msg);
            json_array_append_new(json_object_get(hj, "findings"), f);
            break;
        }
    }
}

/* Judges the host's endpoints with the checks whose items come from TLS. */
static void judge_tls(struct scan *s, size_t host)
{
    const struct nm_host *h = &s->inv->hosts[host];
    json_t *hj = s->hosts[host];
    json_t *items = json_array();
    for (size_t i = 0; i < s->n_tls; i++)
        if (s->tls[i].host == host && s->tls[i].item)
            json_array_append(items, s->tls[i].item);
    if (json_array_size(items))
        json_object_set(hj, "tls", items);
    json_t *metrics = json_object_get(hj, "metrics");
    for (size_t i = 0; i < s->cs->n_checks; i++) {
        const struct nm_check *c = &s->cs->checks[i];
        if (!c->source_tls)
            continue;
        json_t *entry;
        if (!nm_check_applies_to_host(c, h, NULL, 0))
            entry = nm_check_result_entry(c, NM_RESULT_NOTAPPLICABLE,
                                          "host roles/labels do not match the check");
        else if (json_array_size(items) == 0)
            entry = nm_check_result_entry(c, NM_RESULT_NOTAPPLICABLE,
                                          "the inventory lists no tls endpoints for this host");
        else
            entry = nm_check_judge_items(c, h, items, json_object_get(hj, "findings"), metrics);
        json_array_append_new(json_object_get(hj, "checks"), entry);
    }
    compare_served_with_disk(h, hj, items);
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

static void *worker(void *arg)
{
    struct scan *s = arg;
    for (;;) {
        size_t i = atomic_fetch_add(&s->next, 1);
        if (i >= s->inv->n_hosts + s->n_tls)
            break;
        if (i >= s->inv->n_hosts) {
            run_tls_job(s, &s->tls[i - s->inv->n_hosts]);
            continue;
        }
        json_t *hj = scan_host(s, &s->inv->hosts[i]);
        if (strcmp(json_string_value(json_object_get(hj, "status")), "ok") != 0)
            atomic_fetch_add(&s->failed, 1);
        s->hosts[i] = hj;
        atomic_fetch_add(&s->done, 1);
    }
    return NULL;
}

int nm_scan_run(const struct nm_inventory *inv, const struct nm_checkset *cs,
                const struct nm_scan_options *o, json_t **ret_report, nm_diag *d)
{
    struct scan s = {.inv = inv, .cs = cs, .o = o};
    int r = 0;
    char started[32], finished[32];
    pthread_t *threads = NULL;
    size_t n_threads = 0;

    atomic_init(&s.next, 0);
    atomic_init(&s.done, 0);
    atomic_init(&s.failed, 0);
    nm_utc_iso8601((int64_t)time(NULL), started);
    r = load_known_hosts(&s, d);
    if (r < 0)
        goto out;
    s.facts_script = nm_facts_script(cs);
    plan_tls_jobs(&s);
    s.hosts = nm_xcalloc(inv->n_hosts ? inv->n_hosts : 1, sizeof *s.hosts);

    size_t want = (size_t)(o->jobs > 0 ? o->jobs : NM_DEFAULT_JOBS);
    if (want > inv->n_hosts + s.n_tls)
        want = inv->n_hosts + s.n_tls;
    threads = nm_xcalloc(want ? want : 1, sizeof *threads);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WORKER_STACK);
    for (size_t i = 0; i < want; i++) {
        if (pthread_create(&threads[n_threads], &attr, worker, &s) != 0)
            break;
        n_threads++;
    }
    pthread_attr_destroy(&attr);
    if (n_threads == 0 && inv->n_hosts + s.n_tls > 0) {
        worker(&s); /* no thread could start: scan serially rather than not at all */
    }
    while (atomic_load(&s.done) < inv->n_hosts) {
        if (o->progress)
            o->progress(o->progress_ctx, atomic_load(&s.done), inv->n_hosts,
                        atomic_load(&s.failed));
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    for (size_t i = 0; i < n_threads; i++)
        pthread_join(threads[i], NULL);
    for (size_t i = 0; i < inv->n_hosts; i++) {
        judge_tls(&s, i);
        /* Every check has recorded what it wanted by now. */
        if (json_object_size(json_object_get(s.hosts[i], "metrics")) == 0)
            json_object_del(s.hosts[i], "metrics");
        nm_waivers_apply(o->waivers, s.hosts[i], (int64_t)time(NULL));
        nm_score_host(s.hosts[i]);
    }
    if (o->progress)
        o->progress(o->progress_ctx, inv->n_hosts, inv->n_hosts, atomic_load(&s.failed));

    nm_utc_iso8601((int64_t)time(NULL), finished);
    json_t *report =
        json_pack("{s:s, s:s, s:s, s:s, s:{}, s:[], s:[]}", "schema", "nearmiss.report/1", "tool",
                  "nearmiss " NM_VERSION, "started_at", started, "finished_at", finished, "summary",
                  "hosts", "fleet_findings");
    if (o->waivers && o->waivers->n)
        json_object_set_new(report, "waivers", nm_waivers_report(o->waivers, (int64_t)time(NULL)));
    json_t *hosts = json_object_get(report, "hosts");
    for (size_t i = 0; i < inv->n_hosts; i++)
        json_array_append_new(hosts, s.hosts[i]);
    nm_report_summarize(report);
    *ret_report = report;
out:
    free(threads);
    free(s.hosts);
    free(s.facts_script);
    for (size_t i = 0; i < s.n_tls; i++)
        json_decref(s.tls[i].item);
    free(s.tls);
    for (size_t i = 0; i < s.n_kh; i++) {
        free(s.kh[i].path);
        nm_known_hosts_destroy(s.kh[i].kh);
    }
    free(s.kh);
    return r;
}

void nm_report_summarize(json_t *report)
{
    static const char *const sev[] = {"critical", "high", "medium", "low", "info"};
    json_int_t counts[5] = {0};
    json_int_t scanned = 0, failed = 0;
    json_t *hosts = json_object_get(report, "hosts");
    size_t i;
    json_t *h;
    json_array_foreach (hosts, i, h) {
        if (strcmp(json_string_value(json_object_get(h, "status")), "ok") == 0)
            scanned++;
        else
            failed++;
        size_t j;
        json_t *f;
        json_array_foreach (json_object_get(h, "findings"), j, f) {
            if (json_is_true(json_object_get(f, "waived")))
                continue;
            const char *s = json_string_value(json_object_get(f, "severity"));
            for (size_t k = 0; k < 5; k++)
                if (s && strcmp(s, sev[k]) == 0)
                    counts[k]++;
        }
    }
    json_array_foreach (json_object_get(report, "fleet_findings"), i, h) {
        const char *s = json_string_value(json_object_get(h, "severity"));
        for (size_t k = 0; k < 5; k++)
            if (s && strcmp(s, sev[k]) == 0)
                counts[k]++;
    }
    json_t *fc = json_object();
    for (size_t k = 0; k < 5; k++)
        json_object_set_new(fc, sev[k], json_integer(counts[k]));
    json_t *summary = json_pack("{s:I, s:I, s:I, s:o}", "hosts", (json_int_t)json_array_size(hosts),
                                "scanned", scanned, "failed", failed, "findings", fc);
    json_object_set_new(summary, "fleet_score", nm_score_fleet(report));
    json_object_set_new(summary, "fleet_score_breakdown", nm_score_fleet_breakdown(report));
    json_object_set_new(report, "summary", summary);
}
