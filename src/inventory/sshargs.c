/* ssh arguments from Ansible inventories (nearmiss/sshargs.h). */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nearmiss/sshargs.h"
#include "nearmiss/util.h"

/* Shown values are cut here: messages name the value, not all of it. */
#define SHOWN_MAX 200

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

int nm_shell_words(const char *s, size_t max_words, char ***ret, size_t *ret_n, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    *why = NULL;
    if (!s || !ret || !ret_n) {
        *why = "no input";
        return NM_ERR_INVAL;
    }
    size_t len = strlen(s);
    if (len > NM_SSH_ARGS_MAX_LEN) {
        *why = "too long";
        return NM_ERR_TOOBIG;
    }
    /* The pointers, then the words' bytes: never longer than the input. */
    char **words = nm_xmalloc((max_words + 1) * sizeof *words + len + 1);
    char *out = (char *)(words + max_words + 1);
    size_t n = 0;
    bool in_word = false;
    int r = 0;
    for (const char *p = s; *p; p++) {
        if (!in_word) {
            if (is_blank(*p))
                continue;
            if (n == max_words) {
                *why = "too many words";
                r = NM_ERR_TOOBIG;
                goto out;
            }
            words[n++] = out;
            in_word = true;
        }
        if (*p == '\'') {
            const char *close = strchr(p + 1, '\'');
            if (!close) {
                *why = "unterminated '";
                r = NM_ERR_PARSE;
                goto out;
            }
            memcpy(out, p + 1, (size_t)(close - p - 1));
            out += close - p - 1;
            p = close;
        } else if (*p == '"') {
            for (p++; *p != '"'; p++) {
                if (!*p) {
                    *why = "unterminated \"";
                    r = NM_ERR_PARSE;
                    goto out;
                }
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                    p++;
                *out++ = *p;
            }
        } else if (*p == '\\') {
            if (!p[1]) {
                *why = "trailing backslash";
                r = NM_ERR_PARSE;
                goto out;
            }
            *out++ = *++p;
        } else if (is_blank(*p)) {
            *out++ = '\0';
            in_word = false;
        } else {
            *out++ = *p;
        }
    }
    if (in_word)
        *out = '\0';
    words[n] = NULL;
out:
    if (r < 0) {
        free(words);
        return r;
    }
    *ret = words;
    *ret_n = n;
    return 0;
}

static void add_note(struct nm_ssh_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void add_note(struct nm_ssh_args *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    if (a->note) {
        char *both = nm_xasprintf("%s; %s", a->note, s);
        free(a->note);
        free(s);
        s = both;
    }
    a->note = s;
}

static void set_error(struct nm_ssh_args *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void set_error(struct nm_ssh_args *a, const char *fmt, ...)
{
    if (a->error)
        return; /* the first says enough */
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&a->error, fmt, ap) < 0)
        abort();
    va_end(ap);
}

/* What a name (user, jump host list) may not contain; NULL when fine. */
static const char *bad_name(const char *s)
{
    if (!*s)
        return "is empty";
    if (s[0] == '-')
        return "starts with '-'";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= ' ' || *p >= 0x7f)
            return "contains a space, a control or a non-ASCII character";
    return NULL;
}

static const char *bad_path(const char *s)
{
    if (!*s)
        return "is empty";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return "contains a control character";
    return NULL;
}

struct ctx {
    struct nm_ssh_args *a;
    const char *var;
};

/* `shown` is how the option was written ("-o Port=x", "-p x"), for messages. */
static void take_name(struct ctx *x, const char *shown, const char *v, char **dst)
{
    const char *why = bad_name(v);
    if (why)
        set_error(x->a, "%s: %.*s: the value %s", x->var, SHOWN_MAX, shown, why);
    else if (!*dst)
        *dst = nm_xstrdup(v);
}

