#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <fcntl.h>
#include <libssh2.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nearmiss/fiber.h"
#include "nearmiss/identity.h"
#include "nearmiss/resolve.h"
#include "nearmiss/safetext.h"
#include "nearmiss/ssh.h"
#include "nearmiss/util.h"
#include "transport/bastion.h"

/* How long teardown may take after the deadline: disconnect is a courtesy. */
#define NM_SSH_TEARDOWN_MS 500
#define NM_SSH_CHUNK       32768
/*
 * Bytes a peer may send before the session runs a command: text lines before
 * the banner (RFC 4253 4.2 allows them), the key exchange, an auth banner and
 * the auth replies.  A real server needs a few kilobytes; a peer that talks
 * on is not an SSH server worth waiting for.
 */
#define NM_SSH_PRESESSION_CAP (256u << 10)
/* Protocol overhead allowed on top of the output cap once the command runs. */
#define NM_SSH_OVERHEAD_CAP       (1u << 20)
#define NM_SSH_PREVIEW            96
#define NM_SSH_AHEAD              512
#define NM_SSH_DEFAULT_OUTPUT_CAP (64u << 20)
/*
 * A host whose bytes travel over a shared bastion connection cannot rely on
 * poll() alone: another session (on another thread, or a fiber of this one)
 * may read the socket and leave this host's data queued on its channel.  It
 * looks again at least this often, and at once when the connection has read
 * anything since its last look.
 */
#define NM_SSH_SHARED_SLICE_MS 20

/* Why the socket callbacks stopped serving libssh2. */
enum stop_reason {
    STOP_NONE,
    STOP_DEADLINE,
    STOP_CAP,
};

struct conn {
    const struct nm_ssh_target *t;
    const struct nm_ssh_hop *ep; /* the end this session talks to */
    struct nm_ssh_result *res;
    int64_t deadline;
    int fd; /* the TCP socket; for a tunnelled session the first hop's */
    LIBSSH2_SESSION *session;
    LIBSSH2_CHANNEL *channel;
    struct conn *outer;      /* the session this one is tunnelled through; NULL = direct */
    LIBSSH2_CHANNEL *tunnel; /* outer's direct-tcpip channel carrying this session */
    /* outer is a shared bastion connection: every call on its session is
     * made under via's lock (enter/leave). */
    struct nm_bastion *via;
    const char *via_name; /* the hop via reaches, as this host's ProxyJump names it */
    /* This session is a shared bastion connection's (its fields below are
     * then used under shared->lock, by whichever host holds it). */
    struct nm_bastion *shared;
    _Atomic uint64_t lent_cap; /* shared: the allowances of the hosts it carries */
    uint64_t granted;          /* what this session added to its outers' caps */
    uint64_t seen_gen;         /* the root connection's rx_gen at the last look */
    char prefix[320];          /* names the jump host in messages; "" for the target */
    /* Accounting by the socket callbacks, the one place every byte passes. */
    uint64_t received;
    uint64_t recv_cap;
    enum stop_reason stop;
    bool dead;        /* teardown out of time: the socket counts as gone */
    /* Sent on the socket with MSG_MORE and not pushed yet: see push(). */
    bool held;
    bool banner_seen; /* a line starting "SSH-" began */
    bool banner_done; /* ...and ended */
    bool line_may_be_banner;
    size_t line_pos;
    char preview[NM_SSH_PREVIEW]; /* the peer's first bytes, for "not SSH" */
    size_t n_preview;
    int64_t stream_at; /* nm_now_ms() when the byte stream to ep was open */
    /* Bytes read from the socket ahead of libssh2, which asks for the
     * banner one byte at a time (a recv per byte otherwise). */
    char ahead[NM_SSH_AHEAD];
    size_t ahead_pos, ahead_len;
    /* The last recv on the session's own socket took less than it asked
     * for: the socket was empty. */
    bool drained;
};

/* What the outer sessions carry is this session's traffic: their caps
 * follow its cap, plus their own framing.  A shared connection carries
 * many hosts' traffic: each adds its own allowance to its cap. */
static void raise_outer_caps(struct conn *c)
{
    uint64_t room = c->recv_cap - c->received;
    uint64_t total = c->recv_cap + c->recv_cap / 8 + NM_SSH_OVERHEAD_CAP;
    uint64_t more = total > c->granted ? total - c->granted : 0;
    c->granted += more;
    for (struct conn *o = c->outer; o; o = o->outer) {
        if (o->shared)
            atomic_fetch_add(&o->lent_cap, more);
        else
            o->recv_cap = o->received + room + room / 8 + NM_SSH_OVERHEAD_CAP;
    }
}

/* Takes the lock of the shared connection c is tunnelled through; until
 * leave(), its socket callbacks serve c's deadline. */
static int enter(struct conn *c, int64_t deadline)
{
    if (nm_bastion_lock(c->via, deadline) < 0)
        return NM_ERR_TIMEOUT;
    c->outer->deadline = deadline;
    return 0;
}

static void leave(struct conn *c)
{
    nm_bastion_unlock(c->via);
}

/* The connection carrying many hosts is gone: none of them may use it again,
 * and no new host is given it. */
static void mark_broken(struct conn *c)
{
    if (c->shared)
        atomic_store(&c->shared->broken, true);
}

/* Whether a shared connection on c's way broke; names its jump host. */
static const struct conn *broken_hop(const struct conn *c)
{
    for (const struct conn *o = c->outer; o; o = o->outer)
        if (o->shared && atomic_load(&o->shared->broken))
            return o;
    return NULL;
}

static int fail(struct conn *c, enum nm_host_status st, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct conn *c, enum nm_host_status st, int code, const char *fmt, ...)
{
    va_list ap;
    c->res->status = st;
    size_t n = (size_t)snprintf(c->res->error, sizeof c->res->error, "%s", c->prefix);
    if (n >= sizeof c->res->error)
        n = sizeof c->res->error - 1;
    va_start(ap, fmt);
    vsnprintf(c->res->error + n, sizeof c->res->error - n, fmt, ap);
    va_end(ap);
    /* Server text (methods, messages) lands here: keep it valid UTF-8. */
    nm_utf8_fix(c->res->error);
    return code;
}

/*
 * libssh2 reads and writes the socket only through these two.  Some of its
 * loops never return EAGAIN while data keeps coming (the banner loop skips
 * any number of non-SSH lines; the transport reads packet after packet), so
 * a deadline checked between libssh2 calls would never be checked.  Here it
 * is checked before every read and write: past it, libssh2 is told the
 * socket would block, returns EAGAIN, and the caller's wait sees the
 * deadline.  The byte cap bounds what a peer can make libssh2 buffer.
 */
/* Follows the stream until the "SSH-" line has ended, to tell a slow or
 * chatty SSH server from a service that is not SSH at all. */
static void note_banner_byte(struct conn *c, char ch)
{
    if (c->banner_seen) {
        c->banner_done = ch == '\n';
        return;
    }
    if (ch == '\n') {
        c->line_pos = 0;
        c->line_may_be_banner = true;
    } else if (c->line_may_be_banner && c->line_pos < 4 && ch == "SSH-"[c->line_pos]) {
        if (++c->line_pos == 4)
            c->banner_seen = true;
    } else {
        c->line_may_be_banner = false;
    }
}

static ssize_t serve_ahead(struct conn *c, void *buffer, size_t length)
{
    size_t k = c->ahead_len - c->ahead_pos;
    if (k > length)
        k = length;
    memcpy(buffer, c->ahead + c->ahead_pos, k);
    c->ahead_pos += k;
    return (ssize_t)k;
}

