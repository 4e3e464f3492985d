/*
 * listeners: the TCP sockets a host listens on, from `ss -ltnpH` (iproute2;
 * with -p the owning programs where the login user may see them) or, where
 * ss is missing, /proc/net/tcp and /proc/net/tcp6.  The probe frames each
 * source: a line "@ss" before ss output, "@proc tcp" / "@proc tcp6" before
 * the proc tables; anything from a line starting with "@local" on belongs
 * to the TLS discovery probe and is not read here.
 *
 * One item per listening socket: address (no brackets, no %interface),
 * port, family, loopback (127.0.0.0/8, ::1, ::ffff:127.x), wildcard
 * (0.0.0.0, ::, *), programs and pids (ss -p only), source.  The proc
 * tables print addresses in the host's byte order; they are read as little
 * endian, which every architecture nearmiss is used on is (x86, arm64).
 */
#include <arpa/inet.h>
#include <string.h>

#include "nearmiss/util.h"
#include "parsers/builtin.h"
#include "parsers/cursor.h"

#define MAX_PROGRAMS 16
#define NAME_MAX_LEN 64

enum source { SRC_NONE, SRC_SS, SRC_PROC4, SRC_PROC6 };

static bool loopback_addr(const char *a, bool v6)
{
    if (!v6)
        return strncmp(a, "127.", 4) == 0;
    return strcmp(a, "::1") == 0 || strncmp(a, "::ffff:127.", 11) == 0;
}

static bool wildcard_addr(const char *a)
{
    return strcmp(a, "0.0.0.0") == 0 || strcmp(a, "::") == 0 || strcmp(a, "*") == 0;
}

static json_t *socket_item(const char *addr, bool v6, uint64_t port, enum source src,
                           struct nm_span line)
{
    json_t *it = json_object();
    json_object_set_new(it, "address", json_string(addr));
    json_object_set_new(it, "port", json_integer((json_int_t)port));
    json_object_set_new(it, "family", json_string(v6 ? "ipv6" : "ipv4"));
    json_object_set_new(it, "loopback", json_boolean(loopback_addr(addr, v6)));
    json_object_set_new(it, "wildcard", json_boolean(wildcard_addr(addr)));
    json_object_set_new(it, "programs", json_array());
    json_object_set_new(it, "pids", json_array());
    json_object_set_new(it, "source", json_string(src == SRC_SS ? "ss" : "proc"));
    json_object_set_new(it, "evidence", nm_span_evidence(line));
    return it;
}

/* ss prints an address as 1.2.3.4, *, [v6], v4%iface or [v6]%iface; the
 * address is only kept when it parses as one (or is the wildcard "*"). */
static bool ss_address(struct nm_span s, char out[INET6_ADDRSTRLEN], bool *v6)
{
    char buf[INET6_ADDRSTRLEN + 64];
    const char *pct;
    if (s.n && s.p[0] == '[') {
        const char *close = memchr(s.p, ']', s.n);
        if (!close)
            return false;
        s = nm_span_range(s.p + 1, close);
    } else if ((pct = memchr(s.p, '%', s.n)) != NULL) {
        s = nm_span_range(s.p, pct);
    }
    if ((pct = s.n ? memchr(s.p, '%', s.n) : NULL) != NULL)
        s = nm_span_range(s.p, pct);
    if (s.n == 0 || s.n >= sizeof buf)
        return false;
    memcpy(buf, s.p, s.n);
    buf[s.n] = '\0';
    if (strcmp(buf, "*") == 0) {
        *v6 = false;
        snprintf(out, INET6_ADDRSTRLEN, "*");
        return true;
    }
    unsigned char bin[16];
    if (inet_pton(AF_INET, buf, bin) == 1) {
        *v6 = false;
    } else if (inet_pton(AF_INET6, buf, bin) == 1) {
        *v6 = true;
    } else {
        return false;
    }
    /* Normalised text form: "::0001" and "::1" are one address. */
    return inet_ntop(*v6 ? AF_INET6 : AF_INET, bin, out, INET6_ADDRSTRLEN) != NULL;
}

/* users:(("nginx",pid=10,fd=6),("nginx",pid=11,fd=6)) */
static void ss_users(struct nm_span s, json_t *item)
{
    json_t *progs = json_object_get(item, "programs"), *pids = json_object_get(item, "pids");
    const char *p = s.p, *end = nm_span_end(s);
    while (p && p < end && json_array_size(progs) < MAX_PROGRAMS) {
        const char *q = nm_span_find(nm_span_range(p, end), "(\"");
        if (!q)
            break;
        q += 2;
        const char *close = nm_span_find(nm_span_range(q, end), "\",");
        if (!close)
            break;
        struct nm_span name = nm_span_range(q, close);
        if (name.n > 0 && name.n <= NAME_MAX_LEN) {
            json_t *n = nm_span_json(name, NAME_MAX_LEN);
            bool dup = false;
            for (size_t i = 0; i < json_array_size(progs) && !dup; i++)
                dup = json_equal(json_array_get(progs, i), n);
            if (dup)
                json_decref(n);
            else
                json_array_append_new(progs, n);
        }
        p = close + 2;
        if (nm_span_has_prefix(nm_span_range(p, end), "pid=")) {
            struct nm_span num = nm_span_range(p + 4, end), rest = num, tok;
            nm_span_cut(&rest, ',', &tok);
            uint64_t pid;
            if (nm_span_to_u64(tok, &pid) == 0 && json_array_size(pids) < MAX_PROGRAMS)
                json_array_append_new(pids, json_integer((json_int_t)pid));
        }
    }
}

