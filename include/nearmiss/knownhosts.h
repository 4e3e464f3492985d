/*
 * OpenSSH known_hosts: parsing and host key verification.
 *
 * Supports plain host patterns (comma lists, `*` and `?` wildcards, `!`
 * negation), `[host]:port` for non-22 ports, hashed `|1|salt|hmac` entries
 * (HMAC-SHA1 of the host string, as ssh-keygen -H writes), the @revoked marker
 * (a revoked key never matches), and any key type; @cert-authority lines are
 * kept but never match a plain host key: the libssh2 nearmiss is built on
 * negotiates no certificate host key algorithms (docs/inventory.md), so a
 * server never shows a certificate to verify.  A check reports the CA line
 * that names an unknown host, so the message can say why it is unknown.
 *
 * A set may point at a second, global one (ssh's GlobalKnownHostsFile,
 * /etc/ssh/ssh_known_hosts): checks read both, appends go to the first.
 * Comments and blank lines are skipped; a malformed line is skipped and
 * counted, as OpenSSH does, rather than failing the whole file.
 */
#ifndef NEARMISS_KNOWNHOSTS_H
#define NEARMISS_KNOWNHOSTS_H

#include <stddef.h>

#include "nearmiss/error.h"

struct nm_known_hosts;

enum nm_hostkey_verdict {
    NM_HOSTKEY_MATCH = 0, /* a line for this host holds exactly this key */
    NM_HOSTKEY_UNKNOWN,   /* no line names this host */
    NM_HOSTKEY_MISMATCH,  /* lines name this host, none holds this key */
    NM_HOSTKEY_REVOKED,   /* the key is marked @revoked */
};

/* A missing file gives an empty set (every host unknown), not an error. */
int nm_known_hosts_load(const char *path, struct nm_known_hosts **ret, nm_diag *d);
/* Several files in one set, in order; paths[0] names appended entries. */
int nm_known_hosts_load_files(const char *const *paths, size_t n, struct nm_known_hosts **ret,
                              nm_diag *d);
/*
 * The global files, as ssh's GlobalKnownHostsFile default; the environment
 * variable NEARMISS_GLOBAL_KNOWN_HOSTS replaces the list (space-separated;
 * empty for none), which is meant for tests.  Missing files are empty.
 */
#define NM_KNOWN_HOSTS_GLOBAL_DEFAULT "/etc/ssh/ssh_known_hosts /etc/ssh/ssh_known_hosts2"
const char *nm_known_hosts_global_paths(void);
int nm_known_hosts_load_global(struct nm_known_hosts **ret, nm_diag *d);

/*
 * Makes checks and algorithms of kh also read global's entries, after kh's
 * own.  global is borrowed (it must outlive kh's use) and is never appended
 * to.  Call before kh is shared between threads.
 */
void nm_known_hosts_set_global(struct nm_known_hosts *kh, const struct nm_known_hosts *global);
int nm_known_hosts_parse(const char *name, const char *data, size_t len,
                         struct nm_known_hosts **ret, nm_diag *d);
void nm_known_hosts_destroy(struct nm_known_hosts *kh);
size_t nm_known_hosts_bad_lines(const struct nm_known_hosts *kh);

/*
 * Checks the key the server presented.  `blob` is the SSH wire-format public
 * key (what libssh2_session_hostkey() returns; the base64 field of a
 * known_hosts line decodes to the same bytes).  `host` is the name or address
 * as it would be typed on the ssh command line; port 22 looks up `host`,
 * other ports `[host]:port`.  When a mismatch is found, ret_line (if not
 * NULL) gets the 1-based line number of a conflicting entry.
 */
enum nm_hostkey_verdict nm_known_hosts_check(const struct nm_known_hosts *kh, const char *host,
                                             int port, const unsigned char *blob, size_t bloblen,
                                             size_t *ret_line);

/* A line of a file of the set; file NULL and line 0 when none. */
struct nm_hostkey_where {
    const char *file; /* valid while the set lives */
    size_t line;      /* 1-based */
};

struct nm_hostkey_check {
    enum nm_hostkey_verdict verdict;
    /* MISMATCH: the conflicting line; REVOKED: the @revoked line. */
    struct nm_hostkey_where at;
    /* A @cert-authority line whose patterns name this host (any verdict). */
    struct nm_hostkey_where ca;
};

/* nm_known_hosts_check, also saying which file and line decided.  As ssh
 * does: the key listed on any line of either set verifies (MATCH); a
 * @revoked line in either rejects it (REVOKED); otherwise another key for
 * the host in either set is a MISMATCH. */
void nm_known_hosts_verify(const struct nm_known_hosts *kh, const char *host, int port,
                           const unsigned char *blob, size_t bloblen, struct nm_hostkey_check *ret);

/*
 * Writes into buf a comma-separated list of SSH host key algorithm names for
 * which kh has a key for host:port (e.g. "ssh-ed25519,rsa-sha2-512,
 * rsa-sha2-256,ssh-rsa"), so the client can ask the server for a key it can
 * verify.  Empty string when none.  Returns 0, or NM_ERR_TOOBIG.
 */
int nm_known_hosts_algorithms(const struct nm_known_hosts *kh, const char *host, int port,
                              char *buf, size_t buflen);

/* Key type name inside a wire-format blob ("ssh-ed25519"...), copied to buf. */
int nm_hostkey_type_name(const unsigned char *blob, size_t bloblen, char *buf, size_t buflen);
/* "SHA256:base64" fingerprint as ssh-keygen -l prints it. */
int nm_hostkey_fingerprint(const unsigned char *blob, size_t bloblen, char *buf, size_t buflen);

/*
 * Appends "host-or-[host]:port keytype base64\n" to path (created 0600 if
 * missing) and to kh, for --accept-new.  Appending is done with O_APPEND in
 * one write so concurrent appends from several hosts do not interleave.
 */
int nm_known_hosts_append(struct nm_known_hosts *kh, const char *path, const char *host, int port,
                          const unsigned char *blob, size_t bloblen, nm_diag *d);

#endif
