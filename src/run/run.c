/*
 * The order of a run (see nearmiss/run.h for what each step does).  Each
 * step reads what the steps before it left in the run and adds its part;
 * none of them prints (the command layer does).  To add a step: write
 * `static int step_NAME(struct nm_run *, nm_diag *)` and put it in steps[]
 * where it belongs.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nearmiss/endpoints.h"
#include "nearmiss/hostiter.h"
#include "nearmiss/merge.h"
#include "nearmiss/model.h"
#include "nearmiss/outdir.h"
#include "nearmiss/report.h"
#include "nearmiss/report_view.h"
#include "nearmiss/run.h"
#include "nearmiss/tickets.h"
#include "nearmiss/score.h"
#include "nearmiss/spool.h"
#include "nearmiss/util.h"
#include "nearmiss/writers.h"

typedef int (*step_fn)(struct nm_run *run, nm_diag *d);

static json_t *host_at(const struct nm_run *run, size_t i)
{
    return json_array_get(json_object_get(run->report, "hosts"), i);
}

static int step_reach(struct nm_run *run, nm_diag *d)
{
    return nm_reach_resolve(run->inv, &run->reach_opts, &run->reach, d);
}

/* Checked, created (0700), locked and swept of stale temporaries before any
 * host is contacted (nearmiss/outdir.h); held until nm_run_finish(). */
static int step_outdir(struct nm_run *run, nm_diag *d)
{
    if (run->spool_only) {
        /* Without a scratch directory (a read-only or full $TMPDIR) the
         * hosts stay in memory, as they would for a small run anyway. */
        nm_diag ds = {{0}};
        if (nm_outdir_open_scratch(&run->outdir, "nearmiss-gate", &ds) < 0)
            run->spool_only = false;
        return 0;
    }
    if (run->no_write)
        return 0;
    return nm_outdir_open(&run->outdir, run->out_dir,
                          run->file_mode ? run->file_mode : NM_OUTDIR_FILE_MODE, d);
}

/* Whether the run keeps its hosts on disk (see nearmiss/run.h): any run
 * that writes a report (a scan or a merge), and one that has a scratch
 * directory for them (the gate). */
static bool wants_spool(const struct nm_run *run)
{
    return !run->no_write || run->spool_only;
}

static int open_spool(struct nm_run *run, nm_diag *d)
{
    if (!wants_spool(run))
        return 0;
    int r = nm_spool_create(&run->outdir, run->inv->n_hosts, &run->spool, d);
    if (r == 0)
        nm_spool_set_memory(run->spool, run->spool_memory);
    return r;
}

static int step_scan(struct nm_run *run, nm_diag *d)
{
    int r0 = open_spool(run, d);
    if (r0 < 0)
        return r0;
    run->scan.spool = run->spool;
    run->scan.threads = run->threads;
    int r = nm_scan_run(run->inv, &run->reach, run->cs, &run->scan, run->now, &run->report, d);
    if (r == 0 && run->spool) {
        /* The whole hosts (null where spooled) leave the report; their
         * summaries take their place once the per-host steps have run. */
        run->full_hosts = json_incref(json_object_get(run->report, "hosts"));
        json_object_set_new(run->report, "hosts", json_array());
    }
    return r;
}

/* Host i, whole: a new reference (from memory or the spool). */
static int full_host(struct nm_run *run, size_t i, json_t **ret, nm_diag *d)
{
    json_t *h = json_array_get(run->full_hosts, i);
    if (h && !json_is_null(h)) {
        *ret = json_incref(h);
        return 0;
    }
    return nm_spool_get(run->spool, i, ret, d);
}

/* Back to the spool; a host it cannot take stays in memory. */
static void put_host(struct nm_run *run, size_t i, json_t *h)
{
    nm_diag d = {{0}};
    if (nm_spool_put(run->spool, i, h, &d) == 0)
        json_array_set_new(run->full_hosts, i, json_null());
    else
        json_array_set(run->full_hosts, i, h);
}