static void take_path(struct ctx *x, const char *shown, const char *v, char **dst)
{
    const char *why = bad_path(v);
    if (why)
        set_error(x->a, "%s: %.*s: the value %s", x->var, SHOWN_MAX, shown, why);
    else if (!*dst)
        *dst = nm_expand_home(v);
}

static void take_port(struct ctx *x, const char *shown, const char *v)
{
    uint64_t p;
    if (nm_str_to_u64(v, &p) < 0 || p < 1 || p > 65535)
        set_error(x->a, "%s: %.*s: not a port 1..65535", x->var, SHOWN_MAX, shown);
    else if (!x->a->port)
        x->a->port = (int)p;
}

static void take_jump(struct ctx *x, const char *shown, const char *v)
{
    struct nm_ssh_args *a = x->a;
    if (a->proxy_jump || a->proxy_command) {
        add_note(a, "%s: %.*s not used: an earlier ProxyJump or ProxyCommand wins", x->var,
                 SHOWN_MAX, shown);
        return;
    }
    take_name(x, shown, v, &a->proxy_jump);
}

static void take_command(struct ctx *x, const char *shown, const char *v)
{
    struct nm_ssh_args *a = x->a;
    if (a->proxy_jump || a->proxy_command) {
        add_note(a, "%s: %.*s not used: an earlier ProxyJump or ProxyCommand wins", x->var,
                 SHOWN_MAX, shown);
        return;
    }
    if (!*v || bad_path(v)) {
        set_error(a, "%s: %.*s: the value is empty or contains a control character", x->var,
                  SHOWN_MAX, shown);
        return;
    }
    /* "none" is ssh's way of saying: connect directly. */
    a->proxy_command = nm_xstrdup(v);
}

static void take_known_hosts(struct ctx *x, const char *shown, const char *v)
{
    char **files = NULL;
    size_t n = 0;
    const char *why = NULL;
    if (nm_shell_words(v, 16, &files, &n, &why) < 0 || n == 0) {
        set_error(x->a, "%s: %.*s: %s", x->var, SHOWN_MAX, shown, why ? why : "no file named");
    } else if (strcmp(files[0], "/dev/null") == 0 || strcasecmp(files[0], "none") == 0) {
        /* The "trust anything" idiom (with StrictHostKeyChecking=no). */
        add_note(x->a,
                 "%s: %.*s not used: nearmiss always verifies host keys against a known_hosts "
                 "file",
                 x->var, SHOWN_MAX, shown);
    } else {
        take_path(x, shown, files[0], &x->a->known_hosts);
        if (n > 1)
            add_note(x->a, "%s: %.*s: only the first file is read", x->var, SHOWN_MAX, shown);
    }
    free(files);
}

static void take_strict(struct ctx *x, const char *shown, const char *v)
{
    if (strcasecmp(v, "yes") == 0 || strcasecmp(v, "ask") == 0)
        return; /* what nearmiss does anyway ("ask" has nobody to ask) */
    add_note(x->a,
             "%s: %.*s not followed: nearmiss always verifies host keys (an unknown key is "
             "recorded only with --accept-new; a changed key is never accepted)",
             x->var, SHOWN_MAX, shown);
}

