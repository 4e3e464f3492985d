/*
 * The cipher and MAC preferences offered when libssh2 lacks strict key
 * exchange (Terrapin, CVE-2023-48795): only names the attack does not affect,
 * in a fixed order, and only names the library in use supports.
 */
#include <libssh2.h>
#include <stdlib.h>

#include "nearmiss/ssh.h"
#include "test.h"

static bool terrapin_affected(const char *list)
{
    return strstr(list, "chacha20") || strstr(list, "-etm@") || strstr(list, "cbc") ||
           strstr(list, "arcfour") || strstr(list, "none");
}

static void test_synthetic(void)
{
    /* What a libssh2 1.11.0 offers: affected and safe names mixed. */
    const char *const ciphers[] = {"chacha20-poly1305@openssh.com", "aes128-ctr", "aes256-cbc",
                                   "aes256-gcm@openssh.com",        "aes256-ctr", "3des-cbc"};
    const char *const macs[] = {
        "hmac-sha2-256-etm@openssh.com", "hmac-sha1", "hmac-sha2-512", "hmac-md5", "hmac-sha2-256",
        "hmac-sha1-etm@openssh.com"};
    char buf[256];
    CHECK_INT(nm_ssh_safe_methods(LIBSSH2_METHOD_CRYPT_CS, ciphers, 6, buf, sizeof buf), 0);
    CHECK_STR(buf, "aes256-gcm@openssh.com,aes256-ctr,aes128-ctr");
    CHECK_INT(nm_ssh_safe_methods(LIBSSH2_METHOD_CRYPT_SC, ciphers, 6, buf, sizeof buf), 0);
    CHECK_STR(buf, "aes256-gcm@openssh.com,aes256-ctr,aes128-ctr");
    CHECK_INT(nm_ssh_safe_methods(LIBSSH2_METHOD_MAC_CS, macs, 6, buf, sizeof buf), 0);
    CHECK_STR(buf, "hmac-sha2-256,hmac-sha2-512,hmac-sha1");
    CHECK_INT(nm_ssh_safe_methods(LIBSSH2_METHOD_MAC_SC, macs, 6, buf, sizeof buf), 0);
    CHECK_STR(buf, "hmac-sha2-256,hmac-sha2-512,hmac-sha1");
    /* Nothing safe: leave the library's list alone rather than offer nothing. */
    const char *const only_bad[] = {"chacha20-poly1305@openssh.com", "aes128-cbc"};
    CHECK_INT(nm_ssh_safe_methods(LIBSSH2_METHOD_CRYPT_CS, only_bad, 2, buf, sizeof buf),
              NM_ERR_NOTFOUND);
    CHECK_INT(nm_ssh_safe_methods(LIBSSH2_METHOD_KEX, ciphers, 6, buf, sizeof buf), NM_ERR_INVAL);
    char tiny[8];
    CHECK_INT(nm_ssh_safe_methods(LIBSSH2_METHOD_CRYPT_CS, ciphers, 6, tiny, sizeof tiny),
              NM_ERR_TOOBIG);
}

/* The list the linked libssh2 really gets, and that it accepts it. */
static void test_real_library(void)
{
    static const int methods[] = {LIBSSH2_METHOD_CRYPT_CS, LIBSSH2_METHOD_CRYPT_SC,
                                  LIBSSH2_METHOD_MAC_CS, LIBSSH2_METHOD_MAC_SC};
    CHECK_INT(libssh2_init(0), 0);
    LIBSSH2_SESSION *s = libssh2_session_init();
    CHECK(s != NULL);
    const char *version = libssh2_version(0);
    printf("# libssh2 %s, strict kex: %s\n", version, nm_ssh_has_strict_kex() ? "yes" : "no");
    /* 1.11.1 is the first with strict kex; the answer must follow the version. */
    CHECK(nm_ssh_has_strict_kex() == (libssh2_version(0x010b01) != NULL));
    for (size_t i = 0; s && i < sizeof methods / sizeof methods[0]; i++) {
        const char **supported = NULL;
        int n = libssh2_session_supported_algs(s, methods[i], &supported);
        CHECK(n > 0);
        char list[256];
        CHECK_INT(nm_ssh_safe_methods(methods[i], supported, n, list, sizeof list), 0);
        printf("# method %d: %s\n", methods[i], list);
        CHECK(!terrapin_affected(list));
        CHECK(strstr(list, i < 2 ? "aes256-ctr" : "hmac-sha2-256") != NULL);
        CHECK_INT(libssh2_session_method_pref(s, methods[i], list), 0);
        libssh2_free(s, supported);
    }
    if (s)
        libssh2_session_free(s);
    libssh2_exit();
}

int main(void)
{
    test_synthetic();
    test_real_library();
    return test_result();
}