json_t *nm_run_host_summary(const struct nm_checkset *cs, const json_t *host)
{
    static const char *const keys[] = {"name", "status", "error", "criticality", "score"};
    json_t *sum = json_object();
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        json_t *v = json_object_get(host, keys[k]);
        if (v)
            json_object_set(sum, keys[k], v);
    }
    json_t *fs = json_array();
    size_t i;
    json_t *f;
    json_array_foreach (json_object_get(host, "findings"), i, f) {
        if (!nm_view_active(f))
            continue;
        json_t *o = json_object();
        static const char *const fkeys[] = {"check", "severity", "message", "change"};
        for (size_t k = 0; k < sizeof fkeys / sizeof fkeys[0]; k++) {
            json_t *v = json_object_get(f, fkeys[k]);
            if (v)
                json_object_set(o, fkeys[k], v);
        }
        json_array_append_new(fs, o);
    }
    json_object_set_new(sum, "findings", fs);
    /* Of what a check with a fleet rule recorded, the fleet reads its first
     * record's single-server flag and its (first) server: only those. */
    const json_t *metrics = json_object_get(host, "metrics");
    json_t *m = NULL;
    for (size_t k = 0; cs && k < cs->n_checks; k++) {
        const struct nm_check_fleet *fr = cs->checks[k].fleet;
        void *iter = json_object_iter(json_object_get(metrics, cs->checks[k].id));
        if (!fr || !iter)
            continue;
        const json_t *rec = json_object_iter_value(iter);
        json_t *single = json_object_get(rec, fr->single);
        json_t *server = json_object_get(rec, fr->server);
        if (json_is_array(server))
            server = json_array_get(server, 0);
        json_t *slim = json_object();
        if (single)
            json_object_set(slim, fr->single, single);
        if (server)
            json_object_set(slim, fr->server, server);
        if (!m)
            m = json_object();
        json_object_set_new(m, cs->checks[k].id,
                            json_pack("{s:o}", json_object_iter_key(iter), slim));
    }
    if (m)
        json_object_set_new(sum, "metrics", m);
    json_t *err = json_object_get(json_object_get(host, "scan"), "script_save_error");
    if (err)
        json_object_set_new(sum, "scan", json_pack("{s:O}", "script_save_error", err));
    return sum;
}

/* The hosts for the writers: host i whole, from memory or the spool. */
struct run_iter {
    struct nm_run *run;
    size_t pos;
    json_t *cur;
};

static int run_iter_next(void *ctx, const json_t **ret_host, nm_diag *d)
{
    struct run_iter *it = ctx;
    json_decref(it->cur);
    it->cur = NULL;
    if (it->pos >= json_array_size(it->run->full_hosts)) {
        *ret_host = NULL;
        return 0;
    }
    int r = full_host(it->run, it->pos, &it->cur, d);
    if (r < 0)
        return r;
    it->pos++;
    *ret_host = it->cur;
    return 0;
}

static int run_iter_rewind(void *ctx, nm_diag *d)
{
    (void)d;
    struct run_iter *it = ctx;
    json_decref(it->cur);
    it->cur = NULL;
    it->pos = 0;
    return 0;
}

/* it over the run's whole hosts, with st as its state; the caller drops
 * st->cur (run_iter_done) when done. */
static void run_iter_init(struct nm_run *run, struct run_iter *st, struct nm_host_iter *it)
{
    *st = (struct run_iter){.run = run};
    *it = (struct nm_host_iter){.next = run_iter_next,
                                .rewind = run_iter_rewind,
                                .ctx = st,
                                .n_hosts = json_array_size(run->full_hosts)};
}

static void run_iter_done(struct run_iter *st)
{
    json_decref(st->cur);
    st->cur = NULL;
}

static void judge_tls(struct nm_run *run, size_t i, json_t *h)
{
    nm_endpoints_judge(run->cs, &run->inv->hosts[i], h);
    /* The last step that runs checks: every check has recorded what it
     * wanted by now, so an empty "metrics" goes. */
    if (json_object_size(json_object_get(h, "metrics")) == 0)
        json_object_del(h, "metrics");
}

static int step_tls(struct nm_run *run, nm_diag *d)
{
    for (size_t i = 0; !run->spool && i < run->inv->n_hosts; i++)
        judge_tls(run, i, host_at(run, i));
    return 0;
}

