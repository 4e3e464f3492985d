/*
 * Certificate description shared by the x509_files parser (certificates read
 * from files on a host) and the TLS endpoint probe (certificates a server
 * sends), so both report the same fields with the same meaning.  See
 * docs/certificates.md for the fields.
 *
 * jansson ownership: functions returning json_t * return a NEW reference the
 * caller must json_decref(); json_t arguments are borrowed.
 */
#ifndef NEARMISS_CERTDESC_H
#define NEARMISS_CERTDESC_H

#include <jansson.h>
#include <stdint.h>

#include <openssl/x509.h>

#define NM_CERT_SHA256_LEN   32
#define NM_CERT_MAX_SANS     1000 /* more names are cut (sans_truncated: true) */
#define NM_CERT_MAX_DN       1024 /* bytes of a one-line distinguished name */
#define NM_CERT_MAX_EVIDENCE 1024 /* as every parser's evidence (NM_PARSER_MAX_EVIDENCE) */

/*
 * An object with cn, sans, issuer, subject_dn, serial, not_before, not_after,
 * not_after_unix, days_left, not_yet_valid, expired, sig_alg, weak_sig,
 * key_type, key_bits, key_curve, weak_key, self_signed, is_ca, sha256 and
 * evidence.  `now` is unix seconds; days_left is floor((not_after-now)/86400).
 * x is not modified in a visible way (OpenSSL caches extension data in it).
 */
json_t *nm_cert_describe(X509 *x, int64_t now);

/* SHA-256 of the DER certificate; 0 or NM_ERR_PARSE. */
int nm_cert_sha256(const X509 *x, unsigned char md[NM_CERT_SHA256_LEN]);

#endif
