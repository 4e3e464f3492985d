#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nearmiss/report_view.h"
#include "nearmiss/facts.h"
#include "nearmiss/report.h"
#include "nearmiss/scan.h"
#include "nearmiss/script.h"
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
    const struct nm_reach_set *reach; /* reach->hosts[i] for inv->hosts[i] */
    const struct nm_scan_options *o;
    int64_t now; /* the run's clock */
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
        const char *path = s->reach->hosts[i].known_hosts;
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
            entry = nm_check_evaluate(c, h, nm_splitter_find(sp, c->probe->id), s->now, findings,
                                      json_object_get(hj, "metrics"));
            cap_findings(c, h, findings, first, entry);
        }
        json_array_append_new(checks, entry);
    }
    bool got_facts = facts != NULL;
    json_decref(facts);
    return got_facts;
}

static json_t *scan_host(struct scan *s, const struct nm_host *h)
{
    const struct nm_scan_options *o = s->o;
    json_t *hj = host_skeleton(h, s->reach->hosts[h - s->inv->hosts].port);
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

    const struct nm_reach *to = &s->reach->hosts[h - s->inv->hosts];
    struct nm_ssh_target t = {
        .name = h->name,
        .address = to->address,
        .port = to->port,
        .user = to->user,
        .identity = to->identity,
        .passphrase = s->reach->passphrase,
        .known_hosts = kh_for(s, to->known_hosts),
        .known_hosts_path = to->known_hosts,
        .accept_new = o->accept_new,
        .output_cap = o->host_cap,
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

    /* Whatever arrived is judged, even when the host timed out or dropped
     * the connection half way: checks whose probe did not finish say so
     * themselves. */
    if (r == 0 || res.status == NM_HOST_TIMEOUT || res.output_capped || res.connection_lost) {
        bool got_facts = evaluate_host(s, h, hj, sp, r == 0);
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
            /* Days left and chain validation at the run's time, not the
             * handshake's. */
            j->target.now = s->now;
            j->valid = true;
        }
    }
}

/* The host's endpoint results, in inventory order, as its report's "tls"
 * (absent when it has none); the tls step judges them. */
static void attach_tls(struct scan *s, size_t host)
{
    json_t *items = json_array();
    for (size_t i = 0; i < s->n_tls; i++)
        if (s->tls[i].host == host && s->tls[i].item)
            json_array_append(items, s->tls[i].item);
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
        if (!nm_view_host_ok(hj))
            atomic_fetch_add(&s->failed, 1);
        s->hosts[i] = hj;
        atomic_fetch_add(&s->done, 1);
    }
    return NULL;
}

int nm_scan_run(const struct nm_inventory *inv, const struct nm_reach_set *reach,
                const struct nm_checkset *cs, const struct nm_scan_options *o, int64_t now,
                json_t **ret_report, nm_diag *d)
{
    struct scan s = {.inv = inv, .reach = reach, .cs = cs, .o = o, .now = now};
    int r = 0;
    char started[32];
    pthread_t *threads = NULL;
    size_t n_threads = 0;

    atomic_init(&s.next, 0);
    atomic_init(&s.done, 0);
    atomic_init(&s.failed, 0);
    nm_utc_iso8601(now, started);
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
    for (size_t i = 0; i < inv->n_hosts; i++)
        attach_tls(&s, i);
    if (o->progress)
        o->progress(o->progress_ctx, inv->n_hosts, inv->n_hosts, atomic_load(&s.failed));

    /* The report's skeleton, in its key order; finished_at and summary are
     * filled by the run's summary step. */
    json_t *report = json_pack("{s:s, s:s, s:s, s:s, s:{}, s:[], s:[]}", "schema", NM_REPORT_SCHEMA,
                               "tool", "nearmiss " NM_VERSION, "started_at", started, "finished_at",
                               started, "summary", "hosts", "fleet_findings");
    json_t *hosts = json_object_get(report, "hosts");
    for (size_t i = 0; i < inv->n_hosts; i++)
        json_array_append_new(hosts, s.hosts[i]);
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