static LIBSSH2_RECV_FUNC(guarded_recv)
{
    struct conn *c = *abstract;
    if (c->dead)
        return -ECONNRESET;
    if (nm_now_ms() >= c->deadline) {
        c->stop = STOP_DEADLINE;
        return -EAGAIN;
    }
    uint64_t cap = c->recv_cap + (c->shared ? atomic_load(&c->lent_cap) : 0);
    if (c->received >= cap) {
        c->stop = STOP_CAP;
        mark_broken(c);
        return -ECONNABORTED;
    }
    if (c->ahead_pos < c->ahead_len)
        return serve_ahead(c, buffer, length);
    if (length > cap - c->received)
        length = (size_t)(cap - c->received);
    /* Until the banner has ended libssh2 reads a byte at a time: the socket
     * is read in bigger pieces, and what libssh2 did not ask for yet is
     * kept for its next calls (the same bytes, counted once, as they come
     * off the socket).  Only the session's own socket: libssh2's agent code
     * reads through this callback too. */
    bool own = !c->outer && socket == c->fd;
    bool ahead = own && !c->banner_done && length < sizeof c->ahead;
    void *want_buf = buffer;
    size_t want_len = length;
    if (ahead) {
        want_buf = c->ahead;
        want_len = sizeof c->ahead;
        if (want_len > cap - c->received)
            want_len = (size_t)(cap - c->received);
    }
    ssize_t n;
    if (c->outer) {
        /* The previous hop's channel is this session's socket. */
        if (c->via && enter(c, c->deadline) < 0) {
            c->stop = STOP_DEADLINE;
            return -EAGAIN;
        }
        n = libssh2_channel_read(c->tunnel, buffer, length);
        bool eof = n == 0 && libssh2_channel_eof(c->tunnel);
        if (c->via)
            leave(c);
        if (n == LIBSSH2_ERROR_EAGAIN)
            return -EAGAIN;
        if (n < 0 || eof) {
            mark_broken(c);
            return n < 0 ? -ECONNRESET : 0;
        }
        if (n == 0)
            return -EAGAIN;
    } else {
        /* libssh2 reads on until recv says EAGAIN.  Right after a recv that
         * emptied the socket that is (nearly) certain, and saying it here
         * saves the call: should bytes have come in since, the caller's
         * poll returns at once and the next read takes them. */
        if (own && c->drained) {
            c->drained = false;
            return -EAGAIN;
        }
        n = recv(socket, want_buf, want_len, flags);
        if (own)
            c->drained = n > 0 && (size_t)n < want_len;
        if (n < 0 && errno != EAGAIN && errno != EINTR)
            mark_broken(c);
        if (n < 0)
            return -errno;
        if (n == 0)
            mark_broken(c);
    }
    if (c->shared && n > 0)
        atomic_fetch_add(&c->shared->rx_gen, 1);
    if (c->n_preview < sizeof c->preview) {
        size_t k = sizeof c->preview - c->n_preview;
        if (k > (size_t)n)
            k = (size_t)n;
        memcpy(c->preview + c->n_preview, want_buf, k);
        c->n_preview += k;
    }
    for (const char *b = want_buf; !c->banner_done && b < (const char *)want_buf + n; b++)
        note_banner_byte(c, *b);
    c->received += (uint64_t)n;
    if (ahead) {
        c->ahead_pos = 0;
        c->ahead_len = (size_t)n;
        return serve_ahead(c, buffer, length);
    }
    return n;
}

/*
 * A shared connection's sends always complete: libssh2 keeps one
 * half-sent packet per session and refuses any other packet until that one
 * is finished (LIBSSH2_ERROR_BAD_USE), so a packet left half-sent by one host
 * would break the connection for every host on it.  The packet is small (at
 * most one channel packet); a bastion that accepts none of it until the
 * holder's deadline (plus the teardown grace) is counted as gone.
 */
static ssize_t send_whole(struct conn *c, libssh2_socket_t socket, const void *buffer,
                          size_t length, int flags)
{
    int64_t limit = c->deadline + NM_SSH_TEARDOWN_MS;
    size_t done = 0;
    while (done < length) {
        ssize_t n;
        if (c->outer) {
            if (c->via && enter(c, limit) < 0)
                goto gone;
            n = libssh2_channel_write(c->tunnel, (const char *)buffer + done, length - done);
            if (c->via)
                leave(c);
            if (n == LIBSSH2_ERROR_EAGAIN)
                n = 0;
            else if (n < 0)
                goto gone;
        } else {
            n = send(socket, (const char *)buffer + done, length - done, flags | MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EINTR)
                goto gone;
            if (n < 0)
                n = 0;
        }
        done += (size_t)n;
        if (n == 0) {
            int64_t left = limit - nm_now_ms();
            if (left <= 0)
                goto gone;
            /* Room in the socket, or (tunnelled) a window adjustment. */
            struct pollfd p = {.fd = c->fd, .events = c->outer ? POLLIN : POLLOUT};
            nm_poll1(&p, (int)(left < NM_SSH_SHARED_SLICE_MS ? left : NM_SSH_SHARED_SLICE_MS));
        }
    }
    return (ssize_t)length;
gone:
    mark_broken(c);
    return -ECONNRESET;
}

static LIBSSH2_SEND_FUNC(guarded_send)
{
    struct conn *c = *abstract;
    if (c->dead)
        return -ECONNRESET;
    if (c->shared)
        return send_whole(c, socket, buffer, length, flags);
    if (nm_now_ms() >= c->deadline) {
        c->stop = STOP_DEADLINE;
        return -EAGAIN;
    }
    if (c->outer) {
        if (c->via && enter(c, c->deadline) < 0) {
            c->stop = STOP_DEADLINE;
            return -EAGAIN;
        }
        ssize_t n = libssh2_channel_write(c->tunnel, buffer, length);
        if (c->via)
            leave(c);
        if (n == LIBSSH2_ERROR_EAGAIN)
            return -EAGAIN;
        return n < 0 ? -ECONNRESET : n;
    }
    /* Every packet on the session's own socket is held (MSG_MORE) until
     * the session waits for the host (push()): packets libssh2 sends back
     * to back (NEWKEYS and the service request, the script and its EOF,
     * the goodbye and the FIN that close() adds) leave in one segment, and
     * the host wakes once for them.  Not the agent's socket. */
    bool own = socket == c->fd;
    ssize_t n = send(socket, buffer, length, flags | MSG_NOSIGNAL | (own ? MSG_MORE : 0));
    if (n > 0 && own)
        c->held = true;
    return n < 0 ? -errno : n;
}

/* What guarded_send held goes out now: setting TCP_NODELAY (already set)
 * pushes the pending segments.  Called before every wait for the host,
 * which may be waiting for them; the kernel would send them within 200 ms
 * anyway, and close() sends them with the FIN. */
static void push(struct conn *c)
{
    if (!c->held)
        return;
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->held = false;
}

static const char *ssh_errmsg(LIBSSH2_SESSION *s)
{
    char *msg = NULL;
    if (!s)
        return "no session";
    libssh2_session_last_error(s, &msg, NULL, 0);
    return msg && *msg ? msg : "unknown libssh2 error";
}

int nm_ssh_global_init(void)
{
    return libssh2_init(0) == 0 ? 0 : NM_ERR_SSH;
}

void nm_ssh_global_finish(void)
{
    libssh2_exit();
}

/*
 * Waits until the socket is ready in the direction libssh2 is blocked on, or
 * the deadline passes.  Polls at most 1 s at a time so a clock jump or a
 * missed wakeup cannot keep a worker past its deadline for long.
 */
