#include <math.h>
#include <string.h>

#include "nearmiss/report_view.h"
#include "nearmiss/score.h"
#include "nearmiss/util.h"

/* docs/scoring.md explains every number here with worked examples. */

double nm_score_likelihood(enum nm_severity s)
{
    /* About a factor of ten per step, chosen so that severity keeps ranking:
     * five highs at their most urgent stay below one critical at its least,
     * and eighty lows stay below one high. */
    switch (s) {
    case NM_SEV_CRITICAL:
        return 0.20;
    case NM_SEV_HIGH:
        return 0.025;
    case NM_SEV_MEDIUM:
        return 0.003;
    case NM_SEV_LOW:
        return 0.0003;
    case NM_SEV_INFO:
    case NM_SEV_NONE:
        return 0;
    }
    return 0;
}

double nm_score_criticality_factor(const char *c)
{
    if (!c)
        return 1.0;
    if (strcmp(c, "low") == 0)
        return 0.5;
    if (strcmp(c, "high") == 0)
        return 1.5;
    if (strcmp(c, "critical") == 0)
        return 2.0;
    return 1.0;
}

double nm_score_urgency(const json_t *finding)
{
    const json_t *v = json_object_get(finding, "value");
    const json_t *t = json_object_get(finding, "threshold");
    if (!json_is_number(v) || !json_is_number(t))
        return 1.0;
    double value = json_number_value(v), thr = json_number_value(t), past;
    if (value >= thr && thr < 100 && value <= 100) {
        /* A percentage past its threshold: how much of the remaining room
         * is gone (disk at 97 with threshold 95: 2 of the last 5 points). */
        past = (value - thr) / (100 - thr);
    } else if (value < thr && value <= 0) {
        /* A countdown that ran out (expired: days left <= 0). */
        past = 1.0;
    } else if (value < thr && thr > 0) {
        /* A countdown under its threshold (days left): how much of the
         * warning time is used up. */
        past = (thr - value) / thr;
    } else {
        return 1.0;
    }
    if (past < 0)
        past = 0;
    if (past > 1)
        past = 1;
    return 1.0 + 0.5 * past;
}

double nm_score_hazard(enum nm_severity s, double urgency, double criticality)
{
    double p = nm_score_likelihood(s);
    if (p <= 0)
        return 0;
    /* Urgency and criticality stretch the exposure, as a longer or more
     * crowded horizon would: they multiply the hazard, never the
     * likelihood itself, so the result stays a probability. */
    return -log1p(-p) * urgency * criticality;
}

double nm_score_from_hazard(double hazard)
{
    if (!(hazard > 0))
        return 0;
    double v = round(-expm1(-hazard) * 1000.0) / 10.0;
    /* One decimal is the resolution people read; the ends are kept apart
     * from "nothing found" and from certainty, neither of which a
     * non-empty finite list of findings is. */
    if (v < 0.1)
        v = 0.1;
    if (v > 99.9)
        v = 99.9;
    return v;
}

double nm_score_to_hazard(double score)
{
    if (!(score > 0))
        return 0;
    if (score >= 100)
        score = 99.95;
    return -log1p(-score / 100.0);
}

static double round3(double x)
{
    return round(x * 1000.0) / 1000.0;
}

static double round1(double x)
{
    return round(x * 10.0) / 10.0;
}

void nm_score_host(json_t *host)
{
    json_object_del(host, "score_capped_from"); /* written by earlier versions */
    if (!nm_view_host_ok(host)) {
        json_object_set_new(host, "score", json_null());
        json_object_set_new(host, "score_breakdown", json_array());
        return;
    }
    const char *crit = json_string_value(json_object_get(host, "criticality"));
    double factor = nm_score_criticality_factor(crit);
    const json_t *findings = json_object_get(host, "findings");
    size_t n = json_array_size(findings), i;
    double *hz = nm_xcalloc(n + 1, sizeof *hz);
    double total = 0;
    json_t *f;
    json_array_foreach (findings, i, f) {
        if (!nm_view_active(f))
            continue;
        hz[i] = nm_score_hazard(nm_view_severity(f), nm_score_urgency(f), factor);
        total += hz[i];
    }
    double score = nm_score_from_hazard(total);
    json_t *parts = json_array();
    json_array_foreach (findings, i, f) {
        if (hz[i] <= 0)
            continue;
        double urgency = nm_score_urgency(f);
        /* What fixing it is worth: the drop in this host's shown score.
         * Computed from the other findings' sum rather than by subtraction
         * so that rounding cannot make it negative. */
        double rest = 0;
        for (size_t k = 0; k < n; k++)
            rest += k == i ? 0 : hz[k];
        double worth = round1(score - nm_score_from_hazard(rest));
        json_array_append_new(
            parts, json_pack("{s:s?, s:s?, s:s?, s:s, s:f, s:f, s:f, s:f, s:f}", "fingerprint",
                             json_string_value(json_object_get(f, "fingerprint")), "check",
                             json_string_value(json_object_get(f, "check")), "subject",
                             json_string_value(json_object_get(f, "subject")), "severity",
                             nm_severity_name(nm_view_severity(f)), "base_likelihood",
                             nm_score_likelihood(nm_view_severity(f)), "urgency", round3(urgency),
                             "criticality", factor, "likelihood", round3(-expm1(-hz[i])), "worth",
                             worth < 0 ? 0 : worth));
    }
    free(hz);
    json_object_set_new(host, "score", json_real(score));
    json_object_set_new(host, "score_breakdown", parts);
}

