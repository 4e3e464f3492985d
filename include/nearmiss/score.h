/*
 * Risk scores, 0..100, higher = closer to an outage (docs/scoring.md).
 * A finding is worth weight(severity) x urgency x criticality(host); a
 * host's score is the sum, capped at 100, and its report entry lists each
 * finding's contribution.  Hosts that could not be scanned have
 * score null (unknown risk), never 0.
 *
 * jansson ownership: host and report are borrowed and modified in place;
 * nm_score_fleet returns a new reference.
 */
#ifndef NEARMISS_SCORE_H
#define NEARMISS_SCORE_H

#include <jansson.h>

#include "nearmiss/model.h"

int nm_score_severity_weight(enum nm_severity s);
double nm_score_criticality_factor(const char *criticality);
/* 1.0 .. 1.5 from how far a finding's value is past its threshold. */
double nm_score_urgency(const json_t *finding);

/* Sets "score" and "score_breakdown" on a host object of the report. */
void nm_score_host(json_t *host);
/* Fleet score from scanned hosts and fleet findings: integer, or null. */
json_t *nm_score_fleet(const json_t *report);

#endif
