/*
 * One certificate described (include/nearmiss/certdesc.h): the fields the
 * certificate files parser and the TLS endpoint probe both report, so one
 * set of rules reads both.  Every string taken from the certificate is
 * sanitised and capped: a certificate is as hostile as the host that sent it.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "nearmiss/certdesc.h"
#include "nearmiss/digest.h"
#include "nearmiss/time.h"
#include "nearmiss/utf8.h"
#include "nearmiss/util.h"

static int asn1_time_unix(const ASN1_TIME *t, int64_t *ret)
{
    struct tm tm;
    /* ASN1_TIME_to_tm(NULL) would mean "now"; a missing time is an error. */
    if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
        return NM_ERR_PARSE;
    *ret = nm_days_from_civil((int64_t)tm.tm_year + 1900, (unsigned)tm.tm_mon + 1,
                              (unsigned)tm.tm_mday) *
               86400 +
           tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    return 0;
}

static json_t *name_oneline(const X509_NAME *n)
{
    /* RFC 2253 order and escaping, but UTF-8 kept as is (no \XX escapes for
     * bytes >= 0x80), then sanitized like every other host string. */
    BIO *b = BIO_new(BIO_s_mem());
    json_t *j;
    if (!b)
        return json_null();
    if (X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0) {
        BIO_free(b);
        return json_null();
    }
    char *p = NULL;
    long len = BIO_get_mem_data(b, &p);
    j = nm_json_string_sanitized(p ? p : "", len > 0 ? (size_t)len : 0, NM_CERT_MAX_DN);
    BIO_free(b);
    return j;
}

static json_t *name_cn(const X509_NAME *n)
{
    int idx = -1, last = -1;
    /* The most specific (last) CN, as browsers and OpenSSL's own checks do. */
    while ((idx = X509_NAME_get_index_by_NID(n, NID_commonName, idx)) >= 0)
        last = idx;
    if (last < 0)
        return json_null();
    const ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, last));
    unsigned char *u = NULL;
    int len = s ? ASN1_STRING_to_UTF8(&u, s) : -1;
    if (len < 0)
        return json_null();
    json_t *j = nm_json_string_sanitized((const char *)u, (size_t)len, NM_CERT_MAX_DN);
    OPENSSL_free(u);
    return j;
}

static json_t *cert_sans(X509 *x, bool *ret_truncated)
{
    json_t *arr = json_array();
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    *ret_truncated = false;
    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
        int type;
        const void *v = GENERAL_NAME_get0_value(sk_GENERAL_NAME_value(gens, i), &type);
        json_t *name = NULL;
        if (json_array_size(arr) >= NM_CERT_MAX_SANS) {
            *ret_truncated = true;
            break;
        }
        if (type == GEN_DNS) {
            const ASN1_STRING *s = v;
            name = nm_json_string_sanitized((const char *)ASN1_STRING_get0_data(s),
                                            (size_t)ASN1_STRING_length(s), 255);
        } else if (type == GEN_IPADD) {
            const ASN1_STRING *s = v;
            char buf[INET6_ADDRSTRLEN];
            int af = ASN1_STRING_length(s) == 4    ? AF_INET
                     : ASN1_STRING_length(s) == 16 ? AF_INET6
                                                   : 0;
            if (af && inet_ntop(af, ASN1_STRING_get0_data(s), buf, sizeof buf))
                name = json_string(buf);
        }
        if (name)
            json_array_append_new(arr, name);
    }
    GENERAL_NAMES_free(gens);
    return arr;
}

static json_t *cert_serial(const X509 *x)
{
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    json_t *j = hex ? json_string(hex) : json_null();
    OPENSSL_free(hex);
    BN_free(bn);
    return j;
}

static bool weak_digest(int mdnid)
{
    return mdnid == NID_md5 || mdnid == NID_sha1 || mdnid == NID_md4 || mdnid == NID_md2 ||
           mdnid == NID_mdc2 || mdnid == NID_md5_sha1 || mdnid == NID_ripemd160;
}

static const char *key_type_name(const EVP_PKEY *pk)
{
    switch (EVP_PKEY_get_base_id(pk)) {
    case EVP_PKEY_RSA:
        return "RSA";
    case EVP_PKEY_RSA_PSS:
        return "RSA-PSS";
    case EVP_PKEY_EC:
        return "EC";
    case EVP_PKEY_ED25519:
        return "Ed25519";
    case EVP_PKEY_ED448:
        return "Ed448";
    case EVP_PKEY_DSA:
        return "DSA";
    case EVP_PKEY_DH:
    case EVP_PKEY_DHX:
        return "DH";
    case EVP_PKEY_SM2:
        return "SM2";
    }
    const char *n = EVP_PKEY_get0_type_name(pk);
    return n ? n : "unknown";
}