/* One -o argument: "Key=Value", "Key Value" or "Key = Value". */
static void option(struct ctx *x, const char *arg)
{
    char shown[SHOWN_MAX + 8];
    snprintf(shown, sizeof shown, "-o %s", arg);
    size_t klen = strcspn(arg, "= \t");
    const char *v = arg + klen;
    while (is_blank(*v))
        v++;
    if (*v == '=')
        v++;
    while (is_blank(*v))
        v++;
    char *value = nm_xstrdup(v);
    size_t vlen = strlen(value);
    while (vlen > 0 && is_blank(value[vlen - 1]))
        value[--vlen] = '\0';
    /* ssh takes a quoted value in a config line; so do -o arguments. */
    if (vlen >= 2 && value[0] == '"' && value[vlen - 1] == '"') {
        memmove(value, value + 1, vlen - 2);
        value[vlen - 2] = '\0';
    }
    static const char *const keys[] = {
        "ProxyJump",          "ProxyCommand",          "Port", "User", "IdentityFile",
        "UserKnownHostsFile", "StrictHostKeyChecking", NULL};
    size_t k = 0;
    while (keys[k] && !(strlen(keys[k]) == klen && strncasecmp(keys[k], arg, klen) == 0))
        k++;
    if (!keys[k]) {
        add_note(x->a, "%s: %.*s not used", x->var, SHOWN_MAX, shown);
    } else if (!*value) {
        /* ssh refuses it too ("missing argument"). */
        set_error(x->a, "%s: %.*s has no value (write -o '%.*s VALUE' or -o %.*s=VALUE)", x->var,
                  SHOWN_MAX, shown, (int)klen, arg, (int)klen, arg);
    } else {
        switch (k) {
        case 0:
            take_jump(x, shown, value);
            break;
        case 1:
            take_command(x, shown, value);
            break;
        case 2:
            take_port(x, shown, value);
            break;
        case 3:
            take_name(x, shown, value, &x->a->user);
            break;
        case 4:
            take_path(x, shown, value, &x->a->identity);
            break;
        case 5:
            take_known_hosts(x, shown, value);
            break;
        default:
            take_strict(x, shown, value);
            break;
        }
    }
    free(value);
}

void nm_ssh_args_parse(const char *var, const char *value, struct nm_ssh_args *a)
{
    struct ctx x = {.a = a, .var = var ? var : "ssh arguments"};
    char **w = NULL;
    size_t n = 0;
    const char *why = NULL;
    if (!a || !value)
        return;
    if (nm_shell_words(value, NM_SSH_ARGS_MAX_WORDS, &w, &n, &why) < 0) {
        set_error(a, "%s: cannot split \"%.*s\" into arguments: %s", x.var, SHOWN_MAX, value, why);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *word = w[i];
        if (word[0] != '-' || !word[1]) {
            add_note(a, "%s: \"%.*s\" not used (not an option)", x.var, SHOWN_MAX, word);
            continue;
        }
        if (strcmp(word, "--") == 0) {
            if (i + 1 < n)
                add_note(a, "%s: what follows \"--\" is not used", x.var);
            break;
        }
        /* Flags may be clustered ("-4Cp 2222"); the first one taking an
         * argument ends the cluster (ssh(1) synopsis). */
        for (size_t j = 1; word[j]; j++) {
            char f = word[j];
            if (!strchr("BbcDEeFIiJLlmOoPpQRSWw", f)) {
                add_note(a, "%s: -%c not used", x.var, f);
                continue;
            }
            const char *arg = word[j + 1] ? word + j + 1 : (i + 1 < n ? w[++i] : NULL);
            if (!arg) {
                set_error(a, "%s: -%c has no value", x.var, f);
                break;
            }
            char shown[SHOWN_MAX + 8];
            snprintf(shown, sizeof shown, "-%c %s", f, arg);
            switch (f) {
            case 'o':
                option(&x, arg);
                break;
            case 'J':
                take_jump(&x, shown, arg);
                break;
            case 'p':
                take_port(&x, shown, arg);
                break;
            case 'l':
                take_name(&x, shown, arg, &a->user);
                break;
            case 'i':
                take_path(&x, shown, arg, &a->identity);
                break;
            default:
                add_note(a, "%s: %.*s not used", x.var, SHOWN_MAX, shown);
                break;
            }
            break;
        }
    }
    free(w);
}

void nm_ssh_args_finish(struct nm_ssh_args *a)
{
    if (!a)
        return;
    free(a->proxy_jump);
    free(a->proxy_command);
    free(a->user);
    free(a->identity);
    free(a->known_hosts);
    free(a->note);
    free(a->error);
    memset(a, 0, sizeof *a);
}
