#include <stdlib.h>
#include <string.h>

#include "nearmiss/facts.h"
#include "nearmiss/utf8.h"
#include "nearmiss/util.h"

#define FACT_VALUE_MAX 256

char *nm_facts_script(const struct nm_checkset *cs)
{
    struct nm_buf b;
    nm_buf_init(&b, 1u << 20);
    /* Key=value lines; os-release keys get an "os." prefix.  The lines are
     * gathered in $o and printed once at the end: each write the host makes
     * is an SSH packet for both ends, and a line-by-line loop made dozens.
     * printf, never echo, so a value starting with "-n" or holding
     * backslashes survives. */
    nm_buf_appends(&b, "o=\n"
                       "f=/etc/os-release; [ -r \"$f\" ] || f=/usr/lib/os-release\n"
                       "if [ -r \"$f\" ]; then while IFS= read -r l || [ -n \"$l\" ]; do "
                       "o=\"${o}os.$l\n\"; done < \"$f\"; fi\n"
                       "o=\"${o}kernel=$(uname -r 2>/dev/null)\n"
                       "arch=$(uname -m 2>/dev/null)\n"
                       "hostname=$(cat /proc/sys/kernel/hostname 2>/dev/null || "
                       "hostname 2>/dev/null)\n\"\n"
                       "read -r up _ < /proc/uptime 2>/dev/null && o=\"${o}uptime=$up\n\"\n"
                       "o=\"${o}uid=$(id -u 2>/dev/null)\n\"\n");
    /* Union of required commands, deduplicated, in check order. */
    char **seen = NULL;
    size_t n_seen = 0;
    for (size_t i = 0; i < cs->n_checks; i++) {
        const struct nm_check *c = &cs->checks[i];
        for (size_t j = 0; j < c->n_commands; j++) {
            bool dup = false;
            for (size_t k = 0; k < n_seen && !dup; k++)
                dup = strcmp(seen[k], c->commands[j]) == 0;
            if (dup)
                continue;
            seen = nm_xreallocarray(seen, n_seen + 1, sizeof *seen);
            seen[n_seen++] = c->commands[j];
        }
    }
    if (n_seen) {
        /* Names were validated as plain words when the checks were loaded. */
        nm_buf_appends(&b, "for c in");
        for (size_t k = 0; k < n_seen; k++)
            nm_buf_appendf(&b, " %s", seen[k]);
        nm_buf_appends(&b, "; do command -v \"$c\" >/dev/null 2>&1 && o=\"${o}cmd=$c\n\"; "
                           "done\n");
    }
    free(seen);
    nm_buf_appends(&b, "printf '%s' \"$o\"\n"
                       "exit 0\n");
    return nm_buf_steal(&b, NULL);
}

/* os-release values: optional "..." or '...' quoting with backslash escapes. */
static json_t *os_release_value(const char *v, size_t len)
{
    char out[FACT_VALUE_MAX];
    size_t o = 0;
    if (len >= 2 && (v[0] == '"' || v[0] == '\'') && v[len - 1] == v[0]) {
        char q = v[0];
        for (size_t i = 1; i + 1 < len && o + 1 < sizeof out; i++) {
            if (q == '"' && v[i] == '\\' && i + 2 < len)
                i++;
            out[o++] = v[i];
        }
    } else {
        for (size_t i = 0; i < len && o + 1 < sizeof out; i++)
            out[o++] = v[i];
    }
    return nm_json_string_sanitized(out, o, FACT_VALUE_MAX);
}

static void set_os(json_t *os, const char *key, size_t klen, const char *v, size_t vlen)
{
    static const struct {
        const char *from, *to;
    } keys[] = {{"ID", "id"},
                {"VERSION_ID", "version_id"},
                {"NAME", "name"},
                {"PRETTY_NAME", "pretty_name"},
                {"VERSION_CODENAME", "codename"},
                {"ID_LIKE", "id_like"}};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strlen(keys[i].from) != klen || memcmp(keys[i].from, key, klen) != 0)
            continue;
        json_t *val = os_release_value(v, vlen);
        if (strcmp(keys[i].to, "id_like") == 0) {
            /* A space-separated list of ids. */
            json_t *arr = json_array();
            const char *s = json_string_value(val), *e;
            while (*s) {
                while (*s == ' ')
                    s++;
                for (e = s; *e && *e != ' '; e++)
                    ;
                if (e > s && json_array_size(arr) < 16)
                    json_array_append_new(arr, json_stringn(s, (size_t)(e - s)));
                s = e;
            }
            json_decref(val);
            val = arr;
        }
        json_object_set_new(os, keys[i].to, val);
        return;
    }
}

int nm_facts_parse(const char *data, size_t len, json_t **ret, nm_diag *d)
{
    json_t *f = json_object(), *os = json_object(), *cmds = json_object();
    const char *p = data, *end = data + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        const char *eq = memchr(p, '=', (size_t)(le - p));
        if (eq) {
            const char *k = p, *v = eq + 1;
            size_t kl = (size_t)(eq - p), vl = (size_t)(le - v);
            if (kl > 3 && memcmp(k, "os.", 3) == 0) {
                set_os(os, k + 3, kl - 3, v, vl);
            } else if (kl == 3 && memcmp(k, "cmd", 3) == 0) {
                if (json_object_size(cmds) < 1024) {
                    char name[128];
                    size_t n = vl < sizeof name - 1 ? vl : sizeof name - 1;
                    memcpy(name, v, n);
                    name[n] = '\0';
                    /* command -v prints the path for some shells; keep the name */
                    json_object_set_new(cmds, name, json_true());
                }
            } else if (kl == 6 && memcmp(k, "uptime", 6) == 0) {
                uint64_t secs = 0;
                const char *q = v;
                if (nm_parse_u64(&q, le, &secs) == 0)
                    json_object_set_new(f, "uptime_seconds", json_integer((json_int_t)secs));
            } else if (kl == 3 && memcmp(k, "uid", 3) == 0) {
                uint64_t uid = 0;
                const char *q = v;
                if (nm_parse_u64(&q, le, &uid) == 0 && q == le)
                    json_object_set_new(f, "uid", json_integer((json_int_t)uid));
            } else if ((kl == 6 && memcmp(k, "kernel", 6) == 0) ||
                       (kl == 4 && memcmp(k, "arch", 4) == 0) ||
                       (kl == 8 && memcmp(k, "hostname", 8) == 0)) {
                char key[16];
                memcpy(key, k, kl);
                key[kl] = '\0';
                if (vl)
                    json_object_set_new(f, key, nm_json_string_sanitized(v, vl, FACT_VALUE_MAX));
            }
        }
        p = nl ? nl + 1 : end;
    }
    if (!json_object_get(os, "id_like"))
        json_object_set_new(os, "id_like", json_array());
    json_object_set_new(f, "os", os);
    json_object_set_new(f, "commands", cmds);
    if (!json_object_get(os, "id")) {
        json_decref(f);
        return nm_diag_set(d, NM_ERR_PARSE, "no os-release information in the facts output");
    }
    *ret = f;
    return 0;
}