static int wait_socket(struct conn *c, int64_t deadline)
{
    struct pollfd p = {.fd = c->fd, .events = 0};
    /* A direct session sleeps until its socket is ready or its deadline:
     * nothing else can need it, and a shorter step only wakes the thread
     * (about four times a host, a fifth of all its polls) for nothing. */
    int64_t step = INT_MAX;
    const struct conn *root = c;
    /* A tunnelled session waits on the one real socket, in the directions
     * any session on the way is blocked in; a channel window or a packet
     * already buffered by an outer session is not visible to poll, so the
     * wait is short and the caller simply retries.  A shared connection's
     * state is other threads' too: not read here (its sends never block). */
    for (struct conn *k = c; k; k = k->outer) {
        root = k;
        if (!k->outer && !k->shared)
            push(k); /* a shared connection's sends are never held */
        if (k->shared && k != c)
            continue;
        int dir = k->session ? libssh2_session_block_directions(k->session) : 0;
        if (dir & LIBSSH2_SESSION_BLOCK_INBOUND)
            p.events |= POLLIN;
        if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
            p.events |= POLLOUT;
    }
    if (c->outer) {
        p.events |= POLLIN;
        step = 50;
    }
    if (!p.events)
        p.events = POLLIN;
    int64_t left = deadline - nm_now_ms();
    if (left <= 0)
        return NM_ERR_TIMEOUT;
    if (root->shared && root != c) {
        uint64_t gen = atomic_load(&root->shared->rx_gen);
        if (gen != c->seen_gen) {
            c->seen_gen = gen;
            return 0; /* it read something since: maybe ours */
        }
        step = NM_SSH_SHARED_SLICE_MS;
    }
    int r = nm_poll1(&p, (int)(left < step ? left : step));
    if (r < 0 && errno != EINTR)
        return NM_ERR_IO;
    return 0;
}

/* Repeats a non-blocking libssh2 call until it stops saying EAGAIN. */
#define SSH_RETRY(c, rc, call)                                                                     \
    do {                                                                                           \
        while (((rc) = (call)) == LIBSSH2_ERROR_EAGAIN) {                                          \
            int w_ = wait_socket((c), (c)->deadline);                                              \
            if (w_ < 0) {                                                                          \
                (rc) = w_ == NM_ERR_TIMEOUT ? LIBSSH2_ERROR_TIMEOUT : LIBSSH2_ERROR_SOCKET_RECV;   \
                break;                                                                             \
            }                                                                                      \
        }                                                                                          \
    } while (0)

static int timeout_fail(struct conn *c, const char *stage)
{
    return fail(c, NM_HOST_TIMEOUT, NM_ERR_TIMEOUT,
                "host deadline reached during %s; the host answered too slowly or hung "
                "(raise --timeout if it is merely slow)",
                stage);
}

/* The deadline of connecting: ConnectTimeout when it comes first. */
static int64_t connect_deadline(const struct conn *c)
{
    if (c->ep->connect_timeout_s <= 0)
        return c->deadline;
    int64_t t = nm_now_ms() + (int64_t)c->ep->connect_timeout_s * 1000;
    return t < c->deadline ? t : c->deadline;
}

static int connect_tcp(struct conn *c)
{
    int64_t limit = connect_deadline(c);
    char port[16];
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    snprintf(port, sizeof port, "%d", c->ep->port);
    /* The lookup shares the host's deadline; numeric addresses never touch
     * the resolver. */
    int gr = 0, rr = nm_resolve(c->ep->address, port, &hints, c->deadline, &res, &gr);
    if (rr == NM_ERR_TIMEOUT)
        return fail(c, NM_HOST_TIMEOUT, NM_ERR_TIMEOUT,
                    "host deadline reached resolving %s: the DNS resolver did not answer in time",
                    c->ep->address);
    if (rr < 0)
        return fail(c, NM_HOST_UNREACHABLE, NM_ERR_CONNECT, "cannot resolve %s: %s", c->ep->address,
                    gai_strerror(gr));
    int last_errno = 0;
    bool timed_out = false;
    for (struct addrinfo *ai = res; ai && c->fd < 0; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last_errno = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
            last_errno = errno;
            close(fd);
            continue;
        }
        for (;;) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            int64_t left = limit - nm_now_ms();
            if (left <= 0) {
                timed_out = true;
                break;
            }
            int pr = nm_poll1(&p, (int)(left < 1000 ? left : 1000));
            if (pr < 0 && errno != EINTR) {
                last_errno = errno;
                break;
            }
            if (pr > 0) {
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err == 0) {
                    c->fd = fd;
                    fd = -1;
                } else {
                    last_errno = err;
                }
                break;
            }
        }
        if (fd >= 0)
            close(fd);
        if (timed_out)
            break;
    }
    freeaddrinfo(res);
    if (c->fd >= 0) {
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        return 0;
    }
    if (timed_out)
        return fail(c, NM_HOST_UNREACHABLE, NM_ERR_CONNECT,
                    "no answer from %s port %d before the %s (filtered or down)", c->ep->address,
                    c->ep->port, limit < c->deadline ? "ConnectTimeout" : "host deadline");
    return fail(c, NM_HOST_UNREACHABLE, NM_ERR_CONNECT, "cannot connect to %s port %d: %s",
                c->ep->address, c->ep->port, strerror(last_errno ? last_errno : ECONNREFUSED));
}

/* The name and port known_hosts is asked about: HostKeyAlias verbatim, as
 * ssh looks it up, else the address ([address]:port off port 22). */
static const char *kh_name(const struct conn *c, int *ret_port)
{
    if (c->ep->hostkey_alias) {
        *ret_port = 22;
        return c->ep->hostkey_alias;
    }
    *ret_port = c->ep->port;
    return c->ep->address;
}

static const char *kh_display(const struct conn *c, char *buf, size_t len)
{
    if (c->ep->hostkey_alias)
        snprintf(buf, len, "%s (HostKeyAlias)", c->ep->hostkey_alias);
    else if (c->ep->port == 22)
        snprintf(buf, len, "%s", c->ep->address);
    else
        snprintf(buf, len, "[%s]:%d", c->ep->address, c->ep->port);
    return buf;
}