static int step_waivers(struct nm_run *run, nm_diag *d)
{
    for (size_t i = 0; !run->spool && i < run->inv->n_hosts; i++)
        nm_waivers_apply(run->waivers, host_at(run, i), run->now);
    if (run->waivers && run->waivers->n)
        json_object_set_new(run->report, "waivers", nm_waivers_report(run->waivers, run->now));
    return 0;
}

static int step_score(struct nm_run *run, nm_diag *d)
{
    for (size_t i = 0; !run->spool && i < run->inv->n_hosts; i++)
        nm_score_host(host_at(run, i));
    return 0;
}

/* First, before anything is scanned: a history that cannot be used stops
 * the run with nothing scanned and nothing overwritten. */
static int step_history_open(struct nm_run *run, nm_diag *d)
{
    if (run->no_history)
        return 0;
    return nm_history_open_mode(run->out_dir, run->now, run->file_mode, &run->history, d);
}

static struct nm_history_ctx history_ctx(const struct nm_run *run)
{
    return (struct nm_history_ctx){
        .cs = run->cs, .inv = run->inv, .waivers = run->waivers, .now = run->now};
}

static int step_history_load(struct nm_run *run, nm_diag *d)
{
    if (!run->history || run->spool)
        return 0;
    struct nm_history_ctx ctx = history_ctx(run);
    return nm_history_enrich(run->history, &ctx, run->report, d);
}

/*
 * report["hosts"]: the summaries of a spooled run, decoded from their
 * packed text.  As trees they cost some 6 KiB a host, mostly in values
 * that many hosts hold alike: the statuses, a finding every host of one
 * release has, the servers a zone's hosts share.  Such values are decoded
 * once and the summaries share them (jansson counts references); nothing
 * changes a summary after the hosts step, so the sharing is never seen.
 */
static int unpack_summaries(struct nm_run *run, nm_diag *d)
{
    json_t *sums = json_array();
    struct nm_json_pool pool = {0};
    int r = 0;
    for (size_t i = 0; i < run->sums.n; i++) {
        json_t *sum = NULL;
        if ((r = nm_packed_json_get(&run->sums, i, &sum, d)) < 0)
            break;
        for (void *it = json_object_iter(sum); it; it = json_object_iter_next(sum, it)) {
            const char *key = json_object_iter_key(it);
            json_t *v = json_object_iter_value(it);
            /* Each host's own: sharing would only fill the pool. */
            if (strcmp(key, "name") == 0 || strcmp(key, "score") == 0)
                continue;
            size_t k;
            json_t *f;
            json_array_foreach (strcmp(key, "findings") == 0 ? v : NULL, k, f)
                json_array_set_new(v, k, nm_json_pool_share(&pool, json_incref(f)));
            json_object_iter_set_new(sum, it, nm_json_pool_share(&pool, json_incref(v)));
        }
        json_array_append_new(sums, sum);
    }
    nm_json_pool_finish(&pool);
    if (r == 0)
        json_object_set_new(run->report, "hosts", sums);
    else
        json_decref(sums);
    return r;
}

/*
 * A spooled run's tls, waivers, history-load and score, host by host in
 * that order (each reads only its own host and the run's inputs, so doing
 * all four for one host before the next is the same as four passes), then
 * the per-host part of history-diff, the host back to the spool and its
 * summary into report["hosts"].
 *
 * history-diff's host part (change marks, what the host resolved, its
 * samples) reads only that host and the database, and nothing between
 * here and the history-diff step changes a host; history-load reads only
 * samples of runs before this one and of the same host.  Marking here
 * spares one more read and write of every host; the history-diff step
 * then does the fleet's part (nm_history_diff_end).
 */
