/*
 * Judging a host's TLS endpoints, after the scan: the endpoint results the
 * scan left in the host's report ("tls", one item per inventory endpoint) go
 * through every check whose items come from TLS ("source": "tls"), and each
 * endpoint still serving a certificate older than a renewed one on disk for
 * the same name gets a "cert-served-stale" finding (medium).  That comparison
 * reads what the "cert-expiry" check recorded in the host's metrics.
 *
 * jansson ownership: host is borrowed and modified (its "checks",
 * "findings" and "metrics" grow).
 */
#ifndef NEARMISS_ENDPOINTS_H
#define NEARMISS_ENDPOINTS_H

#include <jansson.h>

#include "nearmiss/check.h"
#include "nearmiss/inventory.h"

void nm_endpoints_judge(const struct nm_checkset *cs, const struct nm_host *h, json_t *host);

#endif
