/*
 * TLS endpoint discovery (nearmiss/discover.h).  What is a candidate is
 * decided twice, by the host's script (which endpoints to shake hands with
 * from the host) and here (what to report and what to probe from the
 * scanner); both read the tables below, the script through the awk program
 * generated from them, so they cannot disagree.
 */
#include <string.h>

#include "nearmiss/discover.h"
#include "nearmiss/parsers.h"
#include "nearmiss/util.h"
#include "parsers/cursor.h"

/* Ports where TLS (or STARTTLS) is what a client expects. */
static const struct {
    unsigned port;
    const char *proto; /* tls, or the STARTTLS dialogue */
} tls_ports[] = {
    {443, "tls"},  {8443, "tls"}, {9443, "tls"}, {4443, "tls"}, {465, "tls"},  {993, "tls"},
    {995, "tls"},  {636, "tls"},  {3269, "tls"}, {5671, "tls"}, {6443, "tls"}, {10250, "tls"},
    {2379, "tls"}, {2380, "tls"}, {853, "tls"},  {990, "tls"},  {5986, "tls"}, {8883, "tls"},
    {2376, "tls"}, {6514, "tls"}, {5061, "tls"}, {8448, "tls"}, {25, "smtp"},  {587, "smtp"},
    {143, "imap"}, {110, "pop3"}, {389, "ldap"},
};

/* Programs (as ss -p names them) that terminate TLS: any port they own is
 * a candidate, except the plain-HTTP port 80. */
static const char *const tls_programs[] = {
    "nginx",    "apache2", "httpd",   "haproxy",  "caddy",     "envoy",          "traefik",
    "lighttpd", "h2o",     "stunnel", "stunnel4", "hitch",     "dovecot",        "slapd",
    "master",   "postfix", "exim4",   "exim",     "mosquitto", "kube-apiserver", "etcd",
};

static const struct {
    const char *program, *command;
} reload_commands[] = {
    {"nginx", "systemctl reload nginx"},      {"apache2", "systemctl reload apache2"},
    {"httpd", "systemctl reload httpd"},      {"haproxy", "systemctl reload haproxy"},
    {"caddy", "systemctl reload caddy"},      {"master", "systemctl reload postfix"},
    {"postfix", "systemctl reload postfix"},  {"dovecot", "systemctl reload dovecot"},
    {"slapd", "systemctl restart slapd"},     {"exim4", "systemctl restart exim4"},
    {"exim", "systemctl restart exim"},       {"lighttpd", "systemctl restart lighttpd"},
    {"h2o", "systemctl reload h2o"},          {"envoy", "systemctl restart envoy"},
    {"traefik", "systemctl restart traefik"}, {"mosquitto", "systemctl restart mosquitto"},
};

const char *nm_tls_discovery_name(enum nm_tls_discovery m)
{
    return m == NM_TLS_DISCOVERY_LOCAL ? "local" : m == NM_TLS_DISCOVERY_REMOTE ? "remote" : "off";
}

int nm_tls_discovery_parse(const char *s, enum nm_tls_discovery *ret)
{
    static const enum nm_tls_discovery all[] = {NM_TLS_DISCOVERY_OFF, NM_TLS_DISCOVERY_LOCAL,
                                                NM_TLS_DISCOVERY_REMOTE};
    for (size_t i = 0; i < 3; i++)
        if (s && strcmp(s, nm_tls_discovery_name(all[i])) == 0) {
            *ret = all[i];
            return 0;
        }
    return NM_ERR_INVAL;
}

const char *nm_discover_reload_command(const char *program)
{
    for (size_t i = 0; program && i < sizeof reload_commands / sizeof reload_commands[0]; i++)
        if (strcmp(reload_commands[i].program, program) == 0)
            return reload_commands[i].command;
    return NULL;
}

static const char *port_proto(unsigned port)
{
    for (size_t i = 0; i < sizeof tls_ports / sizeof tls_ports[0]; i++)
        if (tls_ports[i].port == port)
            return tls_ports[i].proto;
    return NULL;
}

static bool tls_program(const char *p)
{
    for (size_t i = 0; p && i < sizeof tls_programs / sizeof tls_programs[0]; i++)
        if (strcmp(tls_programs[i], p) == 0)
            return true;
    return false;
}

/* ---- the host's script ---------------------------------------------------- */

