/*
 * The probe script (builder) and the splitter that cuts its output back into
 * per-probe sections.  The wire protocol is described in nearmiss/script.h.
 *
 * Everything the splitter sees comes from a host and is treated as hostile:
 * it never allocates per input byte beyond the per-probe caps, keeps a fixed
 * carry (the partially matched frame prefix plus at most LINE_REST_MAX bytes
 * of a candidate frame line), and stops accepting input at the host cap.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "nearmiss/script.h"

/* "\n" + marker + " ": what precedes B/E/S inside a section (outside one the
 * leading "\n" is not required, see below). */
#define FRAME_LEN (1 + NM_MARKER_LEN + 1)
/*
 * Longest tail of a frame line after the prefix: "S <id> <reason>" is
 * 2 + 64 + 1 + 31 bytes, "E <id> <rc>" at most 2 + 64 + 1 + 10, and
 * "R <id> <command line>" 2 + 64 + 1 + NM_REFUSED_LEN.  Anything longer
 * cannot be a frame line, so the carry never grows beyond this.
 */
#define LINE_REST_MAX (2 + NM_PROBE_ID_MAX + 1 + NM_REFUSED_LEN)
#define REASON_MAX    (sizeof(((struct nm_section *)0)->skip_reason) - 1)
#define NO_SECTION    SIZE_MAX
/* What the host reads of a probe's stderr: one byte past the most a probe
 * may keep, so that the cap is still seen, and never the whole of a huge
 * file into the shell's memory.  dd(1) reads a regular file in one read. */
#define STDERR_READ "8388609"
_Static_assert(NM_PROBE_MAX_OUTPUT + 1 == 8388609, "STDERR_READ is NM_PROBE_MAX_OUTPUT + 1");
_Static_assert(NM_REFUSED_LEN == 300, "nm_root's cut -c 1-300 must match NM_REFUSED_LEN");

/* ---- validation shared by the builder and the splitter ---- */

