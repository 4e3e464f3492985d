/*
 * The run's key set: which keys are decoded once, which are left to
 * libssh2, and that a key file is read once however often it is asked for.
 * Keys are made at run time by OpenSSH's ssh-keygen and the openssl CLI
 * (private keys are not committed); signing against a real sshd is
 * tests/fleet/test-auth.sh.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "nearmiss/identity.h"
#include "nearmiss/util.h"
#include "test.h"

static char dir[] = "/tmp/nm-identity.XXXXXX";

static int sh(const char *cmd)
{
    char *full = nm_xasprintf("cd %s && { %s; } >/dev/null 2>&1", dir, cmd);
    int r = system(full);
    free(full);
    return r;
}

static char *path(const char *name)
{
    return nm_xasprintf("%s/%s", dir, name);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    if (sh("command -v ssh-keygen && command -v openssl") != 0) {
        printf("SKIP: ssh-keygen or openssl missing\n");
        rmdir(dir);
        return 77;
    }
    CHECK_INT(sh("ssh-keygen -q -t ed25519 -N '' -f ed"), 0);
    CHECK_INT(sh("ssh-keygen -q -t ed25519 -N 'pass word' -f ed_enc"), 0);
    CHECK_INT(sh("ssh-keygen -q -t ecdsa -b 256 -N '' -f ecdsa"), 0);
    CHECK_INT(sh("openssl genpkey -algorithm ed25519 -out pk8"), 0);
    CHECK_INT(sh("openssl pkcs8 -topk8 -v2 aes256 -in pk8 -out pk8_enc -passout 'pass:pass word'"),
              0);
    CHECK_INT(sh("printf 'not a key\\n' > junk"), 0);

    struct nm_identity_set *with = nm_identity_set_create("pass word");
    struct nm_identity_set *without = nm_identity_set_create(NULL);
    char *p;

    /* OpenSSH format, Ed25519, clear: decoded here. */
    p = path("ed");
    struct nm_identity *ed = nm_identity_set_get(without, p);
    CHECK_INT(nm_identity_read_errno(ed), 0);
    CHECK(!nm_identity_encrypted(ed));
    CHECK(nm_identity_decoded(ed));
    /* Read once: the same identity, even after the file is gone. */
    CHECK_INT(unlink(p), 0);
    CHECK(nm_identity_set_get(without, p) == ed);
    CHECK(nm_identity_decoded(nm_identity_set_get(without, p)));
    free(p);

    /* Encrypted OpenSSH format: libssh2's (bcrypt_pbkdf), even with a passphrase. */
    p = path("ed_enc");
    struct nm_identity *enc = nm_identity_set_get(with, p);
    CHECK(nm_identity_encrypted(enc));
    CHECK(!nm_identity_decoded(enc));
    free(p);

    /* ECDSA: libssh2 decodes it, from memory. */
    p = path("ecdsa");
    CHECK(!nm_identity_decoded(nm_identity_set_get(without, p)));
    CHECK_INT(nm_identity_read_errno(nm_identity_set_get(without, p)), 0);
    free(p);

    /* PKCS#8 Ed25519, clear and encrypted. */
    p = path("pk8");
    CHECK(nm_identity_decoded(nm_identity_set_get(without, p)));
    free(p);
    p = path("pk8_enc");
    CHECK(nm_identity_encrypted(nm_identity_set_get(with, p)));
    CHECK(nm_identity_decoded(nm_identity_set_get(with, p)));
    /* Without the passphrase it is never decoded, and nothing prompts. */
    CHECK(nm_identity_encrypted(nm_identity_set_get(without, p)));
    CHECK(!nm_identity_decoded(nm_identity_set_get(without, p)));
    free(p);

    /* Not a key: read, left to libssh2, which will say so. */
    p = path("junk");
    CHECK_INT(nm_identity_read_errno(nm_identity_set_get(without, p)), 0);
    CHECK(!nm_identity_decoded(nm_identity_set_get(without, p)));
    free(p);

    /* Missing: the errno, for the transport's message. */
    p = path("absent");
    CHECK_INT(nm_identity_read_errno(nm_identity_set_get(without, p)), ENOENT);
    free(p);

    nm_identity_set_destroy(with);
    nm_identity_set_destroy(without);
    nm_identity_set_destroy(NULL);
    sh("rm -f ed.pub ed_enc ed_enc.pub ecdsa ecdsa.pub pk8 pk8_enc junk");
    rmdir(dir);
    return test_result();
}
