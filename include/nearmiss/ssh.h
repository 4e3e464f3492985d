/*
 * Transport: one SSH session per host (libssh2), host key verified against
 * known_hosts before anything is sent, public-key auth only, then ONE exec
 * channel running "/bin/sh -s" with the probe script on its stdin.  Output
 * goes straight into the caller's splitter as it arrives.
 *
 * Everything runs non-blocking against one absolute deadline, so a host that
 * stalls at any step (TCP, banner, kex, auth, output) costs at most its own
 * deadline.  The deadline is enforced inside libssh2's own socket reads and
 * writes too, so a peer that never lets libssh2 see EAGAIN (endless lines
 * before the banner, a packet stream) cannot outlive it either, and a byte
 * cap bounds what a peer can make libssh2 buffer.  Through jump hosts, each
 * inner session's socket callbacks read and write the previous session's
 * direct-tcpip channel, in the same thread, so the one deadline and the caps
 * hold on every hop.  With a bastion pool (nearmiss/bastion.h) the jump
 * hosts' sessions are shared between hosts, each host's session running over
 * its own channel of a shared connection; every libssh2 call on a shared
 * session is made under that connection's lock, by the host's own thread,
 * within its own deadline.  Call nm_ssh_global_init() once before starting
 * threads; after that nm_ssh_run() may be called from many threads at once (one session each; the
 * known_hosts set is internally locked).
 */
#ifndef NEARMISS_SSH_H
#define NEARMISS_SSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nearmiss/identity.h"
#include "nearmiss/knownhosts.h"
#include "nearmiss/model.h"
#include "nearmiss/script.h"

#define NM_SSH_MAX_JUMPS 8

/* One jump host on the way (ssh's ProxyJump): reached through the previous
 * one with a direct-tcpip channel, its key verified like the target's. */
struct nm_ssh_hop {
    const char *name;    /* as written in ProxyJump, for messages */
    const char *address; /* what the previous hop connects to */
    int port;
    const char *user;
    const char *const *identities; /* tried in order after the agent */
    size_t n_identities;
    bool use_agent;            /* ssh-agent first (with no identities: then ~/.ssh/id_*) */
    const char *hostkey_alias; /* known_hosts name instead of address:port; NULL = none */
    struct nm_known_hosts *known_hosts;
    const char *known_hosts_path;
    int connect_timeout_s; /* 0 = the host's deadline alone */
};

struct nm_ssh_target {
    const char *name;    /* inventory name, for messages */
    const char *address; /* what we connect to and look up in known_hosts */
    int port;
    const char *user;
    /* When identities is NULL: identity alone, or with identity NULL too,
     * ssh-agent then ~/.ssh/id_{ed25519,ecdsa,rsa}. */
    const char *identity;
    const char *const *identities; /* as nm_ssh_hop */
    size_t n_identities;
    bool use_agent;
    const char *hostkey_alias;
    int connect_timeout_s;
    const struct nm_ssh_hop *jumps; /* first to last; the target is reached from the last */
    size_t n_jumps;
    const char *passphrase; /* for an encrypted identity; NULL = none */
    /* The run's keys, each read once (nearmiss/identity.h); NULL: the
     * session reads its key file itself. */
    struct nm_identity_set *keys;
    struct nm_known_hosts *known_hosts;
    const char *known_hosts_path;
    bool accept_new;     /* trust on first use: append unknown keys */
    /* Shared connections to the jump hosts (nearmiss/bastion.h); NULL: this
     * host logs in to each hop itself. */
    struct nm_bastion_pool *bastions;
    uint64_t output_cap; /* bytes of output the caller keeps (its splitter's cap) */
};

struct nm_ssh_result {
    enum nm_host_status status;
    char error[768]; /* what happened and what to do; "" when ok */
    char hostkey_type[48];
    char hostkey_fingerprint[80];
    bool hostkey_added;   /* --accept-new wrote it */
    int exit_status;      /* of the remote sh; -1 unknown */
    bool output_capped;   /* the per-host cap cut the output */
    bool connection_lost; /* the session broke after the command started */
    uint64_t bytes_received;
    int64_t connect_ms; /* TCP + SSH handshake + auth */
    /* The phases of connect_ms, -1 when the phase did not complete:
     * reach_ms DNS, TCP and the jump hosts, until the target's byte stream
     * was open; login_ms the target's key exchange, host key check and
     * authentication. */
    int64_t reach_ms;
    int64_t login_ms;
    int64_t total_ms;
};

/*
 * Terrapin (CVE-2023-48795): a man in the middle can drop the first messages
 * after key exchange when the cipher is chacha20-poly1305 or the MAC is an
 * encrypt-then-MAC one (*-etm@openssh.com), unless both sides use "strict key
 * exchange" (libssh2 >= 1.11.1).  Without it, nearmiss offers only ciphers
 * and MACs the attack does not affect: AES-GCM, AES-CTR, and non-EtM HMACs.
 *
 * nm_ssh_has_strict_kex(): whether the libssh2 in use implements it.
 * nm_ssh_safe_methods(): for method LIBSSH2_METHOD_CRYPT_CS/SC or
 * LIBSSH2_METHOD_MAC_CS/SC, the Terrapin-safe names among `supported`, in
 * nearmiss's order of preference, comma-separated into buf; 0, or
 * NM_ERR_NOTFOUND when none is supported (then leave the library's list),
 * NM_ERR_TOOBIG when buf is too small.
 */
bool nm_ssh_has_strict_kex(void);
int nm_ssh_safe_methods(int method, const char *const *supported, int n_supported, char *buf,
                        size_t buflen);

int nm_ssh_global_init(void);
void nm_ssh_global_finish(void);

/*
 * Runs script on the target and feeds both output streams into sp.  Always
 * fills *res (status and message); returns 0 when the script ran to its
 * end, a negative code otherwise (the status says which way it failed).
 * deadline_ms is on the nm_now_ms() clock.
 */
int nm_ssh_run(const struct nm_ssh_target *t, const char *script, size_t script_len,
               int64_t deadline_ms, struct nm_splitter *sp, struct nm_ssh_result *res);

#endif