static int verify_hostkey(struct conn *c)
{
    size_t len = 0;
    int type = 0;
    const char *key = libssh2_session_hostkey(c->session, &len, &type);
    char who[300];
    if (!key || len == 0)
        return fail(c, NM_HOST_ERROR, NM_ERR_SSH, "server sent no host key");
    const unsigned char *blob = (const unsigned char *)key;
    nm_hostkey_type_name(blob, len, c->res->hostkey_type, sizeof c->res->hostkey_type);
    nm_hostkey_fingerprint(blob, len, c->res->hostkey_fingerprint,
                           sizeof c->res->hostkey_fingerprint);
    kh_display(c, who, sizeof who);

    int kport;
    const char *kname = kh_name(c, &kport);
    struct nm_hostkey_check v;
    nm_known_hosts_verify(c->ep->known_hosts, kname, kport, blob, len, &v);
    switch (v.verdict) {
    case NM_HOSTKEY_MATCH:
        return 0;
    case NM_HOSTKEY_REVOKED:
        return fail(c, NM_HOST_HOSTKEY_MISMATCH, NM_ERR_HOSTKEY_MISMATCH,
                    "host key %s %s of %s is marked @revoked in %s:%zu; not scanned",
                    c->res->hostkey_type, c->res->hostkey_fingerprint, who, v.at.file, v.at.line);
    case NM_HOSTKEY_MISMATCH:
        return fail(c, NM_HOST_HOSTKEY_MISMATCH, NM_ERR_HOSTKEY_MISMATCH,
                    "HOST KEY CHANGED: %s offered %s %s but %s:%zu holds another key for it; "
                    "not scanned. If the change is expected (reinstall, key rotation), verify "
                    "the new fingerprint out of band, then run: ssh-keygen -R '%s' -f %s "
                    "and add the new key",
                    who, c->res->hostkey_type, c->res->hostkey_fingerprint, v.at.file, v.at.line,
                    who, v.at.file);
    case NM_HOSTKEY_UNKNOWN:
        break;
    }
    if (c->t->accept_new) {
        nm_diag d;
        if (nm_known_hosts_append(c->ep->known_hosts, c->ep->known_hosts_path, kname, kport, blob,
                                  len, &d) < 0)
            return fail(c, NM_HOST_HOSTKEY_UNKNOWN, NM_ERR_HOSTKEY_UNKNOWN,
                        "host key of %s unknown and could not be recorded: %s", who, d.msg);
        c->res->hostkey_added = true;
        return 0;
    }
    if (v.ca.line && strstr(c->res->hostkey_type, "-cert-v01@openssh.com"))
        /* A libssh2 newer than the one documented may agree on one. */
        return fail(c, NM_HOST_HOSTKEY_UNKNOWN, NM_ERR_HOSTKEY_UNKNOWN,
                    "host key unknown: %s presented a host certificate (%s), trusted through "
                    "@cert-authority in %s:%zu; nearmiss does not verify certificates: add the "
                    "host's plain key to %s after verifying it out of band",
                    who, c->res->hostkey_type, v.ca.file, v.ca.line, c->ep->known_hosts_path);
    if (v.ca.line)
        /* libssh2 never agrees on a *-cert-v01@openssh.com host key
         * algorithm (docs/ssh-config.md), so the server showed a plain key. */
        return fail(c, NM_HOST_HOSTKEY_UNKNOWN, NM_ERR_HOSTKEY_UNKNOWN,
                    "host key unknown: %s is trusted through @cert-authority in %s:%zu, which "
                    "libssh2 %s cannot verify (no certificate host key algorithms); add its key "
                    "(%s %s) to %s after verifying it out of band (ssh-keyscan -p %d %s >> %s), "
                    "or rescan once with --accept-new",
                    who, v.ca.file, v.ca.line, libssh2_version(0), c->res->hostkey_type,
                    c->res->hostkey_fingerprint, c->ep->known_hosts_path, c->ep->port,
                    c->ep->address, c->ep->known_hosts_path);
    return fail(c, NM_HOST_HOSTKEY_UNKNOWN, NM_ERR_HOSTKEY_UNKNOWN,
                "host key of %s is not in %s (offered %s %s); not scanned. Verify the "
                "fingerprint out of band, then add it (ssh-keyscan -p %d %s >> %s) or "
                "rescan once with --accept-new",
                who, c->ep->known_hosts_path, c->res->hostkey_type, c->res->hostkey_fingerprint,
                c->ep->port, c->ep->address, c->ep->known_hosts_path);
}

static int auth_with_file(struct conn *c, const char *path, bool *tried)
{
    int rc;
    /* Without the run's set, the key is read for this session alone. */
    struct nm_identity_set *own = c->t->keys ? NULL : nm_identity_set_create(c->t->passphrase);
    struct nm_identity *id = nm_identity_set_get(own ? own : c->t->keys, path);
    if (nm_identity_read_errno(id)) {
        errno = nm_identity_read_errno(id);
        rc = -1;
    } else if (nm_identity_encrypted(id) && !c->t->passphrase) {
        fail(c, NM_HOST_AUTH_FAILED, NM_ERR_AUTH,
             "identity %s is encrypted and no passphrase was given (use --passphrase-file, "
             "or load the key into ssh-agent)",
             path);
        rc = -2;
    } else {
        *tried = true;
        SSH_RETRY(c, rc, nm_identity_userauth(id, c->session, c->ep->user, c->t->passphrase));
    }
    int saved = errno;
    nm_identity_set_destroy(own);
    errno = saved;
    return rc;
}

static int auth_with_agent(struct conn *c, int *ret_keys)
{
    const char *sock = getenv("SSH_AUTH_SOCK");
    LIBSSH2_AGENT *agent;
    int rc = -1, keys = 0;
    if (!sock || !*sock)
        return -1;
    agent = libssh2_agent_init(c->session);
    if (!agent)
        return -1;
    /* The agent socket is local and answers at once; libssh2 talks to it
     * blocking, which is acceptable (the other sessions of this thread,
     * nearmiss/fiber.h, wait as long).  The signature exchange with the
     * server is the part that may EAGAIN. */
    if (libssh2_agent_connect(agent) == 0 && libssh2_agent_list_identities(agent) == 0) {
        struct libssh2_agent_publickey *id = NULL, *prev = NULL;
        while (libssh2_agent_get_identity(agent, &id, prev) == 0) {
            keys++;
            SSH_RETRY(c, rc, libssh2_agent_userauth(agent, c->ep->user, id));
            if (rc == 0 || rc == LIBSSH2_ERROR_TIMEOUT)
                break;
            prev = id;
        }
        libssh2_agent_disconnect(agent);
    }
    libssh2_agent_free(agent);
    *ret_keys = keys;
    return rc;
}

/*
 * The server's list of methods (a "none" request), asked only after the
 * keys failed: asking first would cost every host a round trip for a
 * list that only phrases an error.  Returns NULL when "none" itself was
 * accepted (then authenticated) or on failure (then *r is set).
 */
static char *auth_methods(struct conn *c, int *r)
{
    const char *user = c->ep->user;
    for (;;) {
        char *methods = libssh2_userauth_list(c->session, user, (unsigned)strlen(user));
        if (methods || libssh2_userauth_authenticated(c->session))
            return methods;
        if (libssh2_session_last_errno(c->session) != LIBSSH2_ERROR_EAGAIN) {
            *r = fail(c, NM_HOST_ERROR, NM_ERR_SSH, "userauth: %s", ssh_errmsg(c->session));
            return NULL;
        }
        if (wait_socket(c, c->deadline) < 0) {
            *r = timeout_fail(c, "authentication");
            return NULL;
        }
    }
}

static int authenticate(struct conn *c)
{
    const char *user = c->ep->user;
    struct nm_buf tried;
    nm_buf_init(&tried, 512);
    int rc = -1, r = 0;
    const struct nm_ssh_hop *ep = c->ep;
    if (ep->use_agent || ep->n_identities == 0) {
        int keys = 0;
        rc = auth_with_agent(c, &keys);
        if (rc == 0)
            goto out;
        if (rc == LIBSSH2_ERROR_TIMEOUT) {
            r = timeout_fail(c, "authentication");
            goto out;
        }
        if (keys)
            nm_buf_appendf(&tried, "ssh-agent (%d keys)", keys);
    }
    static const char *const defaults[] = {"~/.ssh/id_ed25519", "~/.ssh/id_ecdsa", "~/.ssh/id_rsa"};
    size_t n_files = ep->n_identities ? ep->n_identities : sizeof defaults / sizeof defaults[0];
    int missing = 0; /* errno of the one key asked for, unreadable */
    for (size_t i = 0; i < n_files; i++) {
        const char *shown = ep->n_identities ? ep->identities[i] : defaults[i];
        char *path = ep->n_identities ? nm_xstrdup(shown) : nm_expand_home(shown);
        bool used = false;
        rc = auth_with_file(c, path, &used);
        free(path);
        if (used)
            nm_buf_appendf(&tried, "%s%s", tried.len ? ", " : "", shown);
        if (rc == 0)
            goto out;
        if (rc == -2) {
            r = NM_ERR_AUTH;
            goto out;
        }
        if (rc == LIBSSH2_ERROR_TIMEOUT) {
            r = timeout_fail(c, "authentication");
            goto out;
        }
        if (!used && ep->n_identities == 1 && !ep->use_agent) {
            missing = errno ? errno : ENOENT;
            break;
        }
    }
    /* No key worked: the server's methods say why ("none" may even be
     * enough, on a server that asks for nothing). */
    char *methods = auth_methods(c, &r);
    if (!methods)
        goto out; /* r is 0 if "none" was accepted, else the failure */
    if (!strstr(methods, "publickey"))
        r = fail(c, NM_HOST_AUTH_FAILED, NM_ERR_AUTH,
                 "server accepts only \"%s\" for %s; nearmiss uses public keys only", methods,
                 user);
    else if (missing)
        /* The one key asked for is missing: say that, not "refused". */
        r = fail(c, NM_HOST_AUTH_FAILED, NM_ERR_AUTH, "identity %s is not readable: %s",
                 ep->identities[0], strerror(missing));
    else
        r = fail(c, NM_HOST_AUTH_FAILED, NM_ERR_AUTH,
                 "public key authentication as %s refused (tried: %s); check that the key is "
                 "in the user's authorized_keys",
                 user, tried.len ? tried.data : "no key: no agent, no ~/.ssh/id_*");
out:
    nm_buf_finish(&tried);
    return r;
}

