/*
 * Shared connections to jump hosts.  Hosts behind the same bastion (same hop
 * chain, user, address, port, identities, known_hosts and HostKeyAlias) borrow
 * one logged-in connection to it and open their direct-tcpip channels on it,
 * instead of logging in to the bastion once per host.  A connection carries
 * at most NM_BASTION_CHANNELS channels at a time; when all are busy another
 * connection is opened, up to NM_BASTION_CONNECTIONS per bastion, and past
 * that a host waits for a free channel within its own deadline.
 *
 * One pool serves one scan: create it before the workers start, hand it to
 * every nm_ssh_run() (nm_ssh_target.bastions), destroy it after they have
 * all returned; destroying logs out of every bastion still connected.
 */
#ifndef NEARMISS_BASTION_H
#define NEARMISS_BASTION_H

/*
 * Why 8: every channel of a connection shares one TCP stream and one sshd
 * process on the bastion (which does the crypto of all of them), and here one
 * lock (libssh2 sessions are not thread-safe), so a host that floods its
 * channel slows the others on it; and a dropped connection fails every host
 * on it at once.  8 keeps both effects small while cutting the bastion's
 * logins eightfold.  (sshd's MaxSessions does not count forwarded channels,
 * so the bastion sets no limit here: this one is nearmiss's own.)
 */
#define NM_BASTION_CHANNELS 8
/* Connections to one bastion at once: 16 x 8 channels covers 128 jobs. */
#define NM_BASTION_CONNECTIONS 16

struct nm_bastion_pool;

struct nm_bastion_pool *nm_bastion_pool_create(void);
/* Closes every connection still open (politely, with a short fuse) and
 * frees the pool.  Only when no nm_ssh_run() is using it.  NULL is fine. */
void nm_bastion_pool_destroy(struct nm_bastion_pool *p);

#endif
