/*
 * Fleet-level single points of failure: what no single host can show.
 * After every host is judged, each inventory role is checked for
 *   - role-redundancy: fewer healthy hosts than its min_healthy (high; none
 *     healthy at all: critical), naming every host and why it is unhealthy;
 *   - role-spread: all healthy hosts share one value of a `spread` label
 *     (zone, rack, power feed): one failure domain takes the role down (medium);
 *   - the finding a check names in its "fleet" attribute (rule
 *     "shared-server"; role-shared-dns from dns-resolvers, role-shared-ntp
 *     from time-sync): every scanned host of the role depends on the same
 *     single server (medium), read from what the check recorded in each
 *     host's metrics (docs/checks.md, "Fleet rules").
 *
 * A host is healthy for its roles when it was scanned (status ok) and has no
 * non-waived finding at or above `unhealthy_at` (default critical).  Drained
 * hosts count as down: "can I take web1 out?" is answered by --drain web1.
 *
 * jansson ownership: report is borrowed and modified (fleet_findings, drain).
 */
#ifndef NEARMISS_FLEET_H
#define NEARMISS_FLEET_H

#include <jansson.h>

#include "nearmiss/check.h"
#include "nearmiss/inventory.h"
#include "nearmiss/model.h"

struct nm_fleet_options {
    enum nm_severity unhealthy_at; /* findings at or above this make a host unhealthy */
    char **drain;                  /* host names treated as down */
    size_t n_drain;
};

void nm_fleet_evaluate(const struct nm_inventory *inv, const struct nm_checkset *cs,
                       const struct nm_fleet_options *o, json_t *report);

#endif
