/*
 * Merge: shard reports (scan --shard K/N, nearmiss/shard.h) back into the
 * report one run over the whole inventory writes.
 *
 * A shard report carries a "shard" object (nm_shard_record_json) naming its
 * cut (K of N, the hash), the digests of the inventory and the check set it
 * was judged with, the size of the whole selection, the selection itself
 * (--hosts, --role) and the fleet options (--unhealthy-at, --drain), which
 * only take effect at merge.  Loading a set of them (nm_shard_set_load)
 * refuses mixed cuts, mixed digests or options, a shard given twice and a
 * shard missing; building the draft (nm_merge_build) refuses an inventory or
 * check set other than the shards' and a host in the wrong shard.  The draft
 * holds the hosts in inventory order exactly as the shards judged them
 * (scores, waivers, TLS verdicts are per host); the fleet rules, the summary
 * and the writers then run as in a whole run (nearmiss/run.h).
 *
 * jansson ownership: the set owns its reports; nm_merge_build returns new
 * references (the draft and the hosts array); nm_shard_record_json returns
 * a new reference.
 */
#ifndef NEARMISS_MERGE_H
#define NEARMISS_MERGE_H

#include <jansson.h>
#include <stdint.h>

#include "nearmiss/check.h"
#include "nearmiss/error.h"
#include "nearmiss/fleet.h"
#include "nearmiss/inventory.h"
#include "nearmiss/shard.h"

/* What the "shard" object of a shard report records; "hash" names the rule. */
#define NM_SHARD_HASH "sha256-be64-mod"

/* The report's "shard" object for a shard run. */
json_t *nm_shard_record_json(const struct nm_shard_record *rec, const struct nm_checkset *cs,
                             const struct nm_fleet_options *fo);

struct nm_shard_set {
    unsigned n;       /* N: every shard of the cut is present once */
    json_t **reports; /* [k - 1]: shard k's report without its hosts ("hosts": []) */
    size_t *n_hosts;  /* [k - 1]: how many hosts shard k's report holds */
    char **paths;     /* [k - 1]: where it was read from */

    /* Agreed by every shard; strings borrowed from reports[0]. */
    const char *inventory_digest;
    const char *checks_digest;
    size_t hosts_total;
    const char *hosts; /* --hosts of the shards, or NULL */
    const char *role;  /* --role of the shards, or NULL */
    enum nm_severity unhealthy_at;
    char **drain; /* borrowed strings; the array is the set's */
    size_t n_drain;
    int64_t started_at; /* the earliest shard's start: the merged run's clock */
};

void nm_shard_set_init(struct nm_shard_set *set);
void nm_shard_set_finish(struct nm_shard_set *set);

/* Reads every path (each a shard report) into set: the top level of each,
 * its hosts only counted (nearmiss/reportread.h).  NM_ERR_CONFIG with the
 * files named in d when they do not make one whole cut. */
int nm_shard_set_load(struct nm_shard_set *set, const char *const *paths, size_t n, nm_diag *d);

/* The merged report's draft for inv (selected with set->hosts / set->role)
 * and cs: the earliest start and the latest end, the first shard's other
 * top-level fields, and a "merged" object listing the shards; no fleet
 * findings and no summary yet, and "hosts" empty.  The hosts, read again
 * from the shard files one at a time, come in *ret_hosts in inventory
 * order: each put into spool (when not NULL) and null in the array, or
 * the host itself where there is no spool or it could not take the host. */
struct nm_spool;
int nm_merge_build(const struct nm_shard_set *set, const struct nm_inventory *inv,
                   const struct nm_checkset *cs, struct nm_spool *spool, json_t **ret_report,
                   json_t **ret_hosts, nm_diag *d);

#endif
