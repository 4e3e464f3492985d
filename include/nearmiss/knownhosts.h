/*
 * OpenSSH known_hosts: parsing and host key verification.
 *
 * Supports plain host patterns (comma lists, `*` and `?` wildcards, `!`
 * negation), `[host]:port` for non-22 ports, hashed `|1|salt|hmac` entries
 * (HMAC-SHA1 of the host string, as ssh-keygen -H writes), the @revoked marker
 * (a revoked key never matches), and any key type; @cert-authority lines are
 * kept but never match a plain host key (certificates are not supported).
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