/* The session broke after the command started: what arrived is kept and
 * judged by the caller, as for a timeout. */
static int lost(struct conn *c, const char *doing)
{
    c->res->connection_lost = true;
    return fail(c, NM_HOST_ERROR, NM_ERR_SSH,
                "connection lost while %s after %" PRIu64
                " bytes of output (%s); the probes that finished before were judged",
                doing, c->res->bytes_received, ssh_errmsg(c->session));
}

/*
 * Writes the script, reads both streams and feeds the splitter, all in one
 * loop: the remote may produce output before it has read the whole script,
 * and waiting on either side alone could deadlock on a full window.
 */
static int run_channel(struct conn *c, const char *script, size_t script_len,
                       struct nm_splitter *sp)
{
    int rc;
    for (;;) {
        c->channel = libssh2_channel_open_session(c->session);
        if (c->channel)
            break;
        if (libssh2_session_last_errno(c->session) != LIBSSH2_ERROR_EAGAIN)
            return fail(c, NM_HOST_ERROR, NM_ERR_SSH, "cannot open a channel: %s",
                        ssh_errmsg(c->session));
        if (wait_socket(c, c->deadline) < 0)
            return timeout_fail(c, "channel open");
    }
    SSH_RETRY(c, rc, libssh2_channel_exec(c->channel, "/bin/sh -s"));
    if (rc == LIBSSH2_ERROR_TIMEOUT)
        return timeout_fail(c, "exec");
    if (rc < 0)
        return fail(c, NM_HOST_ERROR, NM_ERR_SSH, "exec refused: %s", ssh_errmsg(c->session));
    /* From here the output cap bounds the data; the rest is framing. */
    c->recv_cap = c->received + (c->t->output_cap ? c->t->output_cap : NM_SSH_DEFAULT_OUTPUT_CAP) +
                  NM_SSH_OVERHEAD_CAP;
    raise_outer_caps(c);

    size_t sent = 0;
    bool eof_sent = false;
    char *buf = nm_xmalloc(NM_SSH_CHUNK);
    int ret = 0;
    for (;;) {
        bool progress = false;
        if (sent < script_len) {
            ssize_t w = libssh2_channel_write(c->channel, script + sent, script_len - sent);
            if (w > 0) {
                sent += (size_t)w;
                progress = true;
            } else if (w < 0 && w != LIBSSH2_ERROR_EAGAIN) {
                ret = lost(c, "sending the probe script");
                break;
            }
        } else if (!eof_sent) {
            int e = libssh2_channel_send_eof(c->channel);
            if (e == 0) {
                eof_sent = true;
                progress = true;
            } else if (e != LIBSSH2_ERROR_EAGAIN) {
                eof_sent = true; /* remote may have closed already; reading tells */
            }
        }
        /* Reading stdout drains the socket into libssh2's queue (its reads
         * go on until recv says EAGAIN); stderr, and another round, are only
         * worth asking for when data is left queued.  Each needless ask is a
         * recv that finds nothing, several per packet the host sends.  An
         * error from the queue check (a malformed packet) means "ask".  A
         * tunnelled session's bytes may wait in an outer session that this
         * check cannot see: it always asks. */
        bool quiet_ok = !c->outer && sent >= script_len && eof_sent;
        for (int stream = 0; stream < 2; stream++) {
            if (stream == 1 && quiet_ok && libssh2_poll_channel_read(c->channel, 1) == 0)
                continue;
            ssize_t n = libssh2_channel_read_ex(c->channel, stream, buf, NM_SSH_CHUNK);
            if (n > 0) {
                progress = true;
                c->res->bytes_received += (uint64_t)n;
                if (nm_splitter_feed(sp, stream, buf, (size_t)n) == NM_ERR_TOOBIG) {
                    /* The host flooded us: stop here, keep what was split. */
                    c->res->output_capped = true;
                    goto done;
                }
            } else if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
                if (c->stop == STOP_CAP) {
                    c->res->output_capped = true; /* framing without data: a flood too */
                    goto done;
                }
                ret = lost(c, "reading the output");
                goto done;
            }
        }
        if (libssh2_channel_eof(c->channel)) {
            /* Drain what is still queued on both streams, then stop. */
            if (!progress)
                break;
            continue;
        }
        if (!progress || (quiet_ok && libssh2_poll_channel_read(c->channel, 1) == 0)) {
            int w = wait_socket(c, c->deadline);
            if (w == NM_ERR_TIMEOUT) {
                ret = timeout_fail(c, "the probes (output incomplete)");
                break;
            }
        }
    }
done:
    free(buf);
    if (ret < 0)
        return ret;
    if (!c->res->output_capped) {
        /* Exit status arrives with the close; waiting for it is bounded. */
        SSH_RETRY(c, rc, libssh2_channel_close(c->channel));
        if (rc == 0)
            SSH_RETRY(c, rc, libssh2_channel_wait_closed(c->channel));
        if (rc == 0)
            c->res->exit_status = libssh2_channel_get_exit_status(c->channel);
    }
    return 0;
}

/* Every session on the way serves the goodbye: they share its deadline.  A
 * shared connection takes its holder's deadline under its lock (enter). */
static void set_deadline(struct conn *c, int64_t t)
{
    for (struct conn *k = c; k; k = k->outer) {
        k->deadline = t;
        if (k->via)
            break;
    }
}

static void teardown(struct conn *c)
{
    /* Politeness with a short fuse: a host that stopped answering must not
     * keep this worker.  libssh2 frees its state even if the goodbye fails. */
    int64_t grace = nm_now_ms() + NM_SSH_TEARDOWN_MS;
    int rc;
    if (c->channel) {
        set_deadline(c, grace);
        SSH_RETRY(c, rc, libssh2_channel_free(c->channel));
        c->channel = NULL;
    }
    if (c->session) {
        set_deadline(c, grace);
        SSH_RETRY(c, rc, libssh2_session_disconnect(c->session, "nearmiss scan done"));
        set_deadline(c, grace + NM_SSH_TEARDOWN_MS);
        SSH_RETRY(c, rc, libssh2_session_free(c->session));
        if (rc != 0) {
            /* Out of time: past the deadline the socket callbacks only say
             * EAGAIN, and libssh2 would keep the session for a goodbye that
             * never comes.  A dead socket makes it free everything now. */
            c->dead = true;
            libssh2_session_free(c->session);
        }
        c->session = NULL;
    }
    if (c->tunnel) {
        /* Left to the outer session's free when out of time. */
        int64_t t = grace + NM_SSH_TEARDOWN_MS;
        if (c->via) {
            /* The lock is given up while waiting: other hosts use it. */
            while (enter(c, t) == 0) {
                rc = libssh2_channel_free(c->tunnel);
                leave(c);
                if (rc != LIBSSH2_ERROR_EAGAIN || wait_socket(c, t) < 0)
                    break;
            }
        } else {
            set_deadline(c->outer, t);
            SSH_RETRY(c->outer, rc, libssh2_channel_free(c->tunnel));
        }
        c->tunnel = NULL;
    }
    if (!c->outer && c->fd >= 0)
        close(c->fd);
    c->fd = -1;
}