char *nm_discover_script(enum nm_tls_discovery mode, const char *sni)
{
    struct nm_buf b;
    nm_buf_init(&b, 64u << 10);
    nm_buf_appends(&b, "# listening TCP sockets, then handshakes from the host where needed\n"
                       "LC_ALL=C; export LC_ALL\n");
    nm_buf_appendf(&b, "nm_mode=%s\nnm_sni=", nm_tls_discovery_name(mode));
    if (sni)
        nm_buf_append_shquoted(&b, sni);
    else
        nm_buf_appends(&b, "${NM_SNI-}"); /* set by the script (nm_script_render) */
    nm_buf_appends(
        &b, "\n"
            "nm_list() {\n"
            "  if command -v ss >/dev/null 2>&1; then\n"
            "    echo @ss; ss -ltnpH 2>/dev/null || ss -ltnH 2>/dev/null || ss -ltn 2>/dev/null\n"
            "  else\n"
            "    echo '@proc tcp'; cat /proc/net/tcp 2>/dev/null\n"
            "    echo '@proc tcp6'; cat /proc/net/tcp6 2>/dev/null\n"
            "  fi\n"
            "}\n"
            "nm_l=$(nm_list | head -n 8192)\n"
            "printf '%s\\n' \"$nm_l\"\n");
    /* The selection, in awk (POSIX and busybox): per port, where it listens
     * and who owns it; prints "ADDRESS PORT PROTO" for each handshake the
     * host must make itself. */
    nm_buf_appends(&b, "nm_todo=$(printf '%s\\n' \"$nm_l\" | awk -v mode=\"$nm_mode\" '\n"
                       "function hex(s,  i, v) { v = 0; s = toupper(s)\n"
                       "  for (i = 1; i <= length(s); i++) v = v * 16 + "
                       "index(\"0123456789ABCDEF\", substr(s, i, 1)) - 1\n"
                       "  return v }\n"
                       "function add(addr, port, prog) {\n"
                       "  if (port !~ /^[0-9]+$/) return\n"
                       "  seen[port] = 1\n"
                       "  if (prog != \"\" && !(port in pg)) pg[port] = prog\n"
                       "  if (addr ~ /^127\\./ || addr == \"::1\" || addr ~ /^::ffff:127\\./) {\n"
                       "    if (!(port in la)) la[port] = addr; return }\n"
                       "  nl[port] = 1\n"
                       "  if (addr == \"*\" || addr == \"0.0.0.0\") w4[port] = 1\n"
                       "  else if (addr == \"::\") w6[port] = 1\n"
                       "  else sa[port] = addr }\n"
                       "function proto(port, prog) {\n"
                       "  if (port in P) return P[port]\n"
                       "  if (port != 80 && (prog in G)) return \"tls\"\n"
                       "  return \"\" }\n"
                       "BEGIN {\n  n = split(\"");
    for (size_t i = 0; i < sizeof tls_ports / sizeof tls_ports[0]; i++)
        nm_buf_appendf(&b, "%s%u:%s", i ? " " : "", tls_ports[i].port, tls_ports[i].proto);
    nm_buf_appends(&b, "\", pl, \" \")\n"
                       "  for (i = 1; i <= n; i++) { split(pl[i], pp, \":\"); P[pp[1]] = pp[2] }\n"
                       "  n = split(\"");
    for (size_t i = 0; i < sizeof tls_programs / sizeof tls_programs[0]; i++)
        nm_buf_appendf(&b, "%s%s", i ? " " : "", tls_programs[i]);
    nm_buf_appends(
        &b,
        "\", gl, \" \")\n"
        "  for (i = 1; i <= n; i++) G[gl[i]] = 1 }\n"
        "/^@ss/ { src = \"ss\"; next }\n"
        "/^@proc tcp6/ { src = \"p6\"; next }\n"
        "/^@proc tcp/ { src = \"p4\"; next }\n"
        "src == \"ss\" && $1 == \"LISTEN\" {\n"
        "  la4 = $4; k = split(la4, q, \":\"); port = q[k]\n"
        "  addr = substr(la4, 1, length(la4) - length(port) - 1)\n"
        "  sub(/%.*/, \"\", addr); gsub(/[][]/, \"\", addr)\n"
        "  prog = \"\"\n"
        "  if (match($0, /users:\\(\\(\"[^\"]*\"/)) prog = substr($0, RSTART + 9, RLENGTH - 10)\n"
        "  add(addr, port, prog); next }\n"
        "src == \"p4\" && $4 == \"0A\" { split($2, x, \":\"); h = x[1]\n"
        "  add(hex(substr(h, 7, 2)) \".\" hex(substr(h, 5, 2)) \".\" hex(substr(h, 3, 2)) "
        "\".\" hex(substr(h, 1, 2)), hex(x[2]), \"\"); next }\n"
        "src == \"p6\" && $4 == \"0A\" { split($2, x, \":\"); h = x[1]\n"
        "  add(h == \"00000000000000000000000001000000\" ? \"::1\" : "
        "(h == \"00000000000000000000000000000000\" ? \"::\" : \"v6\"), hex(x[2]), \"\"); next }\n"
        "END {\n"
        "  for (port in seen) {\n"
        "    m = proto(port, pg[port]); if (m == \"\") continue\n"
        "    if (port in nl) {\n"
        "      if (mode != \"local\" && m != \"ldap\") continue\n"
        "      t = (port in w4) ? \"127.0.0.1\" : (port in w6) ? \"::1\" : "
        "(port in la) ? la[port] : sa[port]\n"
        "    } else t = la[port]\n"
        "    if (t != \"v6\") print t, port, m\n"
        "  } }')\n");
    /* One handshake from the host: bounded in time (timeout(1) is required)
     * and in output (certificates and the session lines only). */
    nm_buf_appendf(
        &b,
        "nm_local() {\n"
        "  command -v openssl >/dev/null 2>&1 || { echo \"@skip $1 $2 $3 no-openssl\"; return; }\n"
        "  command -v timeout >/dev/null 2>&1 || { echo \"@skip $1 $2 $3 no-timeout\"; return; }\n"
        "  case $1 in *:*) c=\"[$1]:$2\" ;; *) c=\"$1:$2\" ;; esac\n"
        "  st=; case $3 in smtp|imap|pop3|ldap) st=\"-starttls $3\" ;; esac\n"
        "  echo \"@local $1 $2 $3\"\n"
        "  timeout 8 openssl s_client -connect \"$c\" ${nm_sni:+-servername \"$nm_sni\"} $st "
        "-showcerts </dev/null 2>&1 | awk '\n"
        "    /-----BEGIN CERTIFICATE-----/ { p = 1; n++ }\n"
        "    p && n <= 10 { print }\n"
        "    /-----END CERTIFICATE-----/ { p = 0; next }\n"
        "    !p && (/^New, / || /^ *Protocol *:/ || /^ *Cipher *:/ || /errno=/ || /:error:/) "
        "{ if (m++ < 20) print }' | head -c 262144\n"
        "  echo; echo @end\n"
        "}\n"
        "nm_n=0\n"
        "printf '%%s\\n' \"$nm_todo\" | while read -r a p m; do\n"
        "  [ -n \"$p\" ] || continue\n"
        "  nm_n=$((nm_n + 1))\n"
        "  if [ \"$nm_n\" -gt %d ]; then echo \"@skip $a $p $m too-many\"; continue; fi\n"
        "  nm_local \"$a\" \"$p\" \"$m\"\n"
        "done\n"
        "exit 0\n",
        NM_DISCOVER_LOCAL_MAX);
    return nm_buf_steal(&b, NULL);
}

