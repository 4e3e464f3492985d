/* libcurl opened on first use (tickets/curlapi.h says why). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "tickets/curlapi.h"

/* 7.85.0: CURLOPT_PROTOCOLS_STR, which http.c relies on to refuse every
 * scheme but http and https. */
#define NM_CURL_MIN_VERSION 0x075500u

static struct nm_curl_api api;
static const struct nm_curl_api *loaded;
static char load_error[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* A function pointer from dlsym's object pointer: POSIX guarantees the two
 * have the same representation; ISO C has no cast between them, so the
 * bytes are copied. */
#define SYM(handle, field, name)                                                                   \
    do {                                                                                           \
        void *p_ = dlsym(handle, name);                                                            \
        if (!p_) {                                                                                 \
            missing = name;                                                                        \
            goto fail;                                                                             \
        }                                                                                          \
        _Static_assert(sizeof api.field == sizeof p_, "function and object pointers differ");     \
        memcpy(&api.field, &p_, sizeof p_);                                                        \
    } while (0)

static void load(void)
{
    const char *missing = NULL;
    /* RTLD_LOCAL: its symbols serve only this table, never other lookups. */
    void *h = dlopen(NM_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *why = dlerror();
        snprintf(load_error, sizeof load_error,
                 "cannot load %s for the HTTP ticket targets (install libcurl 7.85 or later): %s",
                 NM_CURL_SONAME, why ? why : "unknown error");
        return;
    }
    SYM(h, global_init, "curl_global_init");
    SYM(h, global_cleanup, "curl_global_cleanup");
    SYM(h, version_info, "curl_version_info");
    SYM(h, easy_init, "curl_easy_init");
    SYM(h, easy_setopt, "curl_easy_setopt");
    SYM(h, easy_perform, "curl_easy_perform");
    SYM(h, easy_getinfo, "curl_easy_getinfo");
    SYM(h, easy_cleanup, "curl_easy_cleanup");
    SYM(h, easy_strerror, "curl_easy_strerror");
    SYM(h, slist_append, "curl_slist_append");
    SYM(h, slist_free_all, "curl_slist_free_all");
    const curl_version_info_data *v = api.version_info(CURLVERSION_NOW);
    if (!v || v->version_num < NM_CURL_MIN_VERSION) {
        snprintf(load_error, sizeof load_error,
                 "%s is libcurl %s; the HTTP ticket targets need 7.85 or later", NM_CURL_SONAME,
                 v && v->version ? v->version : "of unknown version");
        goto close;
    }
    loaded = &api;
    return;
fail:
    snprintf(load_error, sizeof load_error, "%s has no %s: not a usable libcurl", NM_CURL_SONAME,
             missing);
close:
    /* Nothing of it was used: unloading it is safe. */
    dlclose(h);
}

const struct nm_curl_api *nm_curl(nm_diag *d)
{
    pthread_once(&once, load);
    if (!loaded)
        nm_diag_set(d, NM_ERR_IO, "%s", load_error);
    return loaded;
}
