/*
 * Private keys read and decoded once per run (nearmiss/identity.h).
 *
 * Handing libssh2 a key file makes it read and decode the file twice per
 * session (once for the public key, once to sign), and OpenSSL 3 spends most
 * of that trying every decoder it has before libssh2 falls back to its own
 * OpenSSH parser: on a fleet scan that was the largest single cost on the
 * client.  Here the file is read once; an Ed25519 key, by far the most
 * common key today, is decoded once and each session only signs.
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nearmiss/identity.h"
#include "nearmiss/util.h"

#define KEY_FILE_CAP  (1u << 20) /* a private key file is a few KiB */
#define ED25519_LEN   32
#define ED25519_SIG   64
#define ED25519_NAME  "ssh-ed25519"
#define OPENSSH_MAGIC "openssh-key-v1"
#define OPENSSH_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----"
#define OPENSSH_END   "-----END OPENSSH PRIVATE KEY-----"

struct nm_identity {
    int read_errno;
    bool encrypted;
    char *data; /* the file, NUL-terminated (libssh2 measures it with strlen) */
    size_t len;
    EVP_PKEY *pkey; /* decoded here, or NULL: libssh2 decodes data */
    unsigned char blob[4 + sizeof ED25519_NAME - 1 + 4 + ED25519_LEN];
    size_t blob_len;
};

struct entry {
    char *path;
    struct nm_identity *id;
};

struct nm_identity_set {
    pthread_mutex_t lock;
    const char *passphrase;
    struct entry *entries;
    size_t n;
};

/* ---- the OpenSSH private key format (PROTOCOL.key in OpenSSH) ------------ */

struct reader {
    const unsigned char *p, *end;
};

static bool read_u32(struct reader *r, uint32_t *v)
{
    if (r->end - r->p < 4)
        return false;
    *v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 | (uint32_t)r->p[2] << 8 | r->p[3];
    r->p += 4;
    return true;
}

static bool read_string(struct reader *r, const unsigned char **s, uint32_t *n)
{
    if (!read_u32(r, n) || (size_t)(r->end - r->p) < *n)
        return false;
    *s = r->p;
    r->p += *n;
    return true;
}

static bool string_is(struct reader *r, const char *want)
{
    const unsigned char *s;
    uint32_t n;
    return read_string(r, &s, &n) && n == strlen(want) && memcmp(s, want, n) == 0;
}

static void put_string(unsigned char **p, const void *s, uint32_t n)
{
    unsigned char *q = *p;
    q[0] = (unsigned char)(n >> 24);
    q[1] = (unsigned char)(n >> 16);
    q[2] = (unsigned char)(n >> 8);
    q[3] = (unsigned char)n;
    memcpy(q + 4, s, n);
    *p = q + 4 + n;
}

/* The SSH wire form of an Ed25519 public key (RFC 8709 4). */
static void set_blob(struct nm_identity *id, const unsigned char *pub)
{
    unsigned char *p = id->blob;
    put_string(&p, ED25519_NAME, sizeof ED25519_NAME - 1);
    put_string(&p, pub, ED25519_LEN);
    id->blob_len = (size_t)(p - id->blob);
}

/* The base64 body between the armour lines, decoded; NULL if malformed. */
static unsigned char *openssh_body(const char *data, size_t *ret_len)
{
    const char *b = strstr(data, OPENSSH_BEGIN), *e;
    if (!b)
        return NULL;
    b += strlen(OPENSSH_BEGIN);
    e = strstr(b, OPENSSH_END);
    if (!e || e - b > INT32_MAX / 2)
        return NULL;
    unsigned char *out = nm_xmalloc((size_t)(e - b) / 4 * 3 + 4);
    EVP_ENCODE_CTX *ctx = EVP_ENCODE_CTX_new();
    int n = 0, tail = 0;
    bool ok = ctx != NULL;
    if (ok) {
        /* The decoder skips the line breaks itself. */
        EVP_DecodeInit(ctx);
        ok = EVP_DecodeUpdate(ctx, out, &n, (const unsigned char *)b, (int)(e - b)) >= 0 &&
             EVP_DecodeFinal(ctx, out + n, &tail) == 1;
    }
    EVP_ENCODE_CTX_free(ctx);
    if (!ok) {
        OPENSSL_cleanse(out, (size_t)(e - b) / 4 * 3 + 4);
        free(out);
        return NULL;
    }
    *ret_len = (size_t)n + (size_t)tail;
    return out;
}

