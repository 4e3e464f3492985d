/*
 * Identities: the private keys a run authenticates with.  Each distinct key
 * file is read once per run, on first use, into a set shared by every
 * session; a key this module can sign with itself (Ed25519, in the OpenSSH
 * format without a passphrase or in PEM/PKCS#8 with or without one) is also
 * decoded once, and each session only signs.  Any other key (an encrypted
 * OpenSSH key, ECDSA, RSA) is handed to libssh2 from memory, which decodes
 * it again for every session but no longer re-reads the file.
 *
 * The set copies nothing from its callers but the path names; the
 * passphrase given at creation is borrowed and must outlive the set.  Key
 * bytes and decoded keys are wiped when the set is destroyed.  All functions
 * but create/destroy may be called from many threads at once.
 */
#ifndef NEARMISS_IDENTITY_H
#define NEARMISS_IDENTITY_H

#include <libssh2.h>
#include <stdbool.h>

struct nm_identity;
struct nm_identity_set;

/* passphrase: for encrypted keys, NULL = none; borrowed. */
struct nm_identity_set *nm_identity_set_create(const char *passphrase);
void nm_identity_set_destroy(struct nm_identity_set *set);

/* The identity of the key file at path, read on the first call for that
 * path; never NULL (an unreadable file gives an identity that says so). */
struct nm_identity *nm_identity_set_get(struct nm_identity_set *set, const char *path);

/* 0 when the file was read, else the errno of the failure. */
int nm_identity_read_errno(const struct nm_identity *id);
/* The file holds an encrypted key (OpenSSH or PEM formats). */
bool nm_identity_encrypted(const struct nm_identity *id);
/* Decoded once: sessions sign without libssh2 decoding the key again. */
bool nm_identity_decoded(const struct nm_identity *id);

/*
 * One step of public key authentication of user with id on a non-blocking
 * session: returns what libssh2 returns (0, LIBSSH2_ERROR_EAGAIN to be
 * called again when the socket is ready, or another negative code).
 * passphrase is used only for keys libssh2 decodes itself.
 */
int nm_identity_userauth(struct nm_identity *id, LIBSSH2_SESSION *session, const char *user,
                         const char *passphrase);

#endif