static bool is_hex(char c)
{
    /* Not isxdigit(): the protocol must not depend on the caller's locale. */
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool is_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

static bool marker_valid(const char *m)
{
    if (!m)
        return false;
    /* Stops at a short string's NUL, which is not hex, so never reads past it. */
    for (size_t i = 0; i < NM_MARKER_LEN; i++)
        if (!is_hex(m[i]))
            return false;
    return m[NM_MARKER_LEN] == '\0';
}

static bool id_valid_n(const char *s, size_t len)
{
    if (len < 1 || len > NM_PROBE_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_id_char(s[i]))
            return false;
    return true;
}

static bool id_valid(const char *s)
{
    return s && id_valid_n(s, strnlen(s, NM_PROBE_ID_MAX + 1));
}

/* Checks every id and that no id repeats; on failure says which probe. */
static int probes_validate(const struct nm_probe_spec *probes, size_t n, nm_diag *d)
{
    if (n > 0 && !probes)
        return nm_diag_set(d, NM_ERR_INVAL, "probe list is NULL");
    for (size_t i = 0; i < n; i++) {
        if (!id_valid(probes[i].id))
            return nm_diag_set(d, NM_ERR_INVAL,
                               "probe %zu: invalid id \"%.80s\" (want [A-Za-z0-9._-]{1,%d})", i,
                               probes[i].id ? probes[i].id : "(null)", NM_PROBE_ID_MAX);
        if (!probes[i].script)
            return nm_diag_set(d, NM_ERR_INVAL, "probe %s: no script", probes[i].id);
        /* Quadratic, but probe lists are tens long and this runs once per build. */
        for (size_t j = 0; j < i; j++)
            if (strcmp(probes[i].id, probes[j].id) == 0)
                return nm_diag_set(d, NM_ERR_INVAL, "probe %zu: duplicate id \"%s\"", i,
                                   probes[i].id);
    }
    return 0;
}

int nm_marker_generate(char marker[NM_MARKER_LEN + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[NM_MARKER_LEN / 2];

    if (RAND_bytes(raw, (int)sizeof raw) != 1)
        return NM_ERR_IO;
    for (size_t i = 0; i < sizeof raw; i++) {
        marker[2 * i] = hex[raw[i] >> 4];
        marker[2 * i + 1] = hex[raw[i] & 0xf];
    }
    marker[NM_MARKER_LEN] = '\0';
    return 0;
}

/* ---- the script ---- */

/*
 * nm_probe ID ROOT TIMEOUT RAW SNIPPET frames one probe.  ROOT is 0 (runs as
 * the login user), 1 (the whole snippet runs as root) or 2 (the snippet runs
 * as the login user and only the commands it hands to nm_root run as root).
 * RAW 1 sends the output as it comes (below).
 * Wrappers are stacked with `set --` so no eval is needed.  sudo goes
 * outermost so that timeout(1) runs as root too and can still kill a root
 * child; timeout's path is absolute so sudo's secure_path does not matter.
 * `sh -c --` keeps a snippet that starts with "-" from being read as
 * options.  For ROOT=2 fd 9 is the section's stdout, kept for nm_root's R
 * lines when the snippet has redirected its own stdout (and closed for the
 * commands it runs, so nothing left behind holds the channel open).
 *
 * Every write the host makes is an SSH packet that both ends pay for (a
 * wakeup, a MAC, a decryption), so a probe's frame goes out in one write:
 * its stdout is captured (`nm_o=$(...)`; the shell execs the probe in the
 * subshell it forks anyway, so this costs no extra process) and its stderr
 * goes to a private scratch file ($nm_ef) whose bytes are captured (read
 * by dd(1), to one byte past the largest cap) and framed only when the
 * probe wrote to it.  Frames then wait in nm_eo (the stderr ones in nm_es)
 * until a second has passed since the last write or, for the first, since
 * the script began (read from /proc/uptime by the shell itself; where that
 * file is missing, every probe is sent as it ends), so a fast host sends
 * its whole output in one write per stream (nm_put: bash needs cat(1) for
 * that, see nm_cat).  The price: a probe that
 * hangs so hard that timeout(1) cannot end it (a dead NFS mount) takes with
 * it its own output and that of the probes that ended in the second before
 * it; everything older is already sent.  Sending the whole output at the
 * end would lose all of it.  The capture drops NUL bytes and trailing
 * newlines (one newline is put back), for stderr as for stdout; the shell's
 * warning about NULs (bash) goes to /dev/null.  A RAW probe (its parser
 * reads bytes: DER certificates) is not captured: its stdout streams as it
 * comes, after what was held.
 * Where no scratch file can be made, output streams as it comes: the E
 * lines then wait in nm_eo/nm_ee and go out with the next B (or S) line.
 * The "\n" before each E line is what lets output without a final newline
 * end cleanly.
 */
static const char script_probe_fn[] =
    "nm_put() {\n"
    "    [ -n \"$1\" ] || return 0\n"
    "    if [ -n \"$nm_cat\" ]; then\n"
    "        case $1 in $nm_q*\"\n"
    "\")\n"
    "            { cat <<nm_EOF\n"
    "${1%?}\n"
    "nm_EOF\n"
    "            } 2>/dev/null && return 0 ;;\n"
    "        esac\n"
    "    fi\n"
    "    printf '%s' \"$1\"\n"
    "}\n"
    "nm_probe() {\n"
    "    nm_id=$1 nm_nr=$2 nm_t=$3 nm_raw=$4\n"
    "    shift 4\n"
    "    set -- sh -c -- \"$1\"\n"
    "    if [ \"$nm_t\" != 0 ] && [ -n \"$nm_to\" ]; then\n"
    "        set -- \"$nm_to\" -k 2 \"$nm_t\" \"$@\"\n"
    "    fi\n"
    "    if [ \"$nm_nr\" != 0 ]; then\n"
    "        nm_why=\n"
    "        case $nm_sudo in\n"
    "        root) ;;\n"
    "        all)\n"
    "            [ \"$nm_nr\" = 1 ] &&\n"
    "                set -- sudo -n ${NM_SUDO_USER:+-u \"$NM_SUDO_USER\"} \"$@\"\n"
    "            ;;\n"
    "        some) [ \"$nm_nr\" = 1 ] && nm_why=partial ;;\n"
    "        *) nm_why=$nm_sudo ;;\n"
    "        esac\n"
    "        if [ -n \"$nm_why\" ]; then\n"
    "            nm_eo=\"$nm_eo$nm_m S $nm_id $nm_why\n"
    "\"\n"
    "            return 0\n"
    "        fi\n"
    "    fi\n"
    "    NM_PROBE_ID=$nm_id; export NM_PROBE_ID\n"
    "    if [ -n \"$nm_ef\" ] && [ \"$nm_raw\" != 1 ]; then\n"
    "        if [ \"$nm_nr\" = 2 ]; then { nm_o=$(\"$@\" 9>&1 2>\"$nm_ef\"); } 2>/dev/null\n"
    "        else { nm_o=$(\"$@\" 2>\"$nm_ef\"); } 2>/dev/null; fi\n"
    "        nm_rc=$?\n"
    "        nm_eo=\"$nm_eo$nm_m B $nm_id\n"
    "${nm_o:+$nm_o\n"
    "}\n"
    "$nm_m E $nm_id $nm_rc\n"
    "\"\n"
    "        nm_o=\n"
    "    else\n"
    "        nm_eo=\"$nm_eo$nm_m B $nm_id\n"
    "\"\n"
    "        nm_put \"$nm_eo\"\n"
    "        if [ -n \"$nm_ef\" ]; then\n"
    "            if [ \"$nm_nr\" = 2 ]; then \"$@\" 9>&1 2>\"$nm_ef\"; else \"$@\" 2>\"$nm_ef\"; fi\n"
    "        else\n"
    "            nm_ee=\"$nm_ee$nm_m B $nm_id\n"
    "\"\n"
    "            nm_put \"$nm_ee\" >&2\n"
    "            if [ \"$nm_nr\" = 2 ]; then \"$@\" 9>&1; else \"$@\"; fi\n"
    "        fi\n"
    "        nm_rc=$?\n"
    "        nm_eo=\"\n"
    "$nm_m E $nm_id $nm_rc\n"
    "\"\n"
    "        if [ -z \"$nm_ef\" ]; then\n"
    "            nm_ee=\"\n"
    "$nm_m E $nm_id\n"
    "\"\n"
    "            return 0\n"
    "        fi\n"
    "    fi\n"
    "    if [ -s \"$nm_ef\" ]; then\n"
    "        { nm_x=$(dd if=\"$nm_ef\" bs=" STDERR_READ " count=1); } 2>/dev/null\n"
    "        nm_es=\"$nm_es$nm_m B $nm_id\n"
    "${nm_x:+$nm_x\n"
    "}\n"
    "$nm_m E $nm_id\n"
    "\"\n"
    "        nm_x=\n"
    "    fi\n"
    "    if [ -n \"$nm_up\" ] && read nm_up nm_x </proc/uptime; then\n"
    "        nm_up=${nm_up%.*}\n"
    "        [ $((nm_up - nm_last)) -lt 1 ] && return 0\n"
    "        nm_last=$nm_up\n"
    "    fi\n"
    "    nm_put \"$nm_eo\"\n"
    "    nm_put \"$nm_es\" >&2\n"
    "    nm_eo= nm_es=\n"
    "}\n";

/*
 * Put in front of the snippet of a ROOT=2 probe.  nm_root [-t SEC] NAME ARG...
 * runs NAME, found on PATH, as root: directly when the login user is root,
 * else as `sudo -n /full/path ARG...`, the exact line a sudoers drop-in names
 * (`nearmiss sudoers`).  Where sudo allows only some commands, `sudo -l`
 * asks first (it runs nothing), and a refused command is reported on an R
 * line instead of being run: its failure would otherwise look like the
 * command's own.  timeout(1) stays outside sudo so it is not part of the line
 * to allow; sudo passes its SIGTERM on to the command.
 */
static const char script_root_fn[] =
    "nm_root() {\n"
    "    nm_rt=\n"
    "    if [ \"$1\" = -t ]; then nm_rt=$2; shift 2; fi\n"
    "    nm_rp=$(command -v \"$1\" 2>/dev/null) || return 127\n"
    "    case $nm_rp in /*) ;; *) return 127 ;; esac\n"
    "    shift\n"
    "    set -- \"$nm_rp\" \"$@\"\n"
    "    case ${NM_SUDO:-} in\n"
    "    root) ;;\n"
    "    all) set -- sudo -n ${NM_SUDO_USER:+-u \"$NM_SUDO_USER\"} \"$@\" ;;\n"
    "    some)\n"
    "        if sudo -n ${NM_SUDO_USER:+-u \"$NM_SUDO_USER\"} -l \"$@\" >/dev/null 2>&1; then\n"
    "            set -- sudo -n ${NM_SUDO_USER:+-u \"$NM_SUDO_USER\"} \"$@\"\n"
    "        else\n"
    "            nm_rl=$(printf '%s' \"$*\" | tr -c ' -~' '?' | cut -c 1-300)\n"
    "            printf '\\n%s R %s %s\\n' \"$NM_M\" \"$NM_PROBE_ID\" \"$nm_rl\" >&9\n"
    "            return 126\n"
    "        fi ;;\n"
    "    *) return 126 ;;\n"
    "    esac\n"
    "    if [ -n \"$nm_rt\" ] && [ -n \"${NM_TO:-}\" ]; then\n"
    "        set -- \"$NM_TO\" -k 2 \"$nm_rt\" \"$@\"\n"
    "    fi\n"
    "    \"$@\" 9>&-\n"
    "}\n";

/*
 * The body is one function, called with stdin from /dev/null: the shell has
 * then parsed the whole script before anything runs, and no probe can read
 * (and so swallow) the rest of the script from the channel's stdin.
 */
static const char script_preamble[] =
    "nm_main() {\n"
    "set +e\n"
    "umask 077\n"
    "LC_ALL=C; export LC_ALL\n"
    "PATH=\"${PATH:-/usr/bin:/bin}:/usr/sbin:/sbin:/usr/local/sbin\"; export PATH\n"
    "nm_root=0\n"
    "[ \"$(id -u 2>/dev/null)\" = 0 ] && nm_root=1\n"
    "nm_sudo=root\n"
    "nm_to=\n"
    "nm_eo=\n"
    "nm_ee=\n"
    /* The scratch file for probes' stderr.  On Linux it is unlinked at once
     * and reached through /proc/$$/fd/7, so a scan cut short by the client's
     * deadline leaves nothing behind; elsewhere it is removed at the end.
     * No trap: a shell with traps set forks once more for every command. */
    "nm_ef= nm_en= nm_up= nm_last=0 nm_es=\n"
    /* bash line-buffers its stdout: a long printf ends in one write, one
     * packet, per line.  nm_put sends held output of 4096 bytes or more
     * (it begins with $nm_q: 4096 times '?') through cat(1) there instead,
     * one fork per flush, a few per host.  The check itself writes through
     * the buffer once (to /dev/null), which makes bash's short printfs one
     * write each as well.  No length expansion (dollar, brace, hash): tools
     * that template a command they pass on (Ansible's raw) read that as the
     * start of a comment and refuse the whole script. */
    "nm_cat= nm_q=\n"
    "if [ -n \"${BASH_VERSION-}\" ] && command -v cat >/dev/null 2>&1; then\n"
    "    nm_cat=1 nm_q='?'\n"
    "    nm_q=$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q\n"
    "    nm_q=$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q\n"
    "    nm_q=$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q$nm_q\n"
    "fi\n"
    "[ -r /proc/uptime ] && read nm_up nm_x </proc/uptime && nm_last=${nm_up%.*}\n"
    "if nm_en=$(mktemp \"${TMPDIR:-/tmp}/nearmiss.XXXXXXXX\" 2>/dev/null) && [ -f \"$nm_en\" ]; then\n"
    "    nm_ef=$nm_en\n"
    "    if exec 7>\"$nm_en\" && [ -w \"/proc/$$/fd/7\" ]; then\n"
    "        rm -f \"$nm_en\"; nm_en= nm_ef=/proc/$$/fd/7\n"
    "    fi\n"
    "else\n"
    "    nm_en=\n"
    "fi\n"
    /* The scan must not compete with the host's own work: everything below
     * (sudo and timeout(1) included) inherits the lowest CPU share and the
     * idle I/O class, where the host has renice and ionice. */
    "command -v renice >/dev/null 2>&1 && renice -n 10 -p $$ >/dev/null 2>&1\n"
    "command -v ionice >/dev/null 2>&1 && ionice -c 3 -p $$ >/dev/null 2>&1\n";

/*
 * Only when some probe needs root.  nm_sudo says what root probes can
 * expect: root (the login user is root), all (sudo runs anything without a
 * password), some (sudo lists this user's rights without a password but
 * does not allow everything: a drop-in of exact commands), password (sudo
 * wants one), notallowed (sudo says this user may not use it), nosudo (none
 * installed), off (the inventory says never to use it).  Listing first
 * (`sudo -l`, `sudo -l true`) runs nothing, so a host with an exact-command
 * drop-in does not log a refused `sudo true` on every scan; only a user who
 * cannot even list tries `sudo -n true` to learn why.
 */
static const char script_sudo_probe[] =
    "if [ \"$nm_root\" != 1 ]; then\n"
    "    if [ \"$nm_become\" = 0 ]; then nm_sudo=off\n"
    "    elif ! command -v sudo >/dev/null 2>&1; then nm_sudo=nosudo\n"
    "    elif sudo -n -l >/dev/null 2>&1; then\n"
    "        nm_sudo=some\n"
    "        sudo -n ${NM_SUDO_USER:+-u \"$NM_SUDO_USER\"} -l true >/dev/null 2>&1 &&\n"
    "            sudo -n ${NM_SUDO_USER:+-u \"$NM_SUDO_USER\"} true >/dev/null 2>&1 &&\n"
    "            nm_sudo=all\n"
    "    elif nm_se=$(sudo -n ${NM_SUDO_USER:+-u \"$NM_SUDO_USER\"} true 2>&1); then nm_sudo=all\n"
    "    else\n"
    "        case $nm_se in\n"
    "        *'not allowed'* | *'not in the sudoers'* | *'may not run sudo'*)\n"
    "            nm_sudo=notallowed ;;\n"
    "        *) nm_sudo=password ;;\n"
    "        esac\n"
    "    fi\n"
    "fi\n"
    "NM_SUDO=$nm_sudo NM_M=$nm_m; export NM_SUDO NM_M\n";

/* Tried once for real: an old busybox timeout(1) has another syntax (-t). */
static const char script_timeout_probe[] =
    "nm_to=$(command -v timeout 2>/dev/null)\n"
    "if [ -n \"$nm_to\" ] && ! \"$nm_to\" -k 1 5 true >/dev/null 2>&1; then nm_to=; fi\n"
    "NM_TO=$nm_to; export NM_TO\n";

static const char script_tail[] = "nm_put \"$nm_eo\"\n"
                                  "nm_put \"$nm_es$nm_ee\" >&2\n"
                                  "[ -n \"$nm_en\" ] && rm -f \"$nm_en\"\n"
                                  "}\n"
                                  "nm_main </dev/null\n"
                                  "exit 0\n";

int nm_script_build(const struct nm_probe_spec *probes, size_t n, const char *marker,
                    struct nm_buf *out, nm_diag *d)
{
    return nm_script_build_opts(probes, n, marker, NULL, out, d);
}

/* A user name goes into the script single-quoted, but sudo reads it too:
 * only what a login name can hold, so it can never read as an option. */
static bool sudo_user_valid(const char *u)
{
    size_t n = strnlen(u, 65);
    if (n == 0 || n > 64 || u[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_id_char(u[i]) && u[i] != '@' && u[i] != '$')
            return false;
    return true;
}

/*
 * Everything but the marker and the host's TLS name: the same for every host
 * with the same probes and privilege choices, so a scan builds it once per
 * kind of host and only renders it per host (nm_script_render).
 */
int nm_script_template_build(const struct nm_probe_spec *probes, size_t n,
                             const struct nm_script_opts *opts, struct nm_script_template *t,
                             nm_diag *d)
{
    struct nm_buf b;
    bool any_root = false, any_timeout = false;
    int r;

    if (!t)
        return nm_diag_set(d, NM_ERR_INVAL, "no template");
    *t = (struct nm_script_template){0};
    r = probes_validate(probes, n, d);
    if (r < 0)
        return r;
    if (opts && opts->sudo_user && !sudo_user_valid(opts->sudo_user))
        return nm_diag_set(d, NM_ERR_INVAL, "invalid user name for sudo -u: \"%.80s\"",
                           opts->sudo_user);
    for (size_t i = 0; i < n; i++) {
        any_root |= probes[i].needs_root;
        any_timeout |= probes[i].timeout_s > 0;
    }

    nm_buf_init(&b, SIZE_MAX);
    nm_buf_appends(&b, "# nearmiss probe script\n");
    nm_buf_appends(&b, script_probe_fn);
    nm_buf_appends(&b, script_preamble);
    nm_buf_appends(&b, "nm_m=");
    t->head_len = b.len; /* the marker and NM_SNI go here (nm_script_render) */
    nm_buf_appends(&b, "\n");
    if (any_root) {
        nm_buf_appendf(&b, "nm_become=%d\n", opts && opts->no_sudo ? 0 : 1);
        if (opts && opts->sudo_user) {
            nm_buf_appends(&b, "NM_SUDO_USER=");
            nm_buf_append_shquoted(&b, opts->sudo_user);
            nm_buf_appends(&b, "; export NM_SUDO_USER\n");
        } else {
            nm_buf_appends(&b, "NM_SUDO_USER=\n");
        }
        nm_buf_appends(&b, script_sudo_probe);
    }
    if (any_timeout)
        nm_buf_appends(&b, script_timeout_probe);
    for (size_t i = 0; i < n; i++) {
        nm_buf_appends(&b, "nm_probe ");
        nm_buf_append_shquoted(&b, probes[i].id);
        int mode = !probes[i].needs_root ? 0 : probes[i].root_commands ? 2 : 1;
        nm_buf_appendf(&b, " %d %u %d ", mode, probes[i].timeout_s, probes[i].raw ? 1 : 0);
        if (mode == 2) {
            /* One quoted word: nm_root is defined inside the probe's own sh. */
            struct nm_buf w;
            nm_buf_init(&w, SIZE_MAX);
            nm_buf_appends(&w, script_root_fn);
            nm_buf_appends(&w, probes[i].script);
            nm_buf_append_shquoted(&b, w.data);
            nm_buf_finish(&w);
        } else {
            nm_buf_append_shquoted(&b, probes[i].script);
        }
        nm_buf_appends(&b, "\n");
    }
    nm_buf_appends(&b, script_tail);
    t->text = nm_buf_steal(&b, &t->len);
    return 0;
}

void nm_script_template_finish(struct nm_script_template *t)
{
    if (!t)
        return;
    free(t->text);
    *t = (struct nm_script_template){0};
}

int nm_script_render(const struct nm_script_template *t, const char *marker, const char *tls_name,
                     struct nm_buf *out, nm_diag *d)
{
    if (!out || !t || !t->text)
        return nm_diag_set(d, NM_ERR_INVAL, "no output buffer or template");
    if (!marker_valid(marker))
        return nm_diag_set(d, NM_ERR_INVAL, "marker must be exactly %d hex digits", NM_MARKER_LEN);
    /* The host's part, then the whole measured against out's cap before
     * anything is appended: out is untouched on failure. */
    struct nm_buf host;
    nm_buf_init(&host, SIZE_MAX);
    nm_buf_append(&host, marker, NM_MARKER_LEN);
    /* What the TLS discovery probe names the host's services by (SNI). */
    nm_buf_appends(&host, "\nNM_SNI=");
    nm_buf_append_shquoted(&host, tls_name ? tls_name : "");
    nm_buf_appends(&host, "; export NM_SNI");
    int r = 0;
    if (out->cap < out->len || out->cap - out->len < t->len + host.len) {
        r = nm_diag_set(d, NM_ERR_TOOBIG, "script of %zu bytes does not fit the buffer",
                        t->len + host.len);
    } else {
        nm_buf_append(out, t->text, t->head_len);
        nm_buf_append(out, host.data, host.len);
        nm_buf_append(out, t->text + t->head_len, t->len - t->head_len);
    }
    nm_buf_finish(&host);
    return r;
}

int nm_script_build_opts(const struct nm_probe_spec *probes, size_t n, const char *marker,
                         const struct nm_script_opts *opts, struct nm_buf *out, nm_diag *d)
{
    if (!out)
        return nm_diag_set(d, NM_ERR_INVAL, "no output buffer");
    if (!marker_valid(marker))
        return nm_diag_set(d, NM_ERR_INVAL, "marker must be exactly %d hex digits", NM_MARKER_LEN);
    struct nm_script_template t;
    int r = nm_script_template_build(probes, n, opts, &t, d);
    if (r == 0)
        r = nm_script_render(&t, marker, NULL, out, d);
    nm_script_template_finish(&t);
    return r;
}

/* ---- the splitter ---- */

struct sp_section {
    struct nm_section pub;
    unsigned timeout_s;
    bool begun[2]; /* B line seen on stdout / stderr */
    bool ended[2]; /* matching E line seen */
};

struct sp_stream {
    size_t cur;               /* open section, or NO_SECTION */
    size_t next;              /* sections begin in script order: lowest index still allowed */
    size_t k;                 /* bytes of the frame prefix matched so far (the carry) */
    char rest[LINE_REST_MAX]; /* candidate frame line after the prefix */
    size_t rest_len;
};

struct nm_splitter {
    /* Inside a section the prefix is "\n<M> " (the script adds that "\n").
     * Outside one, "<M> " anywhere will do, so a B line after stray output
     * with no final newline (a chatty .bashrc) is still found. */
    char frame[FRAME_LEN];
    /* KMP failure tables for both prefixes: after a mismatch the tail of the
     * matched bytes may itself start a marker (markers can repeat digits). */
    unsigned char fail_in[FRAME_LEN];
    unsigned char fail_out[FRAME_LEN - 1];
    struct sp_section *sec;
    size_t n;
    struct sp_stream st[2];
    uint64_t host_cap;
    uint64_t total;
    uint64_t stray;
    bool capped;
    bool finished;
};

static void kmp_table(const char *pat, size_t len, unsigned char *fail)
{
    size_t j = 0;
    fail[0] = 0;
    for (size_t i = 1; i < len; i++) {
        while (j > 0 && pat[i] != pat[j])
            j = fail[j - 1];
        if (pat[i] == pat[j])
            j++;
        fail[i] = (unsigned char)j;
    }
}

struct nm_splitter *nm_splitter_create(const char *marker, const struct nm_probe_spec *probes,
                                       size_t n, uint64_t host_cap)
{
    if (!marker_valid(marker) || probes_validate(probes, n, NULL) < 0)
        return NULL;

    struct nm_splitter *sp = nm_xcalloc(1, sizeof *sp);
    sp->frame[0] = '\n';
    memcpy(sp->frame + 1, marker, NM_MARKER_LEN);
    sp->frame[FRAME_LEN - 1] = ' ';
    kmp_table(sp->frame, FRAME_LEN, sp->fail_in);
    kmp_table(sp->frame + 1, FRAME_LEN - 1, sp->fail_out);
    sp->n = n;
    sp->sec = nm_xcalloc(n ? n : 1, sizeof *sp->sec);
    for (size_t i = 0; i < n; i++) {
        struct sp_section *s = &sp->sec[i];
        size_t len = strlen(probes[i].id);
        memcpy(s->pub.id, probes[i].id, len + 1);
        s->pub.state = NM_SECTION_MISSING;
        s->pub.exit_code = -1;
        nm_buf_init(&s->pub.out, probes[i].cap);
        nm_buf_init(&s->pub.err, probes[i].cap);
        s->timeout_s = probes[i].timeout_s;
    }
    for (int i = 0; i < 2; i++)
        sp->st[i].cur = NO_SECTION;
    sp->host_cap = host_cap;
    return sp;
}

void nm_splitter_destroy(struct nm_splitter *sp)
{
    if (!sp)
        return;
    for (size_t i = 0; i < sp->n; i++) {
        nm_buf_finish(&sp->sec[i].pub.out);
        nm_buf_finish(&sp->sec[i].pub.err);
    }
    free(sp->sec);
    free(sp);
}

/* Bytes that are not framing: content of the open section, else stray. */
static void emit(struct nm_splitter *sp, int s, const char *data, size_t len)
{
    struct sp_stream *st = &sp->st[s];
    if (len == 0)
        return;
    if (st->cur == NO_SECTION) {
        sp->stray += len;
        return;
    }
    struct nm_section *sec = &sp->sec[st->cur].pub;
    if (s == 0) {
        sec->out_total += len;
        if (nm_buf_append(&sec->out, data, len) < 0)
            sec->out_truncated = true;
    } else {
        sec->err_total += len;
        if (nm_buf_append(&sec->err, data, len) < 0)
            sec->err_truncated = true;
    }
}

static size_t section_lookup(const struct nm_splitter *sp, const char *id, size_t len)
{
    for (size_t i = 0; i < sp->n; i++)
        if (strlen(sp->sec[i].pub.id) == len && memcmp(sp->sec[i].pub.id, id, len) == 0)
            return i;
    return NO_SECTION;
}

struct frame_line {
    char type; /* 'B', 'E' or 'S' */
    const char *id;
    size_t id_len;
    int rc;             /* E on stdout */
    const char *reason; /* S; R: the refused command line */
    size_t reason_len;
};

/*
 * Parses the tail of a frame line (what follows "<M> ", without the "\n").
 * Only the exact forms the script prints are frame lines; anything else is
 * left to be treated as ordinary bytes.
 */
static bool frame_line_parse(const char *p, size_t len, int s, struct frame_line *fl)
{
    const char *end = p + len, *q;

    *fl = (struct frame_line){0};
    if (len < 3 || p[1] != ' ')
        return false;
    fl->type = p[0];
    if (fl->type != 'B' && fl->type != 'E' && !((fl->type == 'S' || fl->type == 'R') && s == 0))
        return false;
    p += 2;
    for (q = p; q < end && *q != ' '; q++)
        ;
    if (!id_valid_n(p, (size_t)(q - p)))
        return false;
    fl->id = p;
    fl->id_len = (size_t)(q - p);
    p = q;
    if (fl->type == 'B' || (fl->type == 'E' && s == 1))
        return p == end;
    if (p == end || *p != ' ')
        return false;
    p++;
    if (fl->type == 'E') {
        uint64_t rc;
        if (nm_parse_u64(&p, end, &rc) < 0 || p != end || rc > INT_MAX)
            return false;
        fl->rc = (int)rc;
        return true;
    }
    if (fl->type == 'R') {
        /* A command line: words, so spaces too, and nothing else unprintable. */
        if (p == end || (size_t)(end - p) > NM_REFUSED_LEN)
            return false;
        for (q = p; q < end; q++)
            if (*q < ' ' || *q > '~')
                return false;
        fl->reason = p;
        fl->reason_len = (size_t)(end - p);
        return true;
    }
    if (p == end || (size_t)(end - p) > REASON_MAX)
        return false;
    for (q = p; q < end; q++)
        if (*q <= ' ' || *q > '~')
            return false;
    fl->reason = p;
    fl->reason_len = (size_t)(end - p);
    return true;
}

/* A frame line arrived out of place: whatever section was open on this
 * stream stays PARTIAL (it was set so when it began) and is closed. */
static void close_damaged(struct sp_stream *st)
{
    st->cur = NO_SECTION;
}

/* Acts on a well-formed frame line; out-of-place ones count as stray. */
static void frame_line_apply(struct nm_splitter *sp, int s, const struct frame_line *fl,
                             size_t line_len)
{
    struct sp_stream *st = &sp->st[s];
    size_t idx = section_lookup(sp, fl->id, fl->id_len);
    /* The script runs probes in order, so a section may only begin after
     * the last one that began (or was skipped) on this stream. */
    bool can_begin = idx != NO_SECTION && idx >= st->next;

    switch (fl->type) {
    case 'B':
        if (st->cur != NO_SECTION)
            close_damaged(st);
        if (!can_begin) {
            sp->stray += line_len;
            return;
        }
        st->cur = idx;
        st->next = idx + 1;
        sp->sec[idx].begun[s] = true;
        if (sp->sec[idx].pub.state == NM_SECTION_MISSING)
            sp->sec[idx].pub.state = NM_SECTION_PARTIAL;
        return;
    case 'E':
        if (st->cur == NO_SECTION || idx != st->cur) {
            /* END without BEGIN, or for another section than the open one. */
            if (st->cur != NO_SECTION)
                close_damaged(st);
            sp->stray += line_len;
            return;
        }
        st->cur = NO_SECTION;
        sp->sec[idx].ended[s] = true;
        if (s == 0) {
            struct nm_section *sec = &sp->sec[idx].pub;
            sec->exit_code = fl->rc;
            sec->state =
                fl->rc == 124 && sp->sec[idx].timeout_s > 0 ? NM_SECTION_TIMEOUT : NM_SECTION_DONE;
        }
        return;
    case 'R':
        /* Only from inside the probe it names; it does not end the section. */
        if (st->cur == NO_SECTION || idx != st->cur) {
            sp->stray += line_len;
            return;
        }
        {
            struct nm_section *sec = &sp->sec[idx].pub;
            if (sec->n_refused < NM_REFUSED_MAX) {
                memcpy(sec->refused[sec->n_refused], fl->reason, fl->reason_len);
                sec->refused[sec->n_refused][fl->reason_len] = '\0';
                sec->n_refused++;
            }
            if (sec->refused_total < UINT32_MAX)
                sec->refused_total++;
        }
        return;
    case 'S':
        if (st->cur != NO_SECTION)
            close_damaged(st);
        if (!can_begin) {
            sp->stray += line_len;
            return;
        }
        st->next = idx + 1;
        sp->sec[idx].pub.state = NM_SECTION_SKIPPED;
        memcpy(sp->sec[idx].pub.skip_reason, fl->reason, fl->reason_len);
        sp->sec[idx].pub.skip_reason[fl->reason_len] = '\0';
        return;
    default:
        return;
    }
}

static void stream_scan(struct nm_splitter *sp, int s, const char *p, const char *end);

/*
 * The held bytes turned out not to be a frame line: give them back as
 * ordinary bytes.  The prefix cannot hide another frame start (the KMP
 * table already took care of that), but the tail can, outside a section
 * ("<M> junk <M> B id"), so it is scanned again.  That nested scan sees no
 * "\n" and fewer than LINE_REST_MAX bytes, so it cannot release again and
 * recursion stops at depth one.
 */
static void release_line(struct nm_splitter *sp, int s, const char *pat, size_t plen)
{
    struct sp_stream *st = &sp->st[s];
    char tail[LINE_REST_MAX];
    size_t tail_len = st->rest_len;

    memcpy(tail, st->rest, tail_len);
    st->k = 0;
    st->rest_len = 0;
    emit(sp, s, pat, plen);
    stream_scan(sp, s, tail, tail + tail_len);
}

static void stream_scan(struct nm_splitter *sp, int s, const char *p, const char *end)
{
    struct sp_stream *st = &sp->st[s];

    while (p < end) {
        bool inside = st->cur != NO_SECTION;
        const char *pat = inside ? sp->frame : sp->frame + 1;
        size_t plen = inside ? FRAME_LEN : FRAME_LEN - 1;
        const unsigned char *fail = inside ? sp->fail_in : sp->fail_out;

        if (st->k == 0) {
            /* Nothing held: jump to the next byte that could start a frame,
             * so bulk output costs one memchr and one copy per chunk. */
            const char *q = memchr(p, pat[0], (size_t)(end - p));
            const char *stop = q ? q : end;
            emit(sp, s, p, (size_t)(stop - p));
            p = stop;
            if (q) {
                st->k = 1;
                p++;
            }
            continue;
        }
        if (st->k < plen) {
            if (*p == pat[st->k]) {
                st->k++;
                p++;
                continue;
            }
            /* Release the matched bytes that can no longer begin a frame,
             * then retry this byte against the longest still-viable match. */
            size_t nk = fail[st->k - 1];
            emit(sp, s, pat, st->k - nk);
            st->k = nk;
            continue;
        }
        /* Whole prefix matched: collect the line, bounded. */
        if (*p == '\n') {
            struct frame_line fl;
            if (frame_line_parse(st->rest, st->rest_len, s, &fl)) {
                size_t line_len = plen + st->rest_len + 1;
                p++;
                st->k = 0;
                st->rest_len = 0;
                frame_line_apply(sp, s, &fl, line_len);
            } else {
                /* The "\n" is not consumed: it may start the next frame. */
                release_line(sp, s, pat, plen);
            }
            continue;
        }
        if (st->rest_len == LINE_REST_MAX) {
            release_line(sp, s, pat, plen);
            continue;
        }
        st->rest[st->rest_len++] = *p++;
    }
}

int nm_splitter_feed(struct nm_splitter *sp, int stream, const char *data, size_t len)
{
    if (!sp || (stream != 0 && stream != 1) || (!data && len > 0) || sp->finished)
        return NM_ERR_INVAL;
    if (sp->capped)
        return NM_ERR_TOOBIG;
    uint64_t room = sp->host_cap - sp->total;
    size_t take = (uint64_t)len > room ? (size_t)room : len;
    sp->total += take;
    stream_scan(sp, stream, data, data + take);
    if (take < len) {
        sp->capped = true;
        return NM_ERR_TOOBIG;
    }
    return 0;
}

void nm_splitter_finish(struct nm_splitter *sp)
{
    if (!sp || sp->finished)
        return;
    for (int s = 0; s < 2; s++) {
        struct sp_stream *st = &sp->st[s];
        bool inside = st->cur != NO_SECTION;
        /* A frame line cut off by the end of the stream: its bytes are what
         * the host sent, so they stay in the (now PARTIAL) section. */
        emit(sp, s, inside ? sp->frame : sp->frame + 1, st->k);
        emit(sp, s, st->rest, st->rest_len);
        st->k = 0;
        st->rest_len = 0;
        st->cur = NO_SECTION;
    }
    for (size_t i = 0; i < sp->n; i++) {
        struct sp_section *s = &sp->sec[i];
        /* The stdout end line makes a section DONE; stderr cut short is
         * still worth knowing, and "truncated" is the honest word for it.
         * A probe that wrote nothing to stderr may send no stderr frame at
         * all (script.h), so only a begun and unended one counts. */
        if ((s->pub.state == NM_SECTION_DONE || s->pub.state == NM_SECTION_TIMEOUT) &&
            s->begun[1] && !s->ended[1])
            s->pub.err_truncated = true;
    }
    sp->finished = true;
}

size_t nm_splitter_count(const struct nm_splitter *sp)
{
    return sp ? sp->n : 0;
}

const struct nm_section *nm_splitter_section(const struct nm_splitter *sp, size_t i)
{
    return sp && i < sp->n ? &sp->sec[i].pub : NULL;
}

const struct nm_section *nm_splitter_find(const struct nm_splitter *sp, const char *id)
{
    if (!sp || !id)
        return NULL;
    size_t i = section_lookup(sp, id, strlen(id));
    return i == NO_SECTION ? NULL : &sp->sec[i].pub;
}

uint64_t nm_splitter_total_bytes(const struct nm_splitter *sp)
{
    return sp ? sp->total : 0;
}

uint64_t nm_splitter_stray_bytes(const struct nm_splitter *sp)
{
    return sp ? sp->stray : 0;
}

bool nm_splitter_host_capped(const struct nm_splitter *sp)
{
    return sp && sp->capped;
}