/* Stands for an open given up half way on a shared connection. */
static const char opener_gone;

/*
 * The previous hop opens a direct-tcpip channel to this hop's address, as
 * `ssh -W` does: the jump host resolves the name and connects.
 *
 * On a shared connection: libssh2 keeps the state of one channel open per
 * session, and the next call resumes it whatever its arguments, so opens
 * take turns (the opener slot).  One that is given up half way would hand
 * its channel to the next host's open: that connection opens nothing more
 * (it is retired; its hosts keep their channels).  NM_ERR_BUSY: open on
 * another connection instead.
 */
static int open_tunnel(struct conn *c)
{
    struct conn *o = c->outer;
    int64_t limit = connect_deadline(c);
    bool mine = false;
    char why[256] = "";
    for (;;) {
        int err = LIBSSH2_ERROR_EAGAIN;
        if (c->via) {
            if (enter(c, limit) < 0)
                goto out_of_time;
            void *holder = atomic_load(&c->via->opener);
            if (holder && holder != c) {
                leave(c);
                int64_t since = atomic_load(&c->via->opening_since);
                if (holder == &opener_gone ||
                    (since && nm_now_ms() - since > NM_BASTION_OPEN_PATIENCE_MS))
                    return NM_ERR_BUSY;
                goto wait;
            }
            atomic_store(&c->via->opener, c);
            mine = true;
        }
        c->tunnel = libssh2_channel_direct_tcpip_ex(o->session, c->ep->address, c->ep->port,
                                                    "127.0.0.1", 22);
        if (!c->tunnel) {
            err = libssh2_session_last_errno(o->session);
            if (err != LIBSSH2_ERROR_EAGAIN)
                snprintf(why, sizeof why, "%s", ssh_errmsg(o->session));
        }
        if (c->via) {
            if (c->tunnel || err != LIBSSH2_ERROR_EAGAIN) {
                atomic_store(&c->via->opening_since, 0);
                atomic_store(&c->via->opener, NULL);
                mine = false;
            } else if (!atomic_load(&c->via->opening_since)) {
                atomic_store(&c->via->opening_since, nm_now_ms());
            }
            leave(c);
        }
        if (c->tunnel)
            break;
        if (err != LIBSSH2_ERROR_EAGAIN)
            return fail(c, NM_HOST_UNREACHABLE, NM_ERR_CONNECT,
                        "jump host %s could not connect to %s port %d: %s (the jump host "
                        "resolves the name and opens the connection)",
                        c->via_name ? c->via_name : o->ep->name, c->ep->address, c->ep->port, why);
    wait:
        if (wait_socket(c->via ? c : o, limit) < 0) {
        out_of_time:
            if (mine) {
                atomic_store(&c->via->retired, true);
                atomic_store(&c->via->opener, (void *)&opener_gone);
            }
            if (limit < c->deadline)
                return fail(c, NM_HOST_UNREACHABLE, NM_ERR_CONNECT,
                            "jump host %s did not connect to %s port %d before the "
                            "ConnectTimeout",
                            c->via_name ? c->via_name : o->ep->name, c->ep->address, c->ep->port);
            return timeout_fail(c, "the connection through the jump host");
        }
    }
    c->fd = o->fd;
    return 0;
}

/*
 * Ask for a key type we can verify: without this the server picks its
 * preferred type, and a host known only by its RSA key would look "changed"
 * when it offers ed25519.  Only algorithms this libssh2 supports are passed
 * on: libssh2 1.10 removes unsupported names from a preference list with an
 * overlapping memcpy (undefined behaviour, seen under ASan).
 */
static void set_hostkey_preference(struct conn *c)
{
    char known[512];
    const char **supported = NULL;
    int kport;
    const char *kname = kh_name(c, &kport);
    if (nm_known_hosts_algorithms(c->ep->known_hosts, kname, kport, known, sizeof known) < 0 ||
        !known[0])
        return;
    int n = libssh2_session_supported_algs(c->session, LIBSSH2_METHOD_HOSTKEY, &supported);
    if (n <= 0)
        return;
    struct nm_buf pref;
    nm_buf_init(&pref, sizeof known);
    for (char *name = known, *comma; name; name = comma ? comma + 1 : NULL) {
        comma = strchr(name, ',');
        if (comma)
            *comma = '\0';
        for (int i = 0; i < n; i++)
            if (strcmp(supported[i], name) == 0) {
                nm_buf_appendf(&pref, "%s%s", pref.len ? "," : "", name);
                break;
            }
    }
    libssh2_free(c->session, supported);
    if (pref.len)
        libssh2_session_method_pref(c->session, LIBSSH2_METHOD_HOSTKEY, pref.data);
    nm_buf_finish(&pref);
}

bool nm_ssh_has_strict_kex(void)
{
    /* 1.11.1 added "kex-strict-c-v00@openssh.com"; asked at run time, since
     * the shared library may be newer than the headers we built with. */
    return libssh2_version(0x010b01) != NULL;
}

int nm_ssh_safe_methods(int method, const char *const *supported, int n_supported, char *buf,
                        size_t buflen)
{
    /* Most preferred first.  Not affected by Terrapin: AEAD AES-GCM, and
     * AES-CTR with encrypt-and-MAC HMACs.  chacha20-poly1305, every
     * *-etm@openssh.com MAC and CBC modes are left out; SHA-1 stays last for
     * old servers (HMAC-SHA1 is not broken as a MAC). */
    static const char *const ciphers[] = {"aes256-gcm@openssh.com",
                                          "aes128-gcm@openssh.com",
                                          "aes256-ctr",
                                          "aes192-ctr",
                                          "aes128-ctr",
                                          NULL};
    static const char *const macs[] = {"hmac-sha2-256", "hmac-sha2-512", "hmac-sha1", NULL};
    const char *const *safe;
    switch (method) {
    case LIBSSH2_METHOD_CRYPT_CS:
    case LIBSSH2_METHOD_CRYPT_SC:
        safe = ciphers;
        break;
    case LIBSSH2_METHOD_MAC_CS:
    case LIBSSH2_METHOD_MAC_SC:
        safe = macs;
        break;
    default:
        return NM_ERR_INVAL;
    }
    struct nm_buf b;
    nm_buf_init(&b, buflen ? buflen - 1 : 0);
    int r = 0;
    for (size_t i = 0; safe[i] && r == 0; i++)
        for (int k = 0; k < n_supported; k++)
            if (strcmp(safe[i], supported[k]) == 0) {
                r = nm_buf_appendf(&b, "%s%s", b.len ? "," : "", safe[i]);
                break;
            }
    if (r == 0 && b.len == 0)
        r = NM_ERR_NOTFOUND;
    if (r == 0)
        memcpy(buf, b.data, b.len + 1);
    nm_buf_finish(&b);
    return r;
}

/* Without strict key exchange, offer only what Terrapin cannot exploit
 * (see nm_ssh_safe_methods); the names must be ones this libssh2 knows, for
 * the same reason as in set_hostkey_preference. */
