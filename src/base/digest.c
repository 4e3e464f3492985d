#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "nearmiss/digest.h"

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA2-256", NULL);
}

const EVP_MD *nm_sha256_md(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    if (!sha256_md)
        abort(); /* only when out of memory: the default provider is built in */
    return sha256_md;
}

void nm_sha256(const void *data, size_t len, unsigned char out[NM_SHA256_LEN])
{
    unsigned int n = 0;
    /* EVP_Digest only fails on allocation failure, which nm_x* treat as fatal too. */
    if (EVP_Digest(data, len, out, &n, nm_sha256_md(), NULL) != 1 || n != NM_SHA256_LEN)
        abort();
}

void nm_hex(const unsigned char *md, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[2 * len] = '\0';
}

void nm_sha256_hex(const void *data, size_t len, char out[NM_SHA256_HEX_LEN])
{
    unsigned char md[NM_SHA256_LEN];
    nm_sha256(data, len, md);
    nm_hex(md, sizeof md, out);
}
