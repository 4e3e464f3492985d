/*
 * What a finding says and how it is known again: "{field}" templates
 * expanded from an item, and the fingerprint that stays the same from night
 * to night while the problem does.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "nearmiss/digest.h"
#include "nearmiss/finding.h"
#include "nearmiss/util.h"

/* The string form of a JSON scalar for matching and templates. */
char *nm_value_text(const json_t *v)
{
    if (json_is_string(v))
        return nm_xstrdup(json_string_value(v));
    if (json_is_integer(v))
        return nm_xasprintf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
    if (json_is_real(v))
        return nm_xasprintf("%g", json_real_value(v));
    if (json_is_true(v))
        return nm_xstrdup("true");
    if (json_is_false(v))
        return nm_xstrdup("false");
    if (json_is_array(v) || json_is_object(v)) {
        /* Arrays of strings (package lists) read best comma-separated. */
        if (json_is_array(v)) {
            struct nm_buf b;
            nm_buf_init(&b, 4096);
            for (size_t i = 0; i < json_array_size(v); i++) {
                char *e = nm_value_text(json_array_get(v, i));
                nm_buf_appendf(&b, "%s%s", i ? ", " : "", e);
                free(e);
            }
            return nm_buf_steal(&b, NULL);
        }
        char *dump = json_dumps(v, JSON_COMPACT);
        return dump ? dump : nm_xstrdup("");
    }
    return nm_xstrdup("");
}

char *nm_template_expand(const char *tpl, const json_t *item, const json_t *extra)
{
    struct nm_buf b;
    nm_buf_init(&b, 16384);
    for (const char *p = tpl; *p;) {
        const char *close = *p == '{' ? strchr(p + 1, '}') : NULL;
        if (close && close - p > 1 && close - p < 64) {
            char key[64];
            memcpy(key, p + 1, (size_t)(close - p - 1));
            key[close - p - 1] = '\0';
            const json_t *v = extra ? json_object_get(extra, key) : NULL;
            if (!v)
                v = json_object_get(item, key);
            if (v) {
                char *s = nm_value_text(v);
                nm_buf_appends(&b, s);
                free(s);
                p = close + 1;
                continue;
            }
        }
        nm_buf_append(&b, p, 1);
        p++;
    }
    return nm_buf_steal(&b, NULL);
}

void nm_finding_fingerprint(const char *check, const char *host, const char *subject, char out[65])
{
    unsigned char md[NM_SHA256_LEN];
    unsigned int len = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, nm_sha256_md(), NULL);
    /* NUL separators: "a"+"bc" and "ab"+"c" must not collide. */
    EVP_DigestUpdate(ctx, check, strlen(check) + 1);
    EVP_DigestUpdate(ctx, host, strlen(host) + 1);
    EVP_DigestUpdate(ctx, subject, strlen(subject));
    EVP_DigestFinal_ex(ctx, md, &len);
    EVP_MD_CTX_free(ctx);
    nm_hex(md, sizeof md, out);
}