/* ---- reading what the host said -------------------------------------------- */

struct port_rec {
    unsigned port;
    json_t *programs;    /* array of names */
    char lb_addr[64];    /* first loopback address */
    char other_addr[64]; /* first non-loopback address */
    bool non_loopback;
};

static struct port_rec *port_find(struct port_rec *recs, size_t n, unsigned port)
{
    for (size_t i = 0; i < n; i++)
        if (recs[i].port == port)
            return &recs[i];
    return NULL;
}

static int cmp_port(const void *a, const void *b)
{
    const struct port_rec *x = a, *y = b;
    return (x->port > y->port) - (x->port < y->port);
}

/* The block the host printed for port: "@local ADDR PORT PROTO" up to
 * "@end", or "@skip ADDR PORT PROTO REASON".  Returns the kind found. */
enum block { B_NONE, B_LOCAL, B_SKIP };

static enum block find_block(const char *out, size_t len, unsigned port, struct nm_span *ret_addr,
                             struct nm_span *ret_body, struct nm_span *ret_reason)
{
    const char *cur = out, *end = out + len;
    struct nm_span line;
    while (nm_span_next_line(&cur, end, &line)) {
        bool local = nm_span_has_prefix(line, "@local "), skip = nm_span_has_prefix(line, "@skip ");
        if (!local && !skip)
            continue;
        struct nm_span toks[6];
        size_t n = nm_span_split(line, toks, 5);
        uint64_t p;
        if (n < 4 || nm_span_to_u64(toks[2], &p) < 0 || p != port)
            continue;
        *ret_addr = toks[1];
        if (skip) {
            *ret_reason = n >= 5 ? toks[4] : (struct nm_span){NULL, 0};
            return B_SKIP;
        }
        const char *body = cur;
        struct nm_span l2;
        const char *stop = end;
        while (nm_span_next_line(&cur, end, &l2))
            if (nm_span_eq(nm_span_trim(l2), "@end") || nm_span_has_prefix(l2, "@local ") ||
                nm_span_has_prefix(l2, "@skip ")) {
                stop = l2.p;
                break;
            }
        *ret_body = nm_span_range(body, stop);
        return B_LOCAL;
    }
    return B_NONE;
}