/*
 * An unencrypted OpenSSH-format Ed25519 key: the only OpenSSH-format keys
 * decoded here (an encrypted one needs bcrypt_pbkdf, which libssh2 has and
 * OpenSSL 3.0 does not).
 */
static void decode_openssh(struct nm_identity *id)
{
    size_t len = 0;
    unsigned char *raw = openssh_body(id->data, &len);
    if (!raw)
        return;
    struct reader r = {raw, raw + len}, priv;
    const unsigned char *kdf_options, *pub_blob, *section, *pk, *sk;
    uint32_t n_kdf_options, n_keys, n_blob, n_section, check1, check2, n_pk, n_sk;
    if (len < sizeof OPENSSH_MAGIC || memcmp(raw, OPENSSH_MAGIC, sizeof OPENSSH_MAGIC) != 0)
        goto out;
    r.p += sizeof OPENSSH_MAGIC; /* with its NUL */
    if (!string_is(&r, "none") || !string_is(&r, "none") ||
        !read_string(&r, &kdf_options, &n_kdf_options) || !read_u32(&r, &n_keys) || n_keys != 1 ||
        !read_string(&r, &pub_blob, &n_blob) || !read_string(&r, &section, &n_section))
        goto out;
    priv = (struct reader){section, section + n_section};
    if (!read_u32(&priv, &check1) || !read_u32(&priv, &check2) || check1 != check2 ||
        !string_is(&priv, ED25519_NAME) || !read_string(&priv, &pk, &n_pk) || n_pk != ED25519_LEN ||
        !read_string(&priv, &sk, &n_sk) || n_sk != 2 * ED25519_LEN ||
        memcmp(sk + ED25519_LEN, pk, ED25519_LEN) != 0)
        goto out;
    set_blob(id, pk);
    if (n_blob != id->blob_len || memcmp(pub_blob, id->blob, n_blob) != 0)
        goto out;
    /* The first half of the private string is the seed: RFC 8032's key. */
    EVP_PKEY *key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, sk, ED25519_LEN);
    unsigned char derived[ED25519_LEN];
    size_t n_derived = sizeof derived;
    if (key && EVP_PKEY_get_raw_public_key(key, derived, &n_derived) == 1 &&
        n_derived == ED25519_LEN && memcmp(derived, pk, ED25519_LEN) == 0) {
        id->pkey = key;
        key = NULL;
    }
    EVP_PKEY_free(key);
out:
    OPENSSL_cleanse(raw, len);
    free(raw);
}

/* Never prompts: the passphrase is the run's or none. */
static int pem_passphrase(char *buf, int size, int rwflag, void *u)
{
    const char *pass = u;
    size_t n = pass ? strlen(pass) : 0;
    if (!pass || n > (size_t)size)
        return -1;
    memcpy(buf, pass, n);
    return (int)n;
}

/* PEM keys (PKCS#8, encrypted or not), which OpenSSL reads. */
static void decode_pem(struct nm_identity *id, const char *passphrase)
{
    BIO *bio = BIO_new_mem_buf(id->data, (int)id->len);
    if (!bio)
        return;
    EVP_PKEY *key =
        PEM_read_bio_PrivateKey(bio, NULL, pem_passphrase, (void *)(uintptr_t)passphrase);
    BIO_free(bio);
    unsigned char pub[ED25519_LEN];
    size_t n = sizeof pub;
    if (key && EVP_PKEY_get_id(key) == EVP_PKEY_ED25519 &&
        EVP_PKEY_get_raw_public_key(key, pub, &n) == 1 && n == ED25519_LEN) {
        set_blob(id, pub);
        id->pkey = key;
        key = NULL;
    }
    EVP_PKEY_free(key);
    /* A key OpenSSL could not read is libssh2's to try: no stale errors. */
    ERR_clear_error();
}

