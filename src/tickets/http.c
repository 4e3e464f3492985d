/*
 * HTTP for the ticket targets, through libcurl (loaded on first use:
 * tickets/curlapi.h): certificate and host name verified (libcurl's
 * defaults, never turned off), http and https only, no
 * redirects (a token must not follow one elsewhere), a connect deadline and
 * a deadline for the whole request, the answer capped.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "nm-config.h"
#include "tickets/curlapi.h"
#include "tickets/sink.h"

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    struct nm_buf *b = ctx;
    size_t len = size * n;
    /* Past the cap the transfer is aborted: returning less than given. */
    return nm_buf_append(b, data, len) < 0 ? 0 : len;
}

char *nm_http_url(const char *base, const char *fmt, ...)
{
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    struct nm_buf b;
    nm_buf_init(&b, 1u << 16);
    nm_buf_append(&b, base, blen);
    va_list ap;
    va_start(ap, fmt);
    char tail[2048];
    vsnprintf(tail, sizeof tail, fmt, ap);
    va_end(ap);
    nm_buf_appends(&b, tail);
    return nm_buf_steal(&b, NULL);
}

int nm_http_request(const struct nm_ticket_options *o, const char *method, const char *url,
                    const char *const *headers, const struct nm_http_auth *auth, const char *body,
                    long *ret_status, char **ret_body, nm_diag *d)
{
    /* Without libcurl the target cannot be reached: its events wait. */
    const struct nm_curl_api *C = nm_curl(d);
    if (!C)
        return NM_ERR_CONNECT;
    CURL *h = C->easy_init();
    struct curl_slist *hl = NULL;
    struct nm_buf resp;
    char errbuf[CURL_ERROR_SIZE] = "";
    int r = 0;
    nm_buf_init(&resp, NM_HTTP_BODY_CAP);
    if (!h)
        return nm_diag_set(d, NM_ERR_NOMEM, "%s %s: cannot create a libcurl handle", method, url);
    for (size_t i = 0; headers && headers[i]; i++)
        hl = C->slist_append(hl, headers[i]);
    hl = C->slist_append(hl, "Expect:"); /* no 100-continue round trip */
    C->easy_setopt(h, CURLOPT_URL, url);
    C->easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    C->easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    C->easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    C->easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    C->easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    C->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    C->easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)o->connect_timeout_s);
    C->easy_setopt(h, CURLOPT_TIMEOUT, (long)o->timeout_s);
    C->easy_setopt(h, CURLOPT_HTTPHEADER, hl);
    C->easy_setopt(h, CURLOPT_USERAGENT, "nearmiss/" NM_VERSION);
    C->easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    C->easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    C->easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    C->easy_setopt(h, CURLOPT_ACCEPT_ENCODING, ""); /* what libcurl can decode */
    if (body) {
        C->easy_setopt(h, CURLOPT_POSTFIELDS, body);
        C->easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    } else if (strcmp(method, "GET") == 0) {
        C->easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    if (auth && auth->bearer) {
        C->easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
        C->easy_setopt(h, CURLOPT_XOAUTH2_BEARER, auth->bearer);
    } else if (auth && auth->user) {
        C->easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        C->easy_setopt(h, CURLOPT_USERNAME, auth->user);
        C->easy_setopt(h, CURLOPT_PASSWORD, auth->password ? auth->password : "");
    }
    CURLcode cr = C->easy_perform(h);
    /* libcurl's messages name hosts and causes, never credentials. */
    const char *why = errbuf[0] ? errbuf : C->easy_strerror(cr);
    switch (cr) {
    case CURLE_OK:
        break;
    case CURLE_OPERATION_TIMEDOUT:
        r = nm_diag_set(d, NM_ERR_TIMEOUT, "%s %s: %s", method, url, why);
        break;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_GOT_NOTHING:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
        r = nm_diag_set(d, NM_ERR_CONNECT, "%s %s: %s", method, url, why);
        break;
    case CURLE_WRITE_ERROR:
        r = nm_diag_set(d, NM_ERR_TOOBIG, "%s %s: answer larger than %u bytes", method, url,
                        NM_HTTP_BODY_CAP);
        break;
    default:
        r = nm_diag_set(d, NM_ERR_IO, "%s %s: %s", method, url, why);
        break;
    }
    if (r == 0) {
        long status = 0;
        C->easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        *ret_status = status;
        *ret_body = nm_buf_steal(&resp, NULL);
    }
    nm_buf_finish(&resp);
    C->slist_free_all(hl);
    C->easy_cleanup(h);
    return r;
}

int nm_http_fail(nm_diag *d, const char *method, const char *url, long status, const char *body,
                 const char *const *secrets)
{
    char snip[201];
    size_t n = 0;
    for (const char *p = body ? body : ""; *p && n < sizeof snip - 1; p++)
        snip[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : ' ';
    snip[n] = '\0';
    for (size_t i = 0; secrets && secrets[i]; i++) {
        size_t sl = strlen(secrets[i]);
        if (sl < 4)
            continue;
        for (char *hit = strstr(snip, secrets[i]); hit; hit = strstr(hit + sl, secrets[i]))
            memset(hit, '*', sl);
    }
    return nm_diag_set(d, NM_ERR_IO, "%s %s: HTTP %ld%s%s", method, url, status, n ? ": " : "",
                       snip);
}