static void set_terrapin_safe_preference(struct conn *c)
{
    static const int methods[] = {LIBSSH2_METHOD_CRYPT_CS, LIBSSH2_METHOD_CRYPT_SC,
                                  LIBSSH2_METHOD_MAC_CS, LIBSSH2_METHOD_MAC_SC};
    if (nm_ssh_has_strict_kex())
        return;
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        const char **supported = NULL;
        char list[256];
        int n = libssh2_session_supported_algs(c->session, methods[i], &supported);
        if (n <= 0)
            continue;
        if (nm_ssh_safe_methods(methods[i], supported, n, list, sizeof list) == 0)
            libssh2_session_method_pref(c->session, methods[i], list);
        libssh2_free(c->session, supported);
    }
}

/* Function pointers travel through libssh2's void * setter; ISO C has no
 * cast between the two, a byte copy is the portable way. */
static void install_socket_guards(LIBSSH2_SESSION *session)
{
    typedef LIBSSH2_RECV_FUNC((*recv_fn));
    typedef LIBSSH2_SEND_FUNC((*send_fn));
    recv_fn r = guarded_recv;
    send_fn w = guarded_send;
    void *p;
    memcpy(&p, &r, sizeof p);
    libssh2_session_callback_set(session, LIBSSH2_CALLBACK_RECV, p);
    memcpy(&p, &w, sizeof p);
    libssh2_session_callback_set(session, LIBSSH2_CALLBACK_SEND, p);
}

/* The peer's first line, escaped: what a user needs to recognise the
 * service that answers on the SSH port (an HTTP server, a tarpit...). */
static char *peer_said(const struct conn *c)
{
    size_t n = 0;
    while (n < c->n_preview && c->preview[n] != '\n')
        n++;
    if (n > 0 && c->preview[n - 1] == '\r')
        n--;
    return nm_term_safe_bytes(c->preview, n);
}

static int handshake_fail(struct conn *c, int rc)
{
    char *said = peer_said(c);
    int r;
    if (rc == LIBSSH2_ERROR_TIMEOUT && !c->banner_seen && c->received == 0)
        r = timeout_fail(c, "the SSH banner (the port accepted the connection and said nothing)");
    else if (rc == LIBSSH2_ERROR_TIMEOUT && !c->banner_seen)
        r = fail(c, NM_HOST_TIMEOUT, NM_ERR_TIMEOUT,
                 "host deadline reached waiting for the SSH banner: %s port %d sent %" PRIu64
                 " bytes, none of them an \"SSH-\" line (not an SSH server?); it began: \"%s\"",
                 c->ep->address, c->ep->port, c->received, said);
    else if (rc == LIBSSH2_ERROR_TIMEOUT && !c->banner_done)
        r = timeout_fail(c, "the SSH banner (it came too slowly)");
    else if (rc == LIBSSH2_ERROR_TIMEOUT)
        r = timeout_fail(c, "the SSH key exchange");
    else if (c->stop == STOP_CAP)
        r = fail(c, NM_HOST_ERROR, NM_ERR_SSH,
                 "%s port %d sent more than %u bytes without completing the SSH handshake "
                 "(not an SSH server?); it began: \"%s\"",
                 c->ep->address, c->ep->port, NM_SSH_PRESESSION_CAP, said);
    else if (!c->banner_seen)
        r = fail(c, NM_HOST_ERROR, NM_ERR_SSH,
                 "%s port %d does not speak SSH (no \"SSH-\" banner before the connection "
                 "ended); it %s%s%s",
                 c->ep->address, c->ep->port, c->received ? "said: \"" : "sent nothing",
                 c->received ? said : "", c->received ? "\"" : "");
    else
        r = fail(c, NM_HOST_ERROR, NM_ERR_SSH, "SSH handshake with %s port %d failed: %s",
                 c->ep->address, c->ep->port, ssh_errmsg(c->session));
    free(said);
    return r;
}

/* Connects c (directly, or through c->outer), checks the host key and
 * logs in. */
static int establish(struct conn *c)
{
    int rc;
    int r = c->outer ? (c->tunnel ? 0 : open_tunnel(c)) : connect_tcp(c);
    if (r < 0)
        return r;
    c->stream_at = nm_now_ms();
    c->session = libssh2_session_init_ex(NULL, NULL, NULL, c);
    if (!c->session)
        return fail(c, NM_HOST_ERROR, NM_ERR_NOMEM, "cannot create an SSH session");
    install_socket_guards(c->session);
    libssh2_session_set_blocking(c->session, 0);
    set_hostkey_preference(c);
    set_terrapin_safe_preference(c);
    raise_outer_caps(c);

    /* libssh2 only sets the descriptor non-blocking (it is already); a
     * tunnelled session's bytes go through the callbacks, never this fd. */
    SSH_RETRY(c, rc, libssh2_session_handshake(c->session, c->fd));
    if (rc < 0)
        return handshake_fail(c, rc);
    r = verify_hostkey(c);
    if (r < 0)
        return r;
    return authenticate(c);
}

/* A shared connection's session, with its own copy of its hop and its own
 * result (the host that logs in goes away; the connection stays). */
struct shared_conn {
    struct conn c;
    struct nm_ssh_hop hop;
    struct nm_ssh_result res;
};

/* One host's way through shared connections. */
struct route {
    const struct nm_ssh_target *t;
    const struct nm_ssh_hop *eps;
    size_t n_jumps;
    int64_t deadline;
    struct nm_ssh_result *res;
};

/* Everything that makes two connections to a hop the same one: the hops
 * before it and, for each, where, who and how it is verified. */
static char *hop_key(const struct nm_ssh_hop *eps, size_t level)
{
    struct nm_buf b;
    nm_buf_init(&b, 1u << 20);
#define KEY_STR(s) nm_buf_appendf(&b, "%zu:%s", strlen((s) ? (s) : ""), (s) ? (s) : "")
    for (size_t i = 0; i <= level; i++) {
        const struct nm_ssh_hop *h = &eps[i];
        KEY_STR(h->address);
        nm_buf_appendf(&b, "|%d|", h->port);
        KEY_STR(h->user);
        nm_buf_appendf(&b, "|%d|%zu|", h->use_agent, h->n_identities);
        for (size_t k = 0; k < h->n_identities; k++)
            KEY_STR(h->identities[k]);
        KEY_STR(h->hostkey_alias);
        KEY_STR(h->known_hosts_path);
        nm_buf_appends(&b, ";");
    }
#undef KEY_STR
    return nm_buf_steal(&b, NULL);
}

/* The host's result for a failure at hop `level`, named as without
 * sharing: "jump host NAME (hop K of N to HOST): ...". */
static int hop_failed(const struct route *rt, size_t level, enum nm_host_status st, int code,
                      const char *msg)
{
    struct nm_buf b;
    nm_buf_init(&b, sizeof rt->res->error - 1);
    nm_buf_appendf(&b, "jump host %s (hop %zu of %zu to %s): ", rt->eps[level].name, level + 1,
                   rt->n_jumps, rt->t->name);
    nm_buf_appends(&b, msg);
    rt->res->status = st;
    snprintf(rt->res->error, sizeof rt->res->error, "%s", b.data ? b.data : "");
    nm_buf_finish(&b);
    nm_utf8_fix(rt->res->error);
    return code;
}

static void close_shared(void *p)
{
    struct shared_conn *sc = p;
    teardown(&sc->c);
    nm_bastion_release(sc->c.via);
    free(sc);
}

static int borrow(const struct route *rt, size_t level, struct nm_bastion **ret);

/*
 * Opens c's tunnel on a shared connection to hop `level`.  A connection that
 * broke while idle, or that cannot open now, is given back and another one
 * tried (a connection seen broken twice is the bastion's answer).
 */