static void ss_line(struct nm_span line, json_t *items)
{
    struct nm_span toks[8];
    size_t n = nm_span_split(line, toks, 7);
    /* State Recv-Q Send-Q Local:Port Peer:Port [users:(...)] */
    if (n < 5 || !nm_span_eq(toks[0], "LISTEN"))
        return;
    struct nm_span local = toks[3];
    const char *colon = NULL;
    for (const char *p = local.p; p < nm_span_end(local); p++)
        if (*p == ':')
            colon = p;
    if (!colon)
        return;
    uint64_t port;
    char addr[INET6_ADDRSTRLEN];
    bool v6;
    if (nm_span_to_u64(nm_span_range(colon + 1, nm_span_end(local)), &port) < 0 || port == 0 ||
        port > 65535 || !ss_address(nm_span_range(local.p, colon), addr, &v6))
        return;
    json_t *it = socket_item(addr, v6, port, SRC_SS, line);
    for (size_t i = 5; i < n && i < 7; i++)
        if (nm_span_has_prefix(toks[i], "users:"))
            ss_users(nm_span_range(toks[i].p, nm_span_end(line)), it);
    nm_push_item(items, it);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = nm_ascii_lower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* n hex digits as bytes, each 32-bit word reversed (little-endian host). */
static bool proc_hex(struct nm_span s, unsigned char *out, size_t n_bytes)
{
    if (s.n != n_bytes * 2)
        return false;
    for (size_t w = 0; w < n_bytes / 4; w++)
        for (size_t b = 0; b < 4; b++) {
            int hi = hexval(s.p[w * 8 + b * 2]), lo = hexval(s.p[w * 8 + b * 2 + 1]);
            if (hi < 0 || lo < 0)
                return false;
            out[w * 4 + 3 - b] = (unsigned char)(hi * 16 + lo);
        }
    return true;
}

static void proc_line(struct nm_span line, bool v6, json_t *items)
{
    struct nm_span toks[12];
    size_t n = nm_span_split(line, toks, 11);
    /* sl local_address rem_address st ... */
    if (n < 4 || !nm_span_has_suffix(toks[0], ":") || !nm_span_eq_nocase(toks[3], "0A"))
        return;
    struct nm_span rest = toks[1], a;
    if (!nm_span_cut(&rest, ':', &a) || rest.n != 4)
        return;
    unsigned char bin[16];
    if (!proc_hex(a, bin, v6 ? 16 : 4))
        return;
    int d[4];
    for (size_t i = 0; i < 4; i++)
        if ((d[i] = hexval(rest.p[i])) < 0)
            return;
    uint64_t port = (uint64_t)(d[0] << 12 | d[1] << 8 | d[2] << 4 | d[3]);
    char addr[INET6_ADDRSTRLEN];
    if (port == 0 || !inet_ntop(v6 ? AF_INET6 : AF_INET, bin, addr, sizeof addr))
        return;
    json_t *it = socket_item(addr, v6, port, v6 ? SRC_PROC6 : SRC_PROC4, line);
    /* uid and inode: which user, and the key to the owner where root can
     * map sockets to processes. */
    uint64_t v;
    if (n >= 10 && nm_span_to_u64(toks[7], &v) == 0)
        json_object_set_new(it, "uid", json_integer((json_int_t)v));
    nm_push_item(items, it);
}

int nm_parse_listeners(const char *data, size_t len, const json_t *options, json_t **ret_items,
                       nm_diag *d)
{
    if (options && json_object_size(options))
        return nm_diag_set(d, NM_ERR_INVAL, "listeners takes no option");
    const char *cur = data ? data : "", *end = data ? data + len : cur;
    enum source src = SRC_NONE;
    struct nm_span line;
    json_t *items = json_array();
    while (nm_span_next_line(&cur, end, &line)) {
        if (nm_span_has_prefix(line, "@local") || nm_span_has_prefix(line, "@skip"))
            break;
        if (nm_span_eq(nm_span_trim(line), "@ss")) {
            src = SRC_SS;
            continue;
        }
        if (nm_span_eq(nm_span_trim(line), "@proc tcp")) {
            src = SRC_PROC4;
            continue;
        }
        if (nm_span_eq(nm_span_trim(line), "@proc tcp6")) {
            src = SRC_PROC6;
            continue;
        }
        if (src == SRC_SS)
            ss_line(line, items);
        else if (src == SRC_PROC4 || src == SRC_PROC6)
            proc_line(line, src == SRC_PROC6, items);
    }
    *ret_items = items;
    return 0;
}