static bool data_encrypted(const char *data)
{
    if (strstr(data, "ENCRYPTED"))
        return true;
    /* openssh-key-v1: the cipher name follows the magic; "none" = clear.
     * Its base64 starts "b3BlbnNzaC1rZXktdjEAAAAABG5vbmU" for none. */
    return strstr(data, OPENSSH_BEGIN) && !strstr(data, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmU");
}

static struct nm_identity *identity_load(const char *path, const char *passphrase)
{
    struct nm_identity *id = nm_xcalloc(1, sizeof *id);
    if (access(path, R_OK) != 0) {
        id->read_errno = errno;
        return id;
    }
    nm_diag d;
    if (nm_read_file(path, KEY_FILE_CAP, &id->data, &id->len, &d) < 0) {
        id->read_errno = errno ? errno : EIO;
        return id;
    }
    id->encrypted = data_encrypted(id->data);
    if (strstr(id->data, OPENSSH_BEGIN)) {
        if (!id->encrypted)
            decode_openssh(id);
    } else if (strstr(id->data, "-----BEGIN ")) {
        decode_pem(id, passphrase);
    }
    return id;
}

static void identity_free(struct nm_identity *id)
{
    if (!id)
        return;
    if (id->data) {
        OPENSSL_cleanse(id->data, id->len);
        free(id->data);
    }
    EVP_PKEY_free(id->pkey); /* OpenSSL clears the key material */
    free(id);
}

struct nm_identity_set *nm_identity_set_create(const char *passphrase)
{
    struct nm_identity_set *set = nm_xcalloc(1, sizeof *set);
    pthread_mutex_init(&set->lock, NULL);
    set->passphrase = passphrase;
    return set;
}

void nm_identity_set_destroy(struct nm_identity_set *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        free(set->entries[i].path);
        identity_free(set->entries[i].id);
    }
    free(set->entries);
    pthread_mutex_destroy(&set->lock);
    free(set);
}

struct nm_identity *nm_identity_set_get(struct nm_identity_set *set, const char *path)
{
    struct nm_identity *id = NULL;
    pthread_mutex_lock(&set->lock);
    for (size_t i = 0; i < set->n && !id; i++)
        if (strcmp(set->entries[i].path, path) == 0)
            id = set->entries[i].id;
    if (!id) {
        /* Loaded under the lock: the sessions that need the same key wait
         * for this one read instead of each reading it. */
        id = identity_load(path, set->passphrase);
        set->entries = nm_xreallocarray(set->entries, set->n + 1, sizeof *set->entries);
        set->entries[set->n++] = (struct entry){nm_xstrdup(path), id};
    }
    pthread_mutex_unlock(&set->lock);
    return id;
}

int nm_identity_read_errno(const struct nm_identity *id)
{
    return id->read_errno;
}

bool nm_identity_encrypted(const struct nm_identity *id)
{
    return id->encrypted;
}

bool nm_identity_decoded(const struct nm_identity *id)
{
    return id->pkey != NULL;
}

/*
 * libssh2 asks for the raw signature (for Ed25519 the 64 bytes of RFC 8032)
 * and frees it with the session's allocator: the sessions are created with
 * the default one, malloc/free.
 */
static LIBSSH2_USERAUTH_PUBLICKEY_SIGN_FUNC(sign_ed25519)
{
    const struct nm_identity *id = *abstract;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *out = malloc(ED25519_SIG);
    size_t n = ED25519_SIG;
    int rc = -1;
    if (md && out && EVP_DigestSignInit_ex(md, NULL, NULL, NULL, NULL, id->pkey, NULL) == 1 &&
        EVP_DigestSign(md, out, &n, data, data_len) == 1) {
        *sig = out;
        *sig_len = n;
        out = NULL;
        rc = 0;
    }
    free(out);
    EVP_MD_CTX_free(md);
    return rc;
}

int nm_identity_userauth(struct nm_identity *id, LIBSSH2_SESSION *session, const char *user,
                         const char *passphrase)
{
    if (id->pkey) {
        void *abstract = id;
        return libssh2_userauth_publickey(session, user, id->blob, id->blob_len, sign_ed25519,
                                          &abstract);
    }
    return libssh2_userauth_publickey_frommemory(session, user, strlen(user), NULL, 0, id->data,
                                                 id->len, passphrase);
}
