/*
 * The digest of a whole check set (nearmiss/check.h): what shard reports
 * compare to be sure every shard judged its hosts by the same rules.
 */
#include <jansson.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "nearmiss/check.h"
#include "nearmiss/digest.h"

static int by_id(const void *a, const void *b)
{
    const struct nm_check *x = *(const struct nm_check *const *)a;
    const struct nm_check *y = *(const struct nm_check *const *)b;
    return strcmp(x->id, y->id);
}

/* SHA-256 of a check's definition as canonical JSON (sorted keys, compact,
 * ASCII): the same check wherever its file lives and however it is laid out.
 * Taken here, by the runs that need it (shards, merge), not at every load.
 * A check not loaded from a file has none: 32 zero bytes. */
static void check_digest(const struct nm_check *c, unsigned char md[NM_SHA256_LEN])
{
    memset(md, 0, NM_SHA256_LEN);
    if (!c->definition)
        return;
    char *canon = json_dumps(c->definition, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
    if (!canon)
        abort();
    nm_sha256(canon, strlen(canon), md);
    free(canon);
}

void nm_checkset_digest(const struct nm_checkset *cs, char out[65])
{
    /* Id order, not file order: renaming a file changes nothing judged. */
    const struct nm_check **v = calloc(cs->n_checks ? cs->n_checks : 1, sizeof *v);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!v || !ctx || EVP_DigestInit_ex(ctx, nm_sha256_md(), NULL) != 1)
        abort();
    for (size_t i = 0; i < cs->n_checks; i++)
        v[i] = &cs->checks[i];
    qsort(v, cs->n_checks, sizeof *v, by_id);
    for (size_t i = 0; i < cs->n_checks; i++) {
        /* The NUL ends the id, so id and digest cannot run into each other. */
        EVP_DigestUpdate(ctx, v[i]->id, strlen(v[i]->id) + 1);
        unsigned char one[NM_SHA256_LEN];
        check_digest(v[i], one);
        EVP_DigestUpdate(ctx, one, sizeof one);
    }
    unsigned char md[NM_SHA256_LEN];
    unsigned int n = 0;
    if (EVP_DigestFinal_ex(ctx, md, &n) != 1)
        abort();
    EVP_MD_CTX_free(ctx);
    free(v);
    nm_hex(md, sizeof md, out);
}