static int step_hosts(struct nm_run *run, nm_diag *d)
{
    if (!run->spool)
        return 0;
    struct nm_history_ctx ctx = history_ctx(run);
    json_t *one = json_pack("{s:[]}", "hosts");
    int r = 0;
    if (run->history)
        r = nm_history_diff_begin(run->history, &ctx, &run->diff, d);
    /* A merge's hosts were judged, waived and scored by their shards. */
    bool judged = run->kind == NM_RUN_MERGE;
    for (size_t i = 0; r == 0 && i < run->inv->n_hosts; i++) {
        json_t *h = NULL;
        if ((r = full_host(run, i, &h, d)) < 0)
            break;
        if (!judged) {
            judge_tls(run, i, h);
            nm_waivers_apply(run->waivers, h, run->now);
        }
        if (run->history) {
            json_array_append(json_object_get(one, "hosts"), h);
            r = nm_history_enrich(run->history, &ctx, one, d);
            json_array_clear(json_object_get(one, "hosts"));
        }
        if (!judged)
            nm_score_host(h);
        if (r == 0 && run->diff)
            r = nm_history_diff_host(run->diff, h, d);
        if (r == 0) {
            put_host(run, i, h);
            json_t *sum = nm_run_host_summary(run->cs, h);
            r = nm_packed_json_append(&run->sums, sum, d);
            json_decref(sum);
        }
        json_decref(h);
    }
    json_decref(one);
    nm_packed_json_shrink(&run->sums);
    if (r == 0)
        r = unpack_summaries(run, d);
    return r;
}

static int step_history_diff(struct nm_run *run, nm_diag *d)
{
    if (!run->history)
        return 0;
    struct nm_history_ctx ctx = history_ctx(run);
    if (!run->spool)
        return nm_history_diff(run->history, &ctx, run->report, d);
    /* The hosts were marked by the hosts step; the fleet's part now. */
    int r = nm_history_diff_end(run->diff, run->report, d);
    nm_history_diff_free(run->diff);
    run->diff = NULL;
    return r;
}

/* Inside the run's one transaction: a ticket event is planned together with
 * the history it rests on, or not at all. */
static int step_tickets_plan(struct nm_run *run, nm_diag *d)
{
    if (!run->history || !run->tickets.n_targets)
        return 0;
    if (!run->spool)
        return nm_tickets_plan(nm_history_db(run->history), &run->tickets, run->report, NULL,
                               run->now, &run->ticket_counts, d);
    /* The hosts' findings one host at a time, as the writers read them. */
    struct run_iter st;
    struct nm_host_iter it;
    run_iter_init(run, &st, &it);
    int r = nm_tickets_plan(nm_history_db(run->history), &run->tickets, run->report, &it, run->now,
                            &run->ticket_counts, d);
    run_iter_done(&st);
    return r;
}

/* After the commit, so that what is sent was planned for good.  An event
 * that cannot be delivered stays queued and is counted; it does not fail
 * the run. */
static int step_tickets_deliver(struct nm_run *run, nm_diag *d)
{
    if (!run->history || !run->tickets.n_targets)
        return 0;
    /* dir: tickets carry what the reports carry, and get their mode. */
    if (!run->tickets.file_mode)
        run->tickets.file_mode = run->file_mode;
    return nm_tickets_deliver(nm_history_db(run->history), &run->tickets, run->now,
                              &run->ticket_counts, d);
}

/* After the reports are written: a run killed before this point leaves the
 * database as the previous run left it. */
static int step_history_commit(struct nm_run *run, nm_diag *d)
{
    if (!run->history)
        return 0;
    int r = nm_history_set_report(run->history, run->json_path, d);
    if (r == 0)
        r = nm_history_prune(run->history, &run->keep, &run->pruned_reports, d);
    if (r == 0)
        r = nm_history_commit(run->history, d);
    if (r < 0)
        return r;
    /* The pruned runs' report files, now that the database no longer
     * names them; a file already gone is fine. */
    size_t i;
    json_t *f;
    json_array_foreach (run->pruned_reports, i, f) {
        const char *base = json_string_value(f);
        if (!base || strchr(base, '/') || !nm_str_has_prefix(base, "nearmiss-"))
            continue;
        char *path = nm_xasprintf("%s/%s", run->out_dir, base);
        unlink(path);
        free(path);
    }
    return 0;
}

/* The shards' hosts go through the spool as a scan's do, so that a merge
 * of 10 000 hosts holds no more than the scan of them would. */
static int step_merge(struct nm_run *run, nm_diag *d)
{
    json_t *hosts = NULL;
    int r = open_spool(run, d);
    if (r == 0)
        r = nm_merge_build(run->shard_set, run->inv, run->cs, run->spool, &run->report, &hosts, d);
    if (r < 0)
        return r;
    if (run->spool)
        run->full_hosts = hosts; /* the hosts step reads them from here */
    else
        json_object_set_new(run->report, "hosts", hosts);
    return 0;
}