static int borrow_tunnel(const struct route *rt, size_t level, struct conn *c)
{
    for (int broken = 0;;) {
        struct nm_bastion *b = NULL;
        int r = borrow(rt, level, &b);
        if (r < 0)
            return r;
        c->via = b;
        c->via_name = rt->eps[level].name;
        c->outer = &((struct shared_conn *)b->conn)->c;
        r = open_tunnel(c);
        if (r == 0)
            return 0;
        bool again = r == NM_ERR_BUSY || (atomic_load(&b->broken) && ++broken < 2);
        c->via = NULL;
        c->outer = NULL;
        nm_bastion_release(b);
        if (!again)
            return r;
        c->res->status = NM_HOST_OK;
        c->res->error[0] = '\0';
    }
}

/* Takes a slot on a shared connection to hop `level`, logging in to it (and
 * to the hops before it) when no connection has room. */
static int borrow(const struct route *rt, size_t level, struct nm_bastion **ret)
{
    struct nm_bastion *b = NULL;
    bool connect = false;
    enum nm_host_status st = NM_HOST_ERROR;
    char msg[sizeof rt->res->error] = "no connection to the jump host (the scan is ending)";
    char *key = hop_key(rt->eps, level);
    int r =
        nm_bastion_acquire(rt->t->bastions, key, rt->deadline, &b, &connect, &st, msg, sizeof msg);
    free(key);
    if (r == NM_ERR_TIMEOUT)
        return hop_failed(rt, level, NM_HOST_TIMEOUT, r,
                          "host deadline reached waiting for a connection to the jump host "
                          "(every connection to it was busy or still logging in)");
    if (r < 0)
        return hop_failed(rt, level, st, r, msg);
    if (!connect) {
        *ret = b;
        return 0;
    }

    struct shared_conn *sc = nm_xcalloc(1, sizeof *sc);
    struct conn *c = &sc->c;
    sc->hop = rt->eps[level];
    sc->res.exit_status = -1;
    c->t = rt->t;
    c->ep = &sc->hop;
    c->res = &sc->res;
    c->deadline = rt->deadline;
    c->fd = -1;
    c->recv_cap = NM_SSH_PRESESSION_CAP;
    c->line_may_be_banner = true;
    c->shared = b;
    r = level ? borrow_tunnel(rt, level - 1, c) : 0;
    bool further_out = r < 0 && sc->res.status == NM_HOST_OK; /* rt->res says it */
    if (r == 0)
        r = establish(c);
    if (r == 0) {
        c->t = NULL; /* the connector's; the connection outlives it */
        c->recv_cap = c->received + NM_SSH_OVERHEAD_CAP;
        nm_bastion_established(b, sc, close_shared);
        *ret = b;
        return 0;
    }
    if (!further_out) {
        hop_failed(rt, level, sc->res.status, r, sc->res.error);
        memcpy(rt->res->hostkey_type, sc->res.hostkey_type, sizeof sc->res.hostkey_type);
        memcpy(rt->res->hostkey_fingerprint, sc->res.hostkey_fingerprint,
               sizeof sc->res.hostkey_fingerprint);
    }
    teardown(c);
    nm_bastion_release(c->via);
    nm_bastion_failed(b, sc->res.status, r, further_out ? NULL : sc->res.error);
    free(sc);
    return r;
}

/* The way through shared jump-host connections: the target's session over a
 * channel of the last hop's connection. */
static int run_shared(const struct nm_ssh_target *t, const struct nm_ssh_hop *eps, size_t n_jumps,
                      struct conn *tc, const char *script, size_t script_len,
                      struct nm_splitter *sp, int64_t start)
{
    const struct route rt = {
        .t = t, .eps = eps, .n_jumps = n_jumps, .deadline = tc->deadline, .res = tc->res};
    int r = borrow_tunnel(&rt, n_jumps - 1, tc);
    if (r == 0)
        r = establish(tc);
    if (r == 0) {
        tc->res->connect_ms = nm_now_ms() - start;
        r = run_channel(tc, script, script_len, sp);
    }
    const struct conn *gone = tc->via ? broken_hop(tc) : NULL;
    if (r < 0 && gone && tc->res->status != NM_HOST_HOSTKEY_MISMATCH &&
        tc->res->status != NM_HOST_HOSTKEY_UNKNOWN && tc->res->status != NM_HOST_AUTH_FAILED) {
        /* The host's message says what broke on its side; the cause was
         * the shared connection. */
        size_t level = n_jumps - 1;
        for (const struct conn *o = tc->outer; o && o != gone; o = o->outer)
            level--;
        char was[sizeof tc->res->error];
        memcpy(was, tc->res->error, sizeof was);
        struct nm_buf b;
        nm_buf_init(&b, sizeof was - 1);
        nm_buf_appendf(&b, "the connection to the jump host was lost; %s", was);
        hop_failed(&rt, level, tc->res->status, r, b.data ? b.data : was);
        nm_buf_finish(&b);
    }
    teardown(tc);
    nm_bastion_release(tc->via);
    return r;
}

int nm_ssh_run(const struct nm_ssh_target *t, const char *script, size_t script_len,
               int64_t deadline_ms, struct nm_splitter *sp, struct nm_ssh_result *res)
{
    struct nm_ssh_hop eps[NM_SSH_MAX_JUMPS + 1];
    struct conn chain[NM_SSH_MAX_JUMPS + 1];
    size_t n_jumps = t->n_jumps < NM_SSH_MAX_JUMPS ? t->n_jumps : NM_SSH_MAX_JUMPS;
    size_t n = n_jumps + 1, up = 0;
    int64_t start = nm_now_ms();
    int r = 0;

    memset(res, 0, sizeof *res);
    res->exit_status = -1;
    res->reach_ms = res->login_ms = -1;
    res->status = NM_HOST_OK;

    for (size_t i = 0; i < n_jumps; i++)
        eps[i] = t->jumps[i];
    eps[n_jumps] = (struct nm_ssh_hop){
        .name = t->name,
        .address = t->address,
        .port = t->port,
        .user = t->user,
        .identities = t->identities ? t->identities : (t->identity ? &t->identity : NULL),
        .n_identities = t->identities ? t->n_identities : (t->identity ? 1 : 0),
        .use_agent = t->identities ? t->use_agent : !t->identity,
        .hostkey_alias = t->hostkey_alias,
        .known_hosts = t->known_hosts,
        .known_hosts_path = t->known_hosts_path,
        .connect_timeout_s = t->connect_timeout_s,
    };
    for (size_t i = 0; i < n; i++) {
        chain[i] = (struct conn){.t = t,
                                 .ep = &eps[i],
                                 .res = res,
                                 .deadline = deadline_ms,
                                 .fd = -1,
                                 .recv_cap = NM_SSH_PRESESSION_CAP,
                                 .line_may_be_banner = true,
                                 .outer = i ? &chain[i - 1] : NULL};
        if (i < n_jumps)
            snprintf(chain[i].prefix, sizeof chain[i].prefix,
                     "jump host %s (hop %zu of %zu to %s): ", eps[i].name, i + 1, n_jumps, t->name);
    }
    if (t->bastions && n_jumps) {
        chain[n_jumps].outer = NULL;
        r = run_shared(t, eps, n_jumps, &chain[n_jumps], script, script_len, sp, start);
        res->total_ms = nm_now_ms() - start;
        return r;
    }
    for (up = 0; up < n; up++) {
        r = establish(&chain[up]);
        if (r < 0) {
            up++; /* its half-made session is torn down too */
            goto out;
        }
    }
    res->connect_ms = nm_now_ms() - start;
    res->login_ms = res->connect_ms - (chain[n - 1].stream_at - start);
    r = run_channel(&chain[n - 1], script, script_len, sp);
out:
    if (chain[n - 1].stream_at)
        res->reach_ms = chain[n - 1].stream_at - start;
    while (up-- > 0)
        teardown(&chain[up]);
    res->total_ms = nm_now_ms() - start;
    return r;
}
