/*
 * The readiness gate: "is it safe to touch these hosts, and take them out of
 * their roles, now?"  Judged from a finished run (no history, no files) over
 * the hosts to touch and the other hosts of their roles, whose fleet step
 * ran with the drained hosts counted as down.
 *
 *   host  not_ready: an active finding at or above fail_on on it, or (when it
 *         is drained) a role of it that is not ready; unknown: it could not
 *         be scanned; else ready.
 *   role  (each role of a host to touch) not_ready: with the drained hosts
 *         out, a role-redundancy or role-spread finding at or above fail_on;
 *         unknown instead when another host of the role could not be
 *         scanned; else ready.  Whether the drain caused the finding (it is
 *         not there without the drain) is said in the reason.
 *   gate  not_ready if anything is, else unknown if anything is, else ready.
 *
 * jansson ownership: report is borrowed; the verdict returned is new.
 */
#ifndef NEARMISS_GATE_H
#define NEARMISS_GATE_H

#include <jansson.h>
#include <stdbool.h>

#include "nearmiss/check.h"
#include "nearmiss/error.h"
#include "nearmiss/fleet.h"
#include "nearmiss/inventory.h"

#define NM_GATE_SCHEMA "nearmiss.gate/1"

struct nm_gate_options {
    int fail_on;  /* enum nm_severity */
    char **touch; /* names of the hosts to touch */
    size_t n_touch;
    struct nm_fleet_options fleet; /* drain and unhealthy_at, as the run used them */
};

/*
 * {"schema", "verdict": "ready"|"not_ready"|"unknown", "fail_on", "drain",
 *  "hosts": [{"name", "verdict", "reasons": [..]}],
 *  "roles": [{"role", "verdict", "min_healthy", "healthy", "reasons": [..]}]}
 */
json_t *nm_gate_judge(const struct nm_inventory *inv, const struct nm_checkset *cs,
                      const struct nm_gate_options *o, const json_t *report);

/* The verdict as JUnit XML (one testcase per host and role), atomically. */
int nm_gate_write_junit(const json_t *verdict, const char *path, nm_diag *d);

#endif