/* A shard records what it is, so that merge can tell whether the shards it
 * is given make one whole run.  Its fleet findings are left to the merge. */
static int step_shard(struct nm_run *run, nm_diag *d)
{
    json_object_set_new(run->report, "shard",
                        nm_shard_record_json(run->shard, run->cs, &run->fleet));
    json_object_set_new(run->report, "fleet_findings", json_array());
    return 0;
}

static int step_fleet(struct nm_run *run, nm_diag *d)
{
    nm_fleet_evaluate(run->inv, run->cs, &run->fleet, run->report);
    return 0;
}

static int step_summary(struct nm_run *run, nm_diag *d)
{
    /* A merged run ended when its last shard did (the merge step set it);
     * the time the merge itself took is not the scan's. */
    if (run->kind != NM_RUN_MERGE) {
        char finished[32];
        nm_utc_iso8601(run->now + (nm_now_ms() - run->t0_ms) / 1000, finished);
        json_object_set_new(run->report, "finished_at", json_string(finished));
    }
    nm_report_summarize(run->report);
    /* The writers read the threshold from the report, so that `nearmiss
     * report` renders a stored run exactly as its scan did. */
    json_object_set_new(run->report, "fail_on",
                        run->fail_on == NM_SEV_NONE
                            ? json_null()
                            : json_string(nm_severity_name((enum nm_severity)run->fail_on)));
    return 0;
}

/* Every output staged, then all published together; any failure leaves the
 * previous set as it was. */
/* Whether report["hosts"] keeps its decoded summaries while the report is
 * written: when they fit the run's budget for hosts in memory
 * (NEARMISS_SPOOL_MEMORY), as the first hosts themselves do.  The packed
 * text is less than the trees, so a larger one is not walked. */
static bool keep_summaries(const struct nm_run *run)
{
    return run->sums.text.len <= run->spool_memory &&
           nm_spool_json_cost(json_object_get(run->report, "hosts")) <= run->spool_memory;
}

static int step_write(struct nm_run *run, nm_diag *d)
{
    if (run->no_write)
        return 0;
    char *name = NULL;
    int r;
    if (run->spool) {
        /* The writers take whole hosts from the spool and nothing from
         * report["hosts"]: in a large run its summaries wait packed while
         * they run (as the hosts step packed them: no step since changes a
         * summary), and what the trees held goes back to the system before
         * the writers' buffers grow, so that the two do not add up.  A
         * small run's summary trees stay (keep_summaries()): decoding them
         * again would cost more than the memory is worth. */
        bool drop = !keep_summaries(run);
        if (drop) {
            json_object_set_new(run->report, "hosts", json_array());
            malloc_trim(0);
        }
        struct run_iter st;
        struct nm_host_iter it;
        run_iter_init(run, &st, &it);
        r = nm_report_stage_hosts(run->report, &it, &run->outdir, run->formats, &name, d);
        run_iter_done(&st);
        /* Back for the command layer (and anything after this step). */
        nm_diag d2 = {{0}};
        int r2 = drop ? unpack_summaries(run, r < 0 ? &d2 : d) : 0;
        if (r == 0)
            r = r2;
    } else {
        r = nm_report_stage(run->report, &run->outdir, run->formats, &name, d);
    }
    if (r == 0)
        r = nm_outdir_publish(&run->outdir, d);
    else
        nm_outdir_discard(&run->outdir);
    if (r == 0)
        run->json_path = nm_xasprintf("%s/%s", run->out_dir, name);
    free(name);
    return r;
}

enum {
    ALL = NM_RUN_WHOLE | NM_RUN_SHARD | NM_RUN_MERGE,
    SCANS = NM_RUN_WHOLE | NM_RUN_SHARD, /* a run that scans */
    ONCE = NM_RUN_WHOLE | NM_RUN_MERGE,  /* once per fleet run: never in a shard */
};

/* The run, in order; each step runs in the kinds of run it names (see
 * nearmiss/run.h).  Names appear in run->failed_step. */
