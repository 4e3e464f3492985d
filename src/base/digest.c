#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

#include "nearmiss/digest.h"

void nm_sha256(const void *data, size_t len, unsigned char out[NM_SHA256_LEN])
{
    unsigned int n = 0;
    /* EVP_Digest only fails on allocation failure, which nm_x* treat as fatal too. */
    if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != NM_SHA256_LEN)
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