int nm_cert_sha256(const X509 *x, unsigned char md[NM_CERT_SHA256_LEN])
{
    unsigned int n = 0;
    if (X509_digest(x, nm_sha256_md(), md, &n) != 1 || n != NM_CERT_SHA256_LEN)
        return NM_ERR_PARSE;
    return 0;
}

static void hex_lower(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static void set_time_fields(json_t *o, const char *iso_key, const char *unix_key,
                            const ASN1_TIME *t, int64_t *ret, bool *ok)
{
    int64_t u;
    if (asn1_time_unix(t, &u) < 0) {
        json_object_set_new(o, iso_key, json_null());
        if (unix_key)
            json_object_set_new(o, unix_key, json_null());
        *ok = false;
        return;
    }
    char iso[32];
    nm_utc_iso8601(u, iso);
    json_object_set_new(o, iso_key, json_string(iso));
    if (unix_key)
        json_object_set_new(o, unix_key, json_integer(u));
    *ret = u;
}

/* The renewal point as the evidence line tells it. */
struct nm_cert_renewal {
    bool valid, acme;
    int64_t lifetime_days;
    char at_iso[32];
};

/*
 * When the certificate's renewal should have happened, from the habit of its
 * kind: certificates of an ACME-length life (<= NM_CERT_ACME_MAX_LIFETIME_DAYS)
 * at two thirds of it, as certbot's 30 days left of 90 and Let's Encrypt's
 * "renew every sixty days" advice; longer-lived ones 30 days before expiry,
 * when CAs start their reminders.  RFC 5280 counts both ends of the validity
 * as valid, hence the second added to the lifetime.
 */
static void set_renewal_fields(json_t *o, int64_t nb, int64_t na, int64_t now, bool times_ok,
                               struct nm_cert_renewal *ret)
{
    if (!times_ok || na < nb) {
        json_object_set_new(o, "lifetime_days", json_null());
        json_object_set_new(o, "renewal_habit", json_null());
        json_object_set_new(o, "renewal_expected_by", json_null());
        json_object_set_new(o, "days_past_renewal", json_null());
        json_object_set_new(o, "renewal_overdue", json_null());
        return;
    }
    int64_t life = na - nb + 1;
    int64_t days = life / 86400;
    bool acme = days <= NM_CERT_ACME_MAX_LIFETIME_DAYS;
    int64_t at = acme ? nb + life * 2 / 3 : na - (int64_t)NM_CERT_RENEW_BEFORE_DAYS * 86400;
    char iso[32];
    nm_utc_iso8601(at, iso);
    json_object_set_new(o, "lifetime_days", json_integer(days));
    json_object_set_new(o, "renewal_habit", json_string(acme ? "two-thirds" : "30-days-left"));
    json_object_set_new(o, "renewal_expected_by", json_string(iso));
    json_object_set_new(o, "days_past_renewal", json_integer(nm_days_between(at, now)));
    json_object_set_new(o, "renewal_overdue", json_boolean(now >= at));
    ret->valid = true;
    ret->acme = acme;
    ret->lifetime_days = days;
    memcpy(ret->at_iso, iso, sizeof ret->at_iso);
}

json_t *nm_cert_describe(X509 *x, int64_t now)
{
    json_t *o = json_object();
    const X509_NAME *subj = X509_get_subject_name(x), *iss = X509_get_issuer_name(x);
    int64_t nb = 0, na = 0;
    bool times_ok = true, sans_cut = false;
    struct nm_cert_renewal renewal = {0};

    /* Decoding helpers below leave errors on OpenSSL's per-thread queue;
     * they are ours, not the caller's, so drop them on the way out. */
    ERR_set_mark();

    json_object_set_new(o, "cn", name_cn(subj));
    json_object_set_new(o, "sans", cert_sans(x, &sans_cut));
    if (sans_cut)
        json_object_set_new(o, "sans_truncated", json_true());
    json_object_set_new(o, "subject_dn", name_oneline(subj));
    json_object_set_new(o, "issuer", name_oneline(iss));
    json_object_set_new(o, "serial", cert_serial(x));

    set_time_fields(o, "not_before", NULL, X509_get0_notBefore(x), &nb, &times_ok);
    set_time_fields(o, "not_after", "not_after_unix", X509_get0_notAfter(x), &na, &times_ok);
    if (times_ok) {
        json_object_set_new(o, "days_left", json_integer(nm_days_between(now, na)));
        json_object_set_new(o, "not_yet_valid", json_boolean(now < nb));
        json_object_set_new(o, "expired", json_boolean(now > na));
    } else {
        /* Undecodable validity: nothing to count with, so say so plainly. */
        json_object_set_new(o, "days_left", json_null());
        json_object_set_new(o, "not_yet_valid", json_null());
        json_object_set_new(o, "expired", json_null());
        json_object_set_new(o, "error", json_string("invalid validity dates"));
    }
    set_renewal_fields(o, nb, na, now, times_ok, &renewal);

    char sig[128] = "unknown";
    int signid = X509_get_signature_nid(x);
    if (signid != NID_undef && OBJ_nid2ln(signid)) {
        snprintf(sig, sizeof sig, "%s", OBJ_nid2ln(signid));
    } else {
        const X509_ALGOR *alg = NULL;
        const ASN1_OBJECT *obj = NULL;
        X509_get0_signature(NULL, &alg, x);
        if (alg)
            X509_ALGOR_get0(&obj, NULL, NULL, alg);
        if (obj)
            OBJ_obj2txt(sig, sizeof sig, obj, 1);
    }
    int mdnid = NID_undef;
    if (X509_get_signature_info(x, &mdnid, NULL, NULL, NULL) != 1)
        mdnid = NID_undef;
    json_object_set_new(o, "sig_alg", nm_json_string_sanitized(sig, strlen(sig), sizeof sig));
    json_object_set_new(o, "weak_sig", json_boolean(weak_digest(mdnid)));

    EVP_PKEY *pk = X509_get0_pubkey(x);
    const char *ktype = pk ? key_type_name(pk) : "unknown";
    int bits = pk ? EVP_PKEY_get_bits(pk) : 0;
    char curve[64] = "";
    if (pk && EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC &&
        EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, curve, sizeof curve, NULL) !=
            1)
        curve[0] = '\0';
    bool weak_key = false;
    if (pk) {
        int id = EVP_PKEY_get_base_id(pk);
        weak_key = ((id == EVP_PKEY_RSA || id == EVP_PKEY_RSA_PSS) && bits < 2048) ||
                   (id == EVP_PKEY_EC && bits < 256) || id == EVP_PKEY_DSA;
    }
    json_object_set_new(o, "key_type", json_string(ktype));
    json_object_set_new(o, "key_bits", bits > 0 ? json_integer(bits) : json_null());
    json_object_set_new(o, "key_curve", curve[0] ? json_string(curve) : json_null());
    json_object_set_new(o, "weak_key", json_boolean(weak_key));

    /* Self-signed means what it says: the certificate names itself as issuer
     * AND its own key verifies its signature (a name match alone is only a
     * claim). */
    bool self_signed = X509_NAME_cmp(subj, iss) == 0 && pk && X509_verify(x, pk) == 1;
    json_object_set_new(o, "self_signed", json_boolean(self_signed));
    BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(x, NID_basic_constraints, NULL, NULL);
    json_object_set_new(o, "is_ca", json_boolean(bc && bc->ca));
    BASIC_CONSTRAINTS_free(bc);

    unsigned char md[NM_CERT_SHA256_LEN];
    char hex[2 * NM_CERT_SHA256_LEN + 1];
    if (nm_cert_sha256(x, md) == 0) {
        hex_lower(md, sizeof md, hex);
        json_object_set_new(o, "sha256", json_string(hex));
    } else {
        json_object_set_new(o, "sha256", json_null());
    }

    /* One line a reader can check the verdict against, without the PEM. */
    struct nm_buf ev;
    const char *sdn = json_string_value(json_object_get(o, "subject_dn"));
    const char *idn = json_string_value(json_object_get(o, "issuer"));
    const char *nbs = json_string_value(json_object_get(o, "not_before"));
    const char *nas = json_string_value(json_object_get(o, "not_after"));
    nm_buf_init(&ev, NM_CERT_MAX_EVIDENCE);
    nm_buf_appendf(&ev, "subject %s; issuer %s; valid %s .. %s; ", sdn ? sdn : "?", idn ? idn : "?",
                   nbs ? nbs : "?", nas ? nas : "?");
    if (renewal.valid && renewal.acme)
        nm_buf_appendf(&ev, "renewal expected by %s (2/3 of %lld days); ", renewal.at_iso,
                       (long long)renewal.lifetime_days);
    else if (renewal.valid)
        nm_buf_appendf(&ev, "renewal expected by %s (30 days before expiry); ", renewal.at_iso);
    nm_buf_appends(&ev, ktype);
    if (bits > 0)
        nm_buf_appendf(&ev, " %d", bits);
    nm_buf_appendf(&ev, "; %s", sig);
    json_object_set_new(
        o, "evidence",
        nm_json_string_sanitized(ev.data ? ev.data : "", ev.len, NM_CERT_MAX_EVIDENCE));
    nm_buf_finish(&ev);

    ERR_pop_to_mark();
    return o;
}