static const struct {
    const char *name;
    step_fn fn;
    unsigned kinds;
} steps[] = {
    /* before any connection: a bad passphrase file stops here */
    {"reach", step_reach, SCANS},
    /* unusable or busy: fails now, not after the scan; locked for the run */
    {"outdir", step_outdir, ALL},
    /* an unusable history stops the run before any scan */
    {"history-open", step_history_open, ONCE},
    /* hosts, TLS discovery and TLS endpoints, one worker pool */
    {"scan", step_scan, SCANS},
    /* the scan's draft, rebuilt from the shard reports: tls, waivers and
     * score already ran in each shard */
    {"merge", step_merge, NM_RUN_MERGE},
    /* inventory and discovered endpoints judged; needs the hosts' cert metrics */
    {"tls", step_tls, SCANS},
    /* before score and fleet: waived findings do not count */
    {"waivers", step_waivers, SCANS},
    /* forecasts and grown SMART counters, before scoring (touched hosts are
     * waived and scored again, which a merge relies on) */
    {"history-load", step_history_load, ONCE},
    /* per host */
    {"score", step_score, SCANS},
    /* tls, waivers, history-load and score of a spooled run, host by host
     * (of a merge: history-load only) */
    {"hosts", step_hosts, ALL},
    /* what the shard is, for merge to check; no fleet findings */
    {"shard", step_shard, NM_RUN_SHARD},
    /* reads host status, waivers and metrics of every host */
    {"fleet", step_fleet, ONCE},
    /* after every finding exists */
    {"summary", step_summary, ALL},
    /* change marks, resolved, summary.changes */
    {"history-diff", step_history_diff, ONCE},
    /* events queued in the same transaction */
    {"tickets-plan", step_tickets_plan, ONCE},
    /* nothing changes the report after it */
    {"write", step_write, ALL},
    /* after the reports: a killed run leaves it as it was */
    {"history-commit", step_history_commit, ONCE},
    /* only what was committed is sent */
    {"tickets-deliver", step_tickets_deliver, ONCE},
};

int nm_run_clock(int64_t *ret_now, nm_diag *d)
{
    const char *env = getenv("NEARMISS_NOW");
    if (env && *env) {
        int64_t t;
        if (nm_utc_parse(env, &t) < 0)
            return nm_diag_set(d, NM_ERR_INVAL,
                               "NEARMISS_NOW=\"%.40s\" is not a time like 2026-12-01T02:00:00Z",
                               env);
        *ret_now = t;
        return 0;
    }
    *ret_now = (int64_t)time(NULL);
    return 0;
}

int nm_run_init(struct nm_run *run, nm_diag *d)
{
    memset(run, 0, sizeof *run);
    nm_outdir_init(&run->outdir);
    run->t0_ms = nm_now_ms();
    run->fail_on = NM_SEV_NONE;
    run->kind = NM_RUN_WHOLE;
    nm_packed_json_init(&run->sums);
    int r = nm_spool_memory_env(&run->spool_memory, d);
    if (r == 0)
        r = nm_scan_threads_env(&run->threads, d);
    if (r < 0)
        return r;
    return nm_run_clock(&run->now, d);
}

void nm_run_finish(struct nm_run *run)
{
    if (!run)
        return;
    nm_reach_set_finish(&run->reach);
    /* The spool's file first: a scratch directory goes with the outdir. */
    nm_spool_destroy(run->spool);
    run->spool = NULL;
    nm_outdir_finish(&run->outdir); /* discards anything unpublished, unlocks */
    json_decref(run->report);
    free(run->json_path);
    nm_history_close(run->history);
    json_decref(run->pruned_reports);
    json_decref(run->full_hosts);
    nm_packed_json_finish(&run->sums);
    nm_history_diff_free(run->diff);
    run->diff = NULL;
    run->spool = NULL;
    run->full_hosts = NULL;
    run->report = NULL;
    run->json_path = NULL;
    run->history = NULL;
    run->pruned_reports = NULL;
}

int nm_run_execute(struct nm_run *run, nm_diag *d)
{
    run->n_step_times = 0;
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (!(steps[i].kinds & run->kind))
            continue;
        int64_t t0 = nm_now_ms();
        int r = steps[i].fn(run, d);
        if (run->n_step_times < NM_RUN_MAX_STEPS)
            run->step_times[run->n_step_times++] =
                (struct nm_run_step_time){.name = steps[i].name, .ms = nm_now_ms() - t0};
        if (r < 0) {
            run->failed_step = steps[i].name;
            return r;
        }
    }
    return 0;
}