static const char *skip_reason(struct nm_span r)
{
    if (nm_span_eq(r, "no-openssl"))
        return "openssl is not installed on the host: no handshake from the host";
    if (nm_span_eq(r, "no-timeout"))
        return "timeout(1) is missing on the host: a handshake from the host would be unbounded";
    if (nm_span_eq(r, "too-many"))
        return "more candidates than the handshakes allowed from one host";
    return "skipped by the host";
}

static enum nm_starttls starttls_of(const char *proto)
{
    return strcmp(proto, "smtp") == 0   ? NM_STARTTLS_SMTP
           : strcmp(proto, "imap") == 0 ? NM_STARTTLS_IMAP
           : strcmp(proto, "pop3") == 0 ? NM_STARTTLS_POP3
                                        : NM_STARTTLS_NONE;
}

static void host_probe(json_t *ep, const char *out, size_t len, const struct port_rec *r,
                       const char *proto, const char *sni, const struct nm_tls_target *base)
{
    struct nm_span addr = {0}, body = {0}, reason = {0};
    json_object_set_new(ep, "probed_from", json_string("host"));
    enum block k = find_block(out, len, r->port, &addr, &body, &reason);
    if (k == B_NONE) {
        json_object_set_new(ep, "result", json_string("skipped"));
        json_object_set_new(ep, "reason",
                            json_string("the host printed no handshake for it (output cut?)"));
        return;
    }
    if (k == B_SKIP) {
        json_object_set_new(ep, "result", json_string("skipped"));
        json_object_set_new(ep, "reason", json_string(skip_reason(reason)));
        return;
    }
    struct nm_tls_target t = *base;
    if (addr.n == 0 || addr.n >= sizeof t.host) {
        json_object_set_new(ep, "result", json_string("skipped"));
        json_object_set_new(ep, "reason", json_string("unreadable address in the host's output"));
        return;
    }
    memcpy(t.host, addr.p, addr.n);
    t.host[addr.n] = '\0';
    t.port = (uint16_t)r->port;
    t.starttls = starttls_of(proto);
    snprintf(t.sni, sizeof t.sni, "%s", sni ? sni : "");
    json_t *item = NULL;
    nm_diag d = {{0}};
    const char *st = strcmp(proto, "tls") == 0 ? "none" : proto;
    if (nm_tls_describe_capture(&t, body.p ? body.p : "", body.n, st, &item, &d) < 0) {
        json_object_set_new(ep, "result", json_string("skipped"));
        json_object_set_new(ep, "reason", json_string(d.msg));
        return;
    }
    json_object_set(ep, "subject", json_object_get(item, "subject"));
    nm_discover_record_remote(ep, item);
}

