/*
 * Certificates seen from outside and inside a host (docs/certificates.md):
 *
 *  - TLS endpoints: nm_tls_probe() connects from the scanner to host:port
 *    (optionally after a STARTTLS dialogue), completes a handshake and
 *    describes what the server sends: protocol, cipher, chain, whether the
 *    chain verifies against a trust store and whether it matches the name.
 *  - Certificate files: the x509-files probe of the cert-* checks (checks/)
 *    frames certificate files for the "x509_files" parser (parsers.h).
 *
 * Both describe every certificate with the same fields (certdesc.h).
 *
 * jansson ownership: *ret_item is a NEW reference the caller must
 * json_decref(); nothing here borrows json_t from the caller.
 *
 * Thread safety: nm_tls_probe() keeps no global state (one SSL_CTX per
 * call); any number of threads may call it at once.
 */
#ifndef NEARMISS_TLS_H
#define NEARMISS_TLS_H

#include <jansson.h>
#include <stdint.h>

#include "nearmiss/error.h"

#define NM_TLS_HOST_MAX 255

enum nm_starttls {
    NM_STARTTLS_NONE = 0, /* TLS from the first byte */
    NM_STARTTLS_SMTP,     /* 220 greeting, EHLO, STARTTLS, 220 */
    NM_STARTTLS_IMAP,     /* * OK greeting, a001 STARTTLS, a001 OK */
    NM_STARTTLS_POP3,     /* +OK greeting, STLS, +OK */
};

/* "none", "smtp", "imap", "pop3". */
const char *nm_starttls_name(enum nm_starttls s);

/*
 * One endpoint.  The caller owns the memory (filled by nm_tls_spec_parse(),
 * or by hand); no destructor is needed.
 */
struct nm_tls_target {
    char host[NM_TLS_HOST_MAX + 1]; /* DNS name or IP literal to connect to (no brackets) */
    uint16_t port;
    /* The name sent as SNI and checked against the certificate.  "" = none:
     * no SNI is sent and the certificate is checked against host as an IP
     * address (the default when host is an IP literal). */
    char sni[NM_TLS_HOST_MAX + 1];
    enum nm_starttls starttls;
    const char *ca_file; /* borrowed; PEM trust anchors; NULL = system store */
    int64_t now;         /* unix seconds for validity and verification;
                            0 = the real clock */
};

/*
 * Inventory spec syntax:
 *   PORT                  "443"            host = default_host
 *   HOST:PORT             "mail.example.org:993"
 *   [V6ADDR]:PORT         "[2001:db8::1]:443"
 *   ...[/PROTO]           PROTO = starttls | smtp | imap | pop3 | tls
 * "starttls" picks the protocol from the port: 25, 587 -> smtp; 143 -> imap;
 * 110 -> pop3 (other ports need an explicit protocol).  The SNI name is the
 * host unless it is an IP literal (then none).  ca_file is NULL and now 0.
 * default_host may be NULL when every spec names its host; it may be an
 * unbracketed IPv6 literal.  Errors: NM_ERR_INVAL with the reason in d.
 */
int nm_tls_spec_parse(const char *spec, const char *default_host, struct nm_tls_target *ret,
                      nm_diag *d);

/*
 * Connects, talks STARTTLS if asked, handshakes and describes the endpoint,
 * all before deadline_ms (nm_now_ms() clock; DNS resolution through
 * getaddrinfo() is the one step the deadline cannot interrupt).
 *
 * Returns 0 with *ret_item set whenever the probe ran, including when the
 * endpoint could not be reached: that is a result (item "error" and
 * "error_kind" say what happened), not a failure.  Returns NM_ERR_INVAL for
 * an unusable target and NM_ERR_NOMEM/NM_ERR_IO when the local TLS library
 * could not be set up (e.g. unreadable ca_file); *ret_item is then untouched.
 */
int nm_tls_probe(const struct nm_tls_target *t, int64_t deadline_ms, json_t **ret_item, nm_diag *d);

#endif
