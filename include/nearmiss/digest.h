/*
 * SHA-256 for identities that must agree across machines: shard membership
 * of a host name, and the digests that tie shard reports to one inventory
 * and one check set.
 */
#ifndef NEARMISS_DIGEST_H
#define NEARMISS_DIGEST_H

#include <openssl/types.h>
#include <stddef.h>

#define NM_SHA256_LEN     32
#define NM_SHA256_HEX_LEN 65 /* 64 lowercase hex digits and a NUL */

/* SHA-256, fetched from OpenSSL's provider once per process.  EVP_sha256()
 * is a legacy handle that OpenSSL 3 looks up again in its provider store
 * on every digest initialised with it (a lock and a hash-table search per
 * finding fingerprint); a fetched one is used as it is. */
const EVP_MD *nm_sha256_md(void);
void nm_sha256(const void *data, size_t len, unsigned char out[NM_SHA256_LEN]);
void nm_sha256_hex(const void *data, size_t len, char out[NM_SHA256_HEX_LEN]);
void nm_hex(const unsigned char *md, size_t len, char *out /* 2 * len + 1 */);

#endif