int nm_discover_read(const char *out, size_t len, enum nm_tls_discovery mode, const char *address,
                     const char *sni, const struct nm_tls_target *t, json_t **ret, nm_diag *d)
{
    json_t *items = NULL;
    out = out ? out : "";
    int r = nm_parser_find("listeners")->fn(out, len, NULL, &items, d);
    if (r < 0)
        return r;
    const char *listing = "none";
    if (nm_span_find((struct nm_span){out, len}, "@ss\n") == out ||
        nm_span_find((struct nm_span){out, len}, "\n@ss\n"))
        listing = "ss";
    else if (nm_span_find((struct nm_span){out, len}, "@proc tcp"))
        listing = "proc";

    struct port_rec *recs = nm_xcalloc(json_array_size(items) + 1, sizeof *recs);
    size_t n = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const json_t *it = json_array_get(items, i);
        unsigned port = (unsigned)json_integer_value(json_object_get(it, "port"));
        const char *a = json_string_value(json_object_get(it, "address"));
        struct port_rec *pr = port_find(recs, n, port);
        if (!pr) {
            pr = &recs[n++];
            pr->port = port;
            pr->programs = json_array();
        }
        if (json_is_true(json_object_get(it, "loopback"))) {
            if (!pr->lb_addr[0])
                snprintf(pr->lb_addr, sizeof pr->lb_addr, "%s", a);
        } else {
            pr->non_loopback = true;
            if (!pr->other_addr[0])
                snprintf(pr->other_addr, sizeof pr->other_addr, "%s", a);
        }
        const json_t *progs = json_object_get(it, "programs");
        for (size_t k = 0; k < json_array_size(progs); k++) {
            bool dup = false;
            for (size_t m = 0; m < json_array_size(pr->programs) && !dup; m++)
                dup = json_equal(json_array_get(pr->programs, m), json_array_get(progs, k));
            if (!dup && json_array_size(pr->programs) < 8)
                json_array_append(pr->programs, json_array_get(progs, k));
        }
    }
    if (n > 1)
        qsort(recs, n, sizeof *recs, cmp_port);

    json_t *eps = json_array();
    for (size_t i = 0; i < n; i++) {
        struct port_rec *pr = &recs[i];
        const char *proto = port_proto(pr->port);
        const char *first = json_string_value(json_array_get(pr->programs, 0));
        if (!proto && pr->port != 80 && tls_program(first))
            proto = "tls";
        json_t *ep = json_pack(
            "{s:s, s:i, s:O, s:b}", "address", pr->non_loopback ? pr->other_addr : pr->lb_addr,
            "port", (int)pr->port, "programs", pr->programs, "loopback_only", !pr->non_loopback);
        json_object_set_new(ep, "protocol", proto ? json_string(proto) : json_null());
        if (!proto) {
            json_object_set_new(ep, "probed_from", json_null());
            json_object_set_new(ep, "result", json_string("skipped"));
            json_object_set_new(ep, "reason",
                                json_string(pr->port == 80 ? "port 80 is plain HTTP"
                                                           : "not a TLS port or a known TLS "
                                                             "server program"));
        } else if (mode == NM_TLS_DISCOVERY_LOCAL || !pr->non_loopback ||
                   strcmp(proto, "ldap") == 0) {
            host_probe(ep, out, len, pr, proto, sni, t);
        } else {
            json_object_set_new(ep, "probed_from", json_string("scanner"));
            json_object_set_new(ep, "result", json_string("pending"));
            json_object_set_new(ep, "target",
                                json_pack("{s:s, s:i, s:s, s:s}", "host", address, "port",
                                          (int)pr->port, "starttls", proto, "sni", sni ? sni : ""));
        }
        json_array_append_new(eps, ep);
        json_decref(pr->programs);
    }
    free(recs);
    *ret = json_pack("{s:s, s:s, s:I, s:o}", "mode", nm_tls_discovery_name(mode), "listing",
                     listing, "listeners", (json_int_t)json_array_size(items), "endpoints", eps);
    json_decref(items);
    return 0;
}

int nm_discover_target(const json_t *endpoint, const struct nm_tls_target *base,
                       struct nm_tls_target *ret)
{
    const json_t *tg = json_object_get(endpoint, "target");
    const char *host = json_string_value(json_object_get(tg, "host"));
    const char *sni = json_string_value(json_object_get(tg, "sni"));
    const char *proto = json_string_value(json_object_get(tg, "starttls"));
    json_int_t port = json_integer_value(json_object_get(tg, "port"));
    if (!host || !proto || port <= 0 || port > 65535 || strlen(host) > NM_TLS_HOST_MAX ||
        (sni && strlen(sni) > NM_TLS_HOST_MAX))
        return NM_ERR_INVAL;
    struct nm_tls_target t = *base;
    snprintf(t.host, sizeof t.host, "%s", host);
    snprintf(t.sni, sizeof t.sni, "%s", sni ? sni : "");
    t.port = (uint16_t)port;
    t.starttls = starttls_of(proto);
    *ret = t;
    return 0;
}

void nm_discover_record_remote(json_t *endpoint, json_t *item)
{
    const char *err = json_string_value(json_object_get(item, "error"));
    json_object_del(endpoint, "target");
    json_object_set(endpoint, "subject", json_object_get(item, "subject"));
    json_object_set_new(endpoint, "result", json_string(err ? "no-tls" : "tls"));
    if (err)
        json_object_set_new(endpoint, "reason", json_string(err));
    json_object_set_new(item, "discovered", json_true());
    json_object_set_new(item, "probed_from",
                        json_deep_copy(json_object_get(endpoint, "probed_from")));
    json_object_set(item, "programs", json_object_get(endpoint, "programs"));
    json_object_set_new(endpoint, "item", item);
}
