/*
 * libcurl, loaded when a run first delivers to an HTTP target.
 *
 * Linking libcurl would map it and its own dependencies (GnuTLS, Kerberos,
 * LDAP, SASL, RTMP, nghttp2, libidn2, brotli, zstd...: 26 more shared
 * libraries on Debian 12) into every process, and relocating them costs
 * each start about 5 ms of CPU: a third of a one-host readiness gate, and
 * all of `nearmiss --version`.  Nearly every run delivers nothing over HTTP,
 * so the library is opened by its soname only when one does.  The headers
 * still come from the build's libcurl (its types and constants).
 */
#ifndef NM_TICKETS_CURLAPI_H
#define NM_TICKETS_CURLAPI_H

#include <curl/curl.h>

#include "nearmiss/error.h"

/* The soname of libcurl's ABI since 7.16 (2006). */
#define NM_CURL_SONAME "libcurl.so.4"

struct nm_curl_api {
    CURLcode (*global_init)(long flags);
    void (*global_cleanup)(void);
    curl_version_info_data *(*version_info)(CURLversion);
    CURL *(*easy_init)(void);
    CURLcode (*easy_setopt)(CURL *h, CURLoption opt, ...);
    CURLcode (*easy_perform)(CURL *h);
    CURLcode (*easy_getinfo)(CURL *h, CURLINFO info, ...);
    void (*easy_cleanup)(CURL *h);
    const char *(*easy_strerror)(CURLcode);
    struct curl_slist *(*slist_append)(struct curl_slist *l, const char *s);
    void (*slist_free_all)(struct curl_slist *l);
};

/* The library's entry points, loaded and checked on the first call (safe
 * from several threads); the same table after.  NULL with d set when
 * libcurl cannot be opened, lacks a function, or is older than the 7.85 the
 * build requires.  The library stays loaded for the life of the process. */
const struct nm_curl_api *nm_curl(nm_diag *d);

#endif
