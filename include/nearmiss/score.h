/*
 * Risk scores, 0..100, higher = closer to an outage (docs/scoring.md).
 *
 * Every finding is a likelihood of causing an outage within the horizon
 * (30 days), from its severity, its urgency and the host's criticality.
 * Findings are treated as independent: the host's risk is the chance that
 * at least one of them strikes, 1 - prod(1 - p), shown as a percentage
 * with one decimal.  Internally each likelihood is held as a hazard,
 * -ln(1 - p), so that independent findings add up and the score is
 * 100 x (1 - exp(-sum of hazards)).  Hosts that could not be scanned have
 * score null (unknown risk), never 0; with no host scanned the fleet score
 * is null too.
 *
 * jansson ownership: host and report are borrowed and modified in place;
 * nm_score_fleet and nm_score_fleet_breakdown return new references.
 */
#ifndef NEARMISS_SCORE_H
#define NEARMISS_SCORE_H

#include <jansson.h>

#include "nearmiss/model.h"

/* Likelihood of an outage within the horizon for one finding of this
 * severity on a medium-criticality host at urgency 1 (0 for info). */
double nm_score_likelihood(enum nm_severity s);
/* Exposure factor: low 0.5, medium (default) 1, high 1.5, critical 2. */
double nm_score_criticality_factor(const char *criticality);
/* 1.0 .. 1.5 from how far a finding's value is past its threshold. */
double nm_score_urgency(const json_t *finding);
/* Hazard of one finding: -ln(1 - likelihood) x urgency x criticality. */
double nm_score_hazard(enum nm_severity s, double urgency, double criticality);
/* The shown score for a total hazard: 100 x (1 - exp(-hazard)) with one
 * decimal, never rounded to 0 while something counts, never to 100. */
double nm_score_from_hazard(double hazard);
/* The hazard a shown score stands for (the inverse of the above). */
double nm_score_to_hazard(double score);

/* Sets "score" and "score_breakdown" on a host object of the report. */
void nm_score_host(json_t *host);
/* Fleet score from scanned hosts and fleet findings: one-decimal number, or
 * null when no host was scanned. */
json_t *nm_score_fleet(const json_t *report);
/* Per fleet finding, what fixing it is worth in the fleet score (an array,
 * empty when no host was scanned). */
json_t *nm_score_fleet_breakdown(const json_t *report);

#endif
