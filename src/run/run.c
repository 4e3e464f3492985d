/*
 * The order of a run.  Each step reads what the steps before it left in the
 * run and adds its part; none of them prints (the command layer does).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nearmiss/model.h"
#include "nearmiss/outdir.h"
#include "nearmiss/report.h"
#include "nearmiss/run.h"
#include "nearmiss/util.h"
#include "nearmiss/writers.h"

typedef int (*step_fn)(struct nm_run *run, nm_diag *d);

/* Before any host is contacted: an unusable or busy report directory is a
 * configuration error, not something to find out after an hour of scanning. */
static int step_outdir(struct nm_run *run, nm_diag *d)
{
    return nm_outdir_open(&run->outdir, run->out_dir,
                          run->file_mode ? run->file_mode : NM_OUTDIR_FILE_MODE, d);
}

static int step_scan(struct nm_run *run, nm_diag *d)
{
    return nm_scan_run(run->inv, run->cs, &run->scan, &run->report, d);
}

static int step_fleet(struct nm_run *run, nm_diag *d)
{
    nm_fleet_evaluate(run->inv, &run->fleet, run->report);
    return 0;
}

static int step_summary(struct nm_run *run, nm_diag *d)
{
    nm_report_summarize(run->report);
    /* The writers read the threshold from the report, so that `nearmiss
     * report` renders a stored run exactly as its scan did. */
    json_object_set_new(run->report, "fail_on",
                        run->fail_on == NM_SEV_NONE
                            ? json_null()
                            : json_string(nm_severity_name((enum nm_severity)run->fail_on)));
    return 0;
}

static int step_write(struct nm_run *run, nm_diag *d)
{
    char *name = NULL;
    int r = nm_report_stage(run->report, &run->outdir, run->formats, &name, d);
    if (r == 0)
        r = nm_outdir_publish(&run->outdir, d);
    else
        nm_outdir_discard(&run->outdir);
    if (r == 0)
        run->json_path = nm_xasprintf("%s/%s", run->out_dir, name);
    free(name);
    return r;
}

static const struct {
    const char *name;
    step_fn fn;
} steps[] = {
    {"outdir", step_outdir},   {"scan", step_scan},   {"fleet", step_fleet},
    {"summary", step_summary}, {"write", step_write},
};

int nm_run_clock(int64_t *ret_now, nm_diag *d)
{
    const char *env = getenv("NEARMISS_NOW");
    if (env && *env) {
        int64_t t;
        if (nm_report_parse_utc(env, &t) < 0)
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
    run->fail_on = NM_SEV_NONE;
    return nm_run_clock(&run->now, d);
}

void nm_run_finish(struct nm_run *run)
{
    if (!run)
        return;
    json_decref(run->report);
    free(run->json_path);
    nm_outdir_finish(&run->outdir);
    run->report = NULL;
    run->json_path = NULL;
}

int nm_run_execute(struct nm_run *run, nm_diag *d)
{
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        int r = steps[i].fn(run, d);
        if (r < 0) {
            run->failed_step = steps[i].name;
            return r;
        }
    }
    return 0;
}
