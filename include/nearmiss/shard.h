/*
 * Shards: one inventory scanned in N parts on N machines (or N batch jobs),
 * then merged (nearmiss/merge.h) into the report a single run would write.
 *
 * A host belongs to shard K of N (1-based) when
 *
 *     K = 1 + (be64(SHA-256(name)[0..8]) mod N)
 *
 * that is: the first 8 bytes of the SHA-256 of the host's inventory name,
 * read as a big-endian unsigned 64-bit integer, modulo N, plus one.  It
 * depends on the name alone, so every machine agrees on it whatever the
 * order or the other contents of the inventory, and a host keeps its shard
 * when others are added.  docs/scale.md shows the same arithmetic in shell.
 *
 * The shard's identity travels in its report (nm_shard_record): merge
 * refuses reports whose inventory or check set differ, and reports shards
 * that are missing or given twice.
 */
#ifndef NEARMISS_SHARD_H
#define NEARMISS_SHARD_H

#include <stddef.h>
#include <stdint.h>

#include "nearmiss/digest.h"
#include "nearmiss/error.h"
#include "nearmiss/inventory.h"

/* Above this a shard count is surely a typo; it also bounds merge's tables. */
#define NM_SHARD_MAX 100000

struct nm_shard {
    unsigned k; /* 1..n */
    unsigned n; /* 1..NM_SHARD_MAX */
};

/* "K/N" with 1 <= K <= N <= NM_SHARD_MAX, decimal, nothing else. */
int nm_shard_parse(const char *s, struct nm_shard *ret, nm_diag *d);

/* The shard (1..n) that host `name` belongs to when the fleet is cut in n. */
unsigned nm_shard_of(const char *name, unsigned n);

/*
 * The inventory as far as the report depends on it, hashed: for every host
 * in order its name, address, port, roles, labels, criticality and TLS
 * endpoints, and every role's policy.  Connection details (user, identity,
 * known_hosts) are left out: they may differ between the machines that run
 * the shards without changing any verdict.  Computed after --hosts/--role
 * and before the shard cut.
 */
void nm_inventory_digest(const struct nm_inventory *inv, char out[NM_SHA256_HEX_LEN]);

/* What a shard report records about itself (report key "shard"). */
struct nm_shard_record {
    struct nm_shard shard;
    char inventory_digest[NM_SHA256_HEX_LEN];
    size_t hosts_total; /* hosts of the whole selection, before the cut */
    const char *hosts;  /* --hosts of the shard's run, or NULL; borrowed */
    const char *role;   /* --role, or NULL; borrowed */
};

/*
 * Fills rec (digest, total, the selection strings) from the selected
 * inventory, then keeps only the hosts of shard s.  Roles stay whole: the
 * fleet rules run at merge over every host.  A shard may end up with no
 * host at all (a small fleet cut in many parts): that is a valid shard.
 */
void nm_inventory_shard(struct nm_inventory *inv, const struct nm_shard *s, const char *hosts,
                        const char *role, struct nm_shard_record *rec);

#endif
