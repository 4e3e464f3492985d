/* OpenSSH known_hosts (plain, [host]:port, hashed, markers), then lookups. */
#include "fuzz.h"
#include "nearmiss/knownhosts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct nm_known_hosts *kh = NULL;
    if (nm_known_hosts_parse("fuzz", (const char *)data, size, &kh, NULL) < 0)
        return 0;
    unsigned char blob[64] = {0, 0, 0, 11, 's', 's', 'h', '-', 'e', 'd', '2', '5', '5', '1', '9'};
    size_t line = 0;
    char algs[512];
    nm_known_hosts_check(kh, "host", 22, blob, sizeof blob, &line);
    nm_known_hosts_check(kh, "127.0.0.1", 2222, blob, sizeof blob, &line);
    nm_known_hosts_algorithms(kh, "host", 22, algs, sizeof algs);
    /* The same bytes as a global file behind an empty user set. */
    struct nm_known_hosts *user = NULL;
    if (nm_known_hosts_parse("user", "", 0, &user, NULL) == 0) {
        struct nm_hostkey_check c;
        nm_known_hosts_set_global(user, kh);
        nm_known_hosts_verify(user, "host", 22, blob, sizeof blob, &c);
        nm_known_hosts_verify(user, "web.corp.example.com", 2222, blob, sizeof blob, &c);
        nm_known_hosts_algorithms(user, "host", 22, algs, sizeof algs);
        nm_known_hosts_destroy(user);
    }
    (void)nm_known_hosts_bad_lines(kh);
    nm_known_hosts_destroy(kh);
    return 0;
}

const struct nm_fuzz_replay nm_fuzz_replay = {"knownhosts", NULL};
