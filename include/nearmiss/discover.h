/*
 * TLS endpoint discovery: the TLS services a host runs, found from its
 * listening sockets rather than from the inventory.
 *
 * The host's script gets one more built-in probe (NM_DISCOVER_PROBE_ID): it
 * lists the listening TCP sockets (`ss -ltnpH`, else /proc/net/tcp and
 * tcp6) and, in the same run, makes a handshake with `openssl s_client`
 * (bounded by timeout(1) and in output) to the candidates that must be
 * probed from the host itself: those listening on loopback only (the
 * scanner never connects to an address the inventory did not name), LDAP's
 * STARTTLS (which only s_client speaks), and every candidate in "local"
 * mode.  The other candidates are probed from the scanner at the host's
 * inventory address, like inventory endpoints.
 *
 * A candidate is a well-known TLS or STARTTLS port, or any port owned by a
 * known TLS server program (tables in src/probe/discover.c; the script's
 * selection is generated from the same tables).
 *
 * jansson ownership: *ret is a NEW reference; json_t parameters are
 * borrowed.
 */
#ifndef NEARMISS_DISCOVER_H
#define NEARMISS_DISCOVER_H

#include <jansson.h>
#include <stdint.h>

#include "nearmiss/error.h"
#include "nearmiss/tls.h"

#define NM_DISCOVER_PROBE_ID  "nm.tls-discovery"
#define NM_DISCOVER_TIMEOUT_S 90
#define NM_DISCOVER_CAP       (2u << 20)
#define NM_DISCOVER_LOCAL_MAX 32 /* handshakes from the host per scan */

enum nm_tls_discovery {
    NM_TLS_DISCOVERY_OFF = 0,
    NM_TLS_DISCOVERY_LOCAL,  /* every candidate probed from the host only */
    NM_TLS_DISCOVERY_REMOTE, /* from the scanner where it may, else from the host */
};

const char *nm_tls_discovery_name(enum nm_tls_discovery m);
/* "off", "local", "remote"; NM_ERR_INVAL otherwise. */
int nm_tls_discovery_parse(const char *s, enum nm_tls_discovery *ret);

/* The probe's script for mode (not OFF); sni: the name to send and check
 * (the host's inventory name when it is a DNS name), or NULL for the one
 * the probe script exports as NM_SNI (nm_script_render), so that one
 * script serves every host. */
char *nm_discover_script(enum nm_tls_discovery mode, const char *sni);

/*
 * Reads the probe's output into the host's discovery record:
 *   {"mode", "listing": "ss"|"proc"|"none", "listeners": N,
 *    "endpoints": [ {"address", "port", "programs", "protocol"
 *        ("tls"|"smtp"|"imap"|"pop3"|"ldap"|null), "probed_from"
 *        ("scanner"|"host"|null), "result" ("tls"|"no-tls"|"pending"|
 *        "skipped"), "reason", "subject", "item" (the TLS item, when probed
 *        from the host)} ] }
 * Endpoints to be probed from the scanner have result "pending" and
 * "target": {"host", "port", "starttls", "sni"}; the caller probes them and
 * calls nm_discover_record_remote().  `address` is the inventory address,
 * `t` carries the ca_file and now used to judge host-made handshakes.
 */
int nm_discover_read(const char *out, size_t len, enum nm_tls_discovery mode, const char *address,
                     const char *sni, const struct nm_tls_target *t, json_t **ret, nm_diag *d);

/* Fills one pending endpoint's target for nm_tls_probe(); NM_ERR_INVAL if
 * the endpoint is not pending. */
int nm_discover_target(const json_t *endpoint, const struct nm_tls_target *base,
                       struct nm_tls_target *ret);

/* Records what the scanner's probe of a pending endpoint found (item is
 * stolen). */
void nm_discover_record_remote(json_t *endpoint, json_t *item);

/* The reload command for a TLS server program ("systemctl reload nginx"),
 * or NULL when none is known. */
const char *nm_discover_reload_command(const char *program);

#endif