/* Highest criticality factor among the hosts a fleet finding names: a role
 * is as critical as its most critical member. */
static double fleet_finding_factor(const json_t *report, const json_t *ff)
{
    double best = 0;
    size_t i, j;
    const json_t *name, *h;
    json_array_foreach (json_object_get(ff, "hosts"), i, name) {
        json_array_foreach (json_object_get(report, "hosts"), j, h) {
            if (json_equal(json_object_get(h, "name"), (json_t *)name)) {
                double f = nm_score_criticality_factor(
                    json_string_value(json_object_get(h, "criticality")));
                best = f > best ? f : best;
            }
        }
    }
    return best > 0 ? best : 1.0;
}

static double fleet_finding_hazard(const json_t *report, const json_t *ff)
{
    if (!nm_view_active(ff))
        return 0;
    return nm_score_hazard(nm_view_severity(ff), nm_score_urgency(ff),
                           fleet_finding_factor(report, ff));
}

/* The hosts' part of the fleet hazard; *scanned counts the hosts with a
 * score. */
static double hosts_hazard(const json_t *report, size_t *scanned)
{
    double sum = 0;
    size_t n = 0, i;
    json_t *h;
    json_array_foreach (json_object_get(report, "hosts"), i, h) {
        json_t *s = json_object_get(h, "score");
        if (!json_is_number(s))
            continue;
        /* From the shown score, so that a merged or re-rendered report
         * gives the same fleet score as the run that wrote it. */
        sum += nm_score_to_hazard(json_number_value(s));
        n++;
    }
    *scanned = n;
    return sum;
}

json_t *nm_score_fleet(const json_t *report)
{
    size_t n;
    double total = hosts_hazard(report, &n);
    /* Nothing scanned: fleet findings alone (every role unhealthy because no
     * host was seen) say nothing about the fleet's risk. */
    if (n == 0)
        return json_null();
    size_t i;
    json_t *ff;
    json_array_foreach (json_object_get(report, "fleet_findings"), i, ff)
        total += fleet_finding_hazard(report, ff);
    return json_real(nm_score_from_hazard(total));
}

json_t *nm_score_fleet_breakdown(const json_t *report)
{
    json_t *parts = json_array();
    size_t n;
    double hosts = hosts_hazard(report, &n);
    if (n == 0)
        return parts;
    const json_t *ffs = json_object_get(report, "fleet_findings");
    double total = hosts;
    size_t i;
    json_t *ff;
    json_array_foreach (ffs, i, ff)
        total += fleet_finding_hazard(report, ff);
    double score = nm_score_from_hazard(total);
    json_array_foreach (ffs, i, ff) {
        double hz = fleet_finding_hazard(report, ff);
        if (hz <= 0)
            continue;
        double worth = round1(score - nm_score_from_hazard(total - hz));
        json_array_append_new(
            parts, json_pack("{s:s?, s:s?, s:s?, s:s, s:f, s:f}", "fingerprint",
                             json_string_value(json_object_get(ff, "fingerprint")), "check",
                             json_string_value(json_object_get(ff, "check")), "subject",
                             json_string_value(json_object_get(ff, "subject")), "severity",
                             nm_severity_name(nm_view_severity(ff)), "likelihood",
                             round3(-expm1(-hz)), "worth", worth < 0 ? 0 : worth));
    }
    return parts;
}
