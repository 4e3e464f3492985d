/*
 * The probe script and its splitter.  The script is run for real by every
 * POSIX shell found here (/bin/sh, dash, bash --posix, busybox sh), its
 * output fed to the splitter in random chunks; hand-written streams cover
 * what a well-behaved shell never prints (damage, forgeries, truncation).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "nearmiss/script.h"
#include "test.h"

/* ---- helpers ---- */

/* xorshift64: fixed seed so a failing chunking can be replayed exactly. */
static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static unsigned rng_below(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

/* Binary-safe "X" literal with its length (sizeof, so embedded NULs count). */
struct bytes {
    const char *p;
    size_t len;
};
#define B(s) ((struct bytes){(s), sizeof(s) - 1})

static void print_escaped(const char *p, size_t len)
{
    size_t shown = len < 160 ? len : 160;
    fputc('"', stderr);
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == '\n')
            fputs("\\n", stderr);
        else if (c < 0x20 || c >= 0x7f || c == '"' || c == '\\')
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
    fprintf(stderr, "\"%s (%zu bytes)", shown < len ? "..." : "", len);
}

static bool same_bytes(const struct nm_buf *b, struct bytes want)
{
    return b->len == want.len && (want.len == 0 || memcmp(b->data, want.p, want.len) == 0);
}

static const char *state_name(enum nm_section_state s)
{
    static const char *const names[] = {"MISSING", "PARTIAL", "DONE", "TIMEOUT", "SKIPPED"};
    return (unsigned)s < 5 ? names[s] : "?";
}

struct expect {
    const char *id;
    enum nm_section_state state;
    int rc; /* checked for DONE and TIMEOUT */
    struct bytes out;
    struct bytes err;
    const char *skip_reason; /* checked for SKIPPED */
};

/* One CHECK per section, with a readable account of what differed. */
static void expect_section(const struct nm_splitter *sp, const struct expect *e, const char *label)
{
    const struct nm_section *s = nm_splitter_find(sp, e->id);
    bool ok = s != NULL;
    if (ok) {
        ok = s->state == e->state && same_bytes(&s->out, e->out) && same_bytes(&s->err, e->err) &&
             s->out_total == e->out.len && s->err_total == e->err.len && !s->out_truncated;
        if ((e->state == NM_SECTION_DONE || e->state == NM_SECTION_TIMEOUT) &&
            (s->exit_code != e->rc || s->err_truncated))
            ok = false;
        if (e->state == NM_SECTION_SKIPPED && strcmp(s->skip_reason, e->skip_reason) != 0)
            ok = false;
    }
    if (!ok) {
        fprintf(stderr, "%s: section %s:", label, e->id);
        if (s) {
            fprintf(stderr, " state %s (want %s) rc %d (want %d)\n  out ", state_name(s->state),
                    state_name(e->state), s->exit_code, e->rc);
            print_escaped(s->out.data ? s->out.data : "", s->out.len);
            fputs("\n  want ", stderr);
            print_escaped(e->out.p, e->out.len);
            fputs("\n  err ", stderr);
            print_escaped(s->err.data ? s->err.data : "", s->err.len);
            fputs("\n  want ", stderr);
            print_escaped(e->err.p, e->err.len);
            fprintf(stderr, "\n  skip_reason \"%s\"\n", s->skip_reason);
        } else {
            fputs(" not found\n", stderr);
        }
    }
    CHECK(ok);
}

/* Expands '@' in a template to the marker: hand-written streams stay readable. */
static void expand(struct nm_buf *b, const char *marker, struct bytes tmpl)
{
    nm_buf_init(b, SIZE_MAX);
    for (size_t i = 0; i < tmpl.len; i++) {
        if (tmpl.p[i] == '@')
            nm_buf_append(b, marker, NM_MARKER_LEN);
        else
            nm_buf_append(b, tmpl.p + i, 1);
    }
}

/* Feeds two recorded streams, interleaved at random, in chunks of
 * 1..maxchunk bytes (maxchunk 0: each stream in one piece, stdout first). */
static void feed_streams(struct nm_splitter *sp, const struct nm_buf *out, const struct nm_buf *err,
                         unsigned maxchunk)
{
    const struct nm_buf *src[2] = {out, err};
    size_t pos[2] = {0, 0};
    while (pos[0] < out->len || pos[1] < err->len) {
        int s;
        if (pos[0] == out->len)
            s = 1;
        else if (pos[1] == err->len)
            s = 0;
        else
            s = maxchunk ? (int)rng_below(2) : 0;
        size_t left = src[s]->len - pos[s];
        size_t n = maxchunk ? 1 + rng_below(maxchunk) : left;
        if (n > left)
            n = left;
        nm_splitter_feed(sp, s, src[s]->data + pos[s], n);
        pos[s] += n;
    }
}

static char *find_in_path(const char *name)
{
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        char *cand = nm_xasprintf("%.*s/%s", (int)len, path, name);
        if (len > 0 && access(cand, X_OK) == 0)
            return cand;
        free(cand);
        path += len;
        if (*path == ':')
            path++;
    }
    return NULL;
}

/*
 * The script sends a probe's stdout one of two ways (script.h): captured by
 * the shell, when it can make a scratch file, or streamed as it comes, when
 * it cannot.  Both are run for real; an unusable TMPDIR forces streaming.
 */
enum out_mode { MODE_CAPTURED, MODE_STREAMED };

static const char *mode_name(enum out_mode m)
{
    return m == MODE_CAPTURED ? "captured" : "streamed";
}

/* Captured runs get a TMPDIR of their own, which must be empty again when
 * the script has ended: the scratch file is never left behind. */
static char scratch_dir[] = "/tmp/nm-test-script.XXXXXX";

static void mode_set(enum out_mode m)
{
    setenv("TMPDIR", m == MODE_STREAMED ? "/nonexistent/nearmiss-test-no-tmp" : scratch_dir, 1);
}

static bool scratch_empty(void)
{
    char *cmd = nm_xasprintf("test -z \"$(ls -A '%s')\"", scratch_dir);
    int st = system(cmd);
    free(cmd);
    return st == 0;
}

/* What the shell's capture makes of stdout: NULs gone, trailing newlines
 * made one (none for empty output). */
static void capture_of(struct nm_buf *dst, struct bytes src)
{
    nm_buf_init(dst, SIZE_MAX);
    for (size_t i = 0; i < src.len; i++)
        if (src.p[i] != '\0')
            nm_buf_append(dst, src.p + i, 1);
    while (dst->len > 0 && dst->data[dst->len - 1] == '\n')
        dst->len--;
    if (dst->len > 0)
        nm_buf_append(dst, "\n", 1);
}

/* ---- running a script under a real shell ---- */

struct run {
    struct nm_buf out, err; /* raw bytes as the shell wrote them */
    int status;
    int64_t elapsed_ms;
    bool capped;    /* the live splitter returned NM_ERR_TOOBIG */
    bool timed_out; /* the safety deadline of this harness fired */
    unsigned reads[2]; /* reads that returned stdout / stderr bytes */
};

static void run_finish(struct run *r)
{
    nm_buf_finish(&r->out);
    nm_buf_finish(&r->err);
}

/*
 * With packet_pipes set, stdout and stderr are packet-mode pipes (O_DIRECT):
 * each write the host makes is read on its own (cut in PIPE_BUF pieces), so
 * r->reads counts the host's writes exactly instead of what a slow reader
 * happened to see merged.
 */
static bool packet_pipes;

/*
 * Starts argv with the script on stdin and reads stdout and stderr with
 * poll(), as the transport will.  With live set, every read is fed to it at
 * once (in random 1..maxchunk pieces when maxchunk > 0) and reading stops at
 * NM_ERR_TOOBIG.  The child gets its own process group so it and whatever it
 * started can be killed together.
 */
static int run_script(char *const argv[], bool drop_root, const struct nm_buf *script,
                      struct nm_splitter *live, unsigned maxchunk, struct run *r)
{
    int in[2], out[2], err[2];
    int oflags = O_CLOEXEC | (packet_pipes ? O_DIRECT : 0);
    memset(r, 0, sizeof *r);
    nm_buf_init(&r->out, 4u << 20);
    nm_buf_init(&r->err, 4u << 20);
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, oflags) < 0 || pipe2(err, oflags) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        setpgid(0, 0);
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        /* We ignore SIGPIPE in the test; the shell and its probes must not
         * inherit that. */
        signal(SIGPIPE, SIG_DFL);
        if (chdir("/") < 0)
            _exit(126);
        if (drop_root && (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0))
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    setpgid(pid, pid);
    close(in[0]);
    close(out[1]);
    close(err[1]);
    fcntl(in[1], F_SETFL, O_NONBLOCK);

    int fds[3] = {in[1], out[0], err[0]};
    size_t woff = 0;
    int64_t start = nm_now_ms();
    while (fds[1] >= 0 || fds[2] >= 0) {
        struct pollfd pfd[3];
        int map[3];
        nfds_t nf = 0;
        for (int i = 0; i < 3; i++) {
            if (fds[i] < 0)
                continue;
            pfd[nf].fd = fds[i];
            pfd[nf].events = i == 0 ? POLLOUT : POLLIN;
            pfd[nf].revents = 0;
            map[nf++] = i;
        }
        if (poll(pfd, nf, 200) < 0 && errno != EINTR)
            break;
        if (nm_now_ms() - start > 20000) {
            r->timed_out = true;
            break;
        }
        for (nfds_t j = 0; j < nf; j++) {
            int i = map[j];
            if (!pfd[j].revents)
                continue;
            if (i == 0) {
                ssize_t w = write(fds[0], script->data + woff, script->len - woff);
                if (w > 0)
                    woff += (size_t)w;
                if ((w < 0 && errno != EAGAIN && errno != EINTR) || woff == script->len) {
                    close(fds[0]);
                    fds[0] = -1;
                }
                continue;
            }
            char buf[PIPE_BUF]; /* a whole packet (packet_pipes) */
            ssize_t n = read(fds[i], buf, sizeof buf);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
            if (n <= 0) {
                close(fds[i]);
                fds[i] = -1;
                continue;
            }
            int s = i - 1;
            nm_buf_append(s ? &r->err : &r->out, buf, (size_t)n);
            r->reads[s]++;
            for (size_t off = 0; live && off < (size_t)n && !r->capped;) {
                size_t c = maxchunk ? 1 + rng_below(maxchunk) : (size_t)n;
                if (c > (size_t)n - off)
                    c = (size_t)n - off;
                if (nm_splitter_feed(live, s, buf + off, c) == NM_ERR_TOOBIG)
                    r->capped = true;
                off += c;
            }
        }
        if (r->capped)
            break;
    }
    for (int i = 0; i < 3; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    if (r->capped || r->timed_out)
        kill(-pid, SIGKILL); /* the group we created above, nothing else */
    while (waitpid(pid, &r->status, 0) < 0 && errno == EINTR)
        ;
    r->elapsed_ms = nm_now_ms() - start;
    return 0;
}

struct shell {
    const char *name;
    char *argv[4];
    char *path; /* owned */
};

/* The shells to try; absent ones are reported as skipped, not failed. */
static size_t find_shells(struct shell sh[4])
{
    size_t n = 0;
    static const char *const names[] = {"dash", "bash", "busybox"};
    sh[n++] = (struct shell){"/bin/sh", {(char *)"/bin/sh", (char *)"-s", NULL, NULL}, NULL};
    for (size_t i = 0; i < 3; i++) {
        char *p = find_in_path(names[i]);
        if (!p) {
            printf("SKIP: %s not installed, not tested\n", names[i]);
            continue;
        }
        struct shell *s = &sh[n++];
        s->name = names[i];
        s->path = p;
        s->argv[0] = p;
        if (strcmp(names[i], "dash") == 0) {
            s->argv[1] = (char *)"-s";
            s->argv[2] = NULL;
        } else if (strcmp(names[i], "bash") == 0) {
            s->argv[1] = (char *)"--posix";
            s->argv[2] = (char *)"-s";
        } else {
            s->argv[1] = (char *)"sh";
            s->argv[2] = (char *)"-s";
        }
        s->argv[3] = NULL;
    }
    return n;
}

/* ---- tests ---- */

static void test_marker(void)
{
    char a[NM_MARKER_LEN + 1], b[NM_MARKER_LEN + 1];
    CHECK_INT(nm_marker_generate(a), 0);
    CHECK_INT(nm_marker_generate(b), 0);
    CHECK_INT(strlen(a), NM_MARKER_LEN);
    bool hex = true;
    for (size_t i = 0; i < NM_MARKER_LEN; i++)
        hex &= (a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f');
    CHECK(hex);
    CHECK(strcmp(a, b) != 0);
}

static const char good_marker[] = "0123456789abcdef0123456789abcdef";

static void test_build_rejects(void)
{
    struct nm_probe_spec ok = {"ok", "true", false, 0, 10, false, false};
    struct nm_buf out;
    nm_diag d;
    char long_id[NM_PROBE_ID_MAX + 2];
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    const char *bad_ids[] = {"", "has space", "a/b", "semi;colon", "quo'te", "\xc3\xa9", long_id};

    nm_buf_init(&out, 1 << 20);
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        struct nm_probe_spec p[2] = {ok, {bad_ids[i], "true", false, 0, 10, false, false}};
        d.msg[0] = '\0';
        CHECK_INT(nm_script_build(p, 2, good_marker, &out, &d), NM_ERR_INVAL);
        CHECK(d.msg[0] != '\0');
        CHECK(nm_splitter_create(good_marker, p, 2, 1000) == NULL);
    }
    /* 64 characters is still fine. */
    long_id[NM_PROBE_ID_MAX] = '\0';
    struct nm_probe_spec p64 = {long_id, "true", false, 0, 10, false, false};
    CHECK_INT(nm_script_build(&p64, 1, good_marker, &out, NULL), 0);
    CHECK(out.len > 0);
    nm_buf_reset(&out);

    struct nm_probe_spec nullid = {NULL, "true", false, 0, 10, false, false};
    CHECK_INT(nm_script_build(&nullid, 1, good_marker, &out, NULL), NM_ERR_INVAL);
    struct nm_probe_spec nullscript = {"x", NULL, false, 0, 10, false, false};
    CHECK_INT(nm_script_build(&nullscript, 1, good_marker, &out, NULL), NM_ERR_INVAL);

    struct nm_probe_spec dup[3] = {ok, {"other", "true", false, 0, 10, false, false}, ok};
    d.msg[0] = '\0';
    CHECK_INT(nm_script_build(dup, 3, good_marker, &out, &d), NM_ERR_INVAL);
    CHECK(strstr(d.msg, "duplicate") != NULL);
    CHECK(nm_splitter_create(good_marker, dup, 3, 1000) == NULL);

    const char *bad_markers[] = {"0123456789abcdef0123456789abcde",   /* 31 */
                                 "0123456789abcdef0123456789abcdef0", /* 33 */
                                 "0123456789abcdef0123456789abcdeg",
                                 "0123456789abcdef 123456789abcdef", ""};
    for (size_t i = 0; i < sizeof bad_markers / sizeof bad_markers[0]; i++) {
        CHECK_INT(nm_script_build(&ok, 1, bad_markers[i], &out, NULL), NM_ERR_INVAL);
        CHECK(nm_splitter_create(bad_markers[i], &ok, 1, 1000) == NULL);
    }
    CHECK_INT(nm_script_build(&ok, 1, NULL, &out, NULL), NM_ERR_INVAL);
    CHECK(nm_splitter_create(NULL, &ok, 1, 1000) == NULL);
    /* Failures leave out untouched. */
    CHECK_INT(out.len, 0);
    nm_buf_finish(&out);

    /* A buffer too small for the script: NM_ERR_TOOBIG and still untouched. */
    nm_buf_init(&out, 100);
    nm_buf_appends(&out, "keep");
    CHECK_INT(nm_script_build(&ok, 1, good_marker, &out, NULL), NM_ERR_TOOBIG);
    CHECK_STR(out.data, "keep");
    nm_buf_finish(&out);
}

/* The exact text, so a change to the protocol is a visible diff. */
static void test_build_golden(void)
{
    struct nm_probe_spec p[] = {
        {"os-release", "cat /etc/os-release", false, 10, 65536, false, false},
        {"shadow-perms", "stat -c '%a %U' /etc/shadow", true, 0, 4096, false, false},
    };
    struct nm_buf out;
    char *want = NULL;
    size_t want_len = 0;
    nm_buf_init(&out, 1 << 20);
    CHECK_INT(nm_script_build(p, 2, good_marker, &out, NULL), 0);
    CHECK_INT(nm_read_file("data/script/two-probes.sh", 1 << 20, &want, &want_len, NULL), 0);
    CHECK(want && out.len == want_len && memcmp(out.data, want, want_len) == 0);
    if (want && (out.len != want_len || memcmp(out.data, want, want_len) != 0))
        fprintf(stderr, "script differs from data/script/two-probes.sh:\n%s", out.data);
    free(want);

    /* The script's own text opens no template tag: a tool that templates
     * a command before passing it on (Ansible's raw module) refuses a
     * script with an unbalanced one, as bash's length expansion reads. */
    static const char *const tags[] = {"{{", "{%", "{#"};
    for (size_t i = 0; i < sizeof tags / sizeof tags[0]; i++) {
        CHECK(strstr(out.data, tags[i]) == NULL);
        if (strstr(out.data, tags[i]))
            fprintf(stderr, "the script contains \"%s\"\n", tags[i]);
    }

    /* Without root or timeout probes, neither sudo nor timeout(1) is run. */
    nm_buf_reset(&out);
    p[1].needs_root = false;
    p[0].timeout_s = 0;
    CHECK_INT(nm_script_build(p, 2, good_marker, &out, NULL), 0);
    CHECK(strstr(out.data, "sudo -n true") == NULL);
    CHECK(strstr(out.data, "command -v timeout") == NULL);
    nm_buf_finish(&out);
}

/* ---- real shells ---- */

#define NREAL 14

/* What the script says for a root probe run by nobody: sudo refuses it
 * (wants a password: nobody has no rights), or there is none. */
/*
 * One template serves every host of a kind: rendered for two hosts, the
 * scripts differ only in the marker and NM_SNI lines, each equals what
 * nm_script_build_opts makes with that marker, and a real shell running the
 * rendered script hands the TLS name (quotes and all) to the probes.
 */
static void test_template_render(void)
{
    static const char other[] = "fedcba9876543210fedcba9876543210";
    struct nm_probe_spec p[] = {
        {"sni", "printf '%s' \"$NM_SNI\"", false, 10, 4096, false, false},
        {"root", "id -u", true, 0, 4096, false, false},
    };
    const struct nm_script_opts opts = {.sudo_user = "backup"};
    struct nm_script_template t;
    struct nm_buf a, b, whole;
    CHECK_INT(nm_script_template_build(p, 2, &opts, &t, NULL), 0);
    nm_buf_init(&a, 1 << 20);
    nm_buf_init(&b, 1 << 20);
    nm_buf_init(&whole, 1 << 20);
    CHECK_INT(nm_script_render(&t, good_marker, NULL, &a, NULL), 0);
    CHECK_INT(nm_script_build_opts(p, 2, good_marker, &opts, &whole, NULL), 0);
    CHECK(a.len == whole.len && memcmp(a.data, whole.data, a.len) == 0);
    CHECK_INT(nm_script_render(&t, other, "it's.example.org", &b, NULL), 0);
    CHECK(strstr(b.data, "\nnm_m=fedcba9876543210fedcba9876543210\n"
                         "NM_SNI='it'\\''s.example.org'; export NM_SNI\n") != NULL);
    CHECK(strstr(b.data, good_marker) == NULL);
    /* Everything else is the template's, byte for byte. */
    const char *la = strstr(a.data, "\nNM_SNI="), *lb = strstr(b.data, "\nNM_SNI=");
    CHECK(la && lb && (size_t)(la - a.data) == t.head_len + NM_MARKER_LEN &&
          (size_t)(lb - b.data) == t.head_len + NM_MARKER_LEN);
    CHECK(memcmp(a.data, t.text, t.head_len) == 0 && memcmp(b.data, t.text, t.head_len) == 0);
    const char *ra = la ? strchr(la + 1, '\n') : NULL, *rb = lb ? strchr(lb + 1, '\n') : NULL;
    CHECK(ra && rb && strcmp(ra, t.text + t.head_len) == 0 && strcmp(rb, t.text + t.head_len) == 0);
    /* Bad markers and a full buffer leave out as it was. */
    CHECK_INT(nm_script_render(&t, "xyz", NULL, &whole, NULL), NM_ERR_INVAL);
    CHECK_INT(nm_script_render(NULL, good_marker, NULL, &whole, NULL), NM_ERR_INVAL);
    struct nm_buf small;
    nm_buf_init(&small, 64);
    CHECK_INT(nm_script_render(&t, good_marker, NULL, &small, NULL), NM_ERR_TOOBIG);
    CHECK_INT(small.len, 0);
    nm_buf_finish(&small);

    /* Run for real: the probe sees the name exactly. */
    struct nm_splitter *sp = nm_splitter_create(other, p, 2, 1 << 20);
    char *argv[] = {(char *)"/bin/sh", (char *)"-s", NULL};
    struct run r;
    CHECK(sp != NULL);
    mode_set(MODE_CAPTURED);
    CHECK_INT(run_script(argv, false, &b, sp, 0, &r), 0);
    CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
    const struct nm_section *sec = sp ? nm_splitter_find(sp, "sni") : NULL;
    CHECK(sec && sec->state == NM_SECTION_DONE && sec->out.len == strlen("it's.example.org") &&
          memcmp(sec->out.data, "it's.example.org", sec->out.len) == 0);
    run_finish(&r);
    nm_splitter_destroy(sp);

    nm_buf_finish(&a);
    nm_buf_finish(&b);
    nm_buf_finish(&whole);
    nm_script_template_finish(&t);
    CHECK(t.text == NULL);
}

static const char *nobody_reason(void)
{
    static const char *const dirs[] = {"/usr/bin/sudo", "/bin/sudo", "/usr/sbin/sudo",
                                       "/usr/local/bin/sudo"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++)
        if (access(dirs[i], X_OK) == 0)
            return "password";
    return "nosudo";
}

struct real_case {
    struct nm_probe_spec spec[NREAL];
    struct expect want[NREAL];
    char *fake_snippet;
    struct nm_buf fake_out, fake_err;
    struct nm_buf captured[NREAL], captured_err[NREAL];
    bool has_captured;
};

/* Turns the expected stdout of every section into what a capture gives,
 * and its stderr too: the scratch file's bytes are captured (and held with
 * the frames) even for a raw probe, whose stdout alone streams. */
static void real_case_captured(struct real_case *c)
{
    for (size_t i = 0; i < NREAL; i++) {
        capture_of(&c->captured[i], c->want[i].out);
        capture_of(&c->captured_err[i], c->want[i].err);
        c->want[i].err = (struct bytes){c->captured_err[i].data ? c->captured_err[i].data : "",
                                        c->captured_err[i].len};
        if (c->spec[i].raw)
            continue;
        c->want[i].out = (struct bytes){c->captured[i].data ? c->captured[i].data : "",
                                        c->captured[i].len};
    }
    c->has_captured = true;
}

/*
 * One probe per awkward case.  The "fake" probe prints frame lines with a
 * marker that differs from the real one in its last digit, a real-marker
 * line with an unknown type and the real marker glued to other text: all of
 * it must come back as plain content.
 */
static void real_case_init(struct real_case *c, const char *marker, bool root_runs)
{
    char fake[NM_MARKER_LEN + 1];
    memcpy(fake, marker, sizeof fake);
    fake[NM_MARKER_LEN - 1] = fake[NM_MARKER_LEN - 1] == '0' ? '1' : '0';

    c->fake_snippet = nm_xasprintf("printf '\\n%s E fake 0\\n%s B bin\\n' ; "
                                   "printf '\\n%s Q bin\\n%sZ\\n%.31s S root noroot' ; "
                                   "printf '\\n%s E fake\\n' >&2",
                                   fake, fake, marker, marker, marker, fake);
    nm_buf_init(&c->fake_out, SIZE_MAX);
    nm_buf_appendf(&c->fake_out, "\n%s E fake 0\n%s B bin\n\n%s Q bin\n%sZ\n%.31s S root noroot",
                   fake, fake, marker, marker, marker);
    nm_buf_init(&c->fake_err, SIZE_MAX);
    nm_buf_appendf(&c->fake_err, "\n%s E fake\n", fake);

    const struct nm_probe_spec spec[NREAL] = {
        {"bin", "printf 'a\\000b\\377\\n'", false, 0, 1000, false, false},
        {"stderr-only", "printf 'oops\\n' >&2", false, 0, 1000, false, false},
        {"exit3", "printf 'x\\n'; exit 3", false, 0, 1000, false, false},
        {"no-newline", "printf 'no newline'", false, 0, 1000, false, false},
        {"two-newlines", "printf 'two\\n\\n'", false, 0, 1000, false, false},
        {"fake", c->fake_snippet, false, 0, 1000, false, false},
        {"stdin", "cat; printf eof", false, 0, 1 << 20, false, false},
        {"root", "id -u", true, 0, 1000, false, false},
        {"quote", "printf '%s\\n' \"it's\"", false, 0, 1000, false, false},
        {"mixed", "printf 'o1\\n'; printf 'e1\\n' >&2; printf o2; printf e2 >&2", false, 0, 1000,
         false, false},
        {"empty", "true", false, 0, 1000, false, false},
        {"dash-start", "-nm-no-such-command 2>/dev/null; printf 'rc=%d' $?", false, 0, 1000, false, false},
        {"rc124-no-timeout", "exit 124", false, 0, 1000, false, false},
        /* Sent as it comes even where others are captured: NULs survive. */
        {"bin-raw", "printf 'a\\000b\\377\\n'", false, 0, 1000, false, true},
    };
    const struct expect want[NREAL] = {
        {"bin", NM_SECTION_DONE, 0, B("a\0b\377\n"), B(""), NULL},
        {"stderr-only", NM_SECTION_DONE, 0, B(""), B("oops\n"), NULL},
        {"exit3", NM_SECTION_DONE, 3, B("x\n"), B(""), NULL},
        {"no-newline", NM_SECTION_DONE, 0, B("no newline"), B(""), NULL},
        {"two-newlines", NM_SECTION_DONE, 0, B("two\n\n"), B(""), NULL},
        {"fake",
         NM_SECTION_DONE,
         0,
         {c->fake_out.data, c->fake_out.len},
         {c->fake_err.data, c->fake_err.len},
         NULL},
        {"stdin", NM_SECTION_DONE, 0, B("eof"), B(""), NULL},
        root_runs ? (struct expect){"root", NM_SECTION_DONE, 0, B("0\n"), B(""), NULL}
                  : (struct expect){"root", NM_SECTION_SKIPPED, 0, B(""), B(""), nobody_reason()},
        {"quote", NM_SECTION_DONE, 0, B("it's\n"), B(""), NULL},
        {"mixed", NM_SECTION_DONE, 0, B("o1\no2"), B("e1\ne2"), NULL},
        {"empty", NM_SECTION_DONE, 0, B(""), B(""), NULL},
        {"dash-start", NM_SECTION_DONE, 0, B("rc=127"), B(""), NULL},
        /* 124 means "timed out" only for a probe that had a timeout. */
        {"rc124-no-timeout", NM_SECTION_DONE, 124, B(""), B(""), NULL},
        {"bin-raw", NM_SECTION_DONE, 0, B("a\0b\377\n"), B(""), NULL},
    };
    memcpy(c->spec, spec, sizeof spec);
    memcpy(c->want, want, sizeof want);
    c->has_captured = false;
}

static void real_case_finish(struct real_case *c)
{
    if (c->has_captured)
        for (size_t i = 0; i < NREAL; i++) {
            nm_buf_finish(&c->captured[i]);
            nm_buf_finish(&c->captured_err[i]);
        }
    free(c->fake_snippet);
    nm_buf_finish(&c->fake_out);
    nm_buf_finish(&c->fake_err);
}

static void check_real_run(const struct real_case *c, const char *marker, const struct run *r,
                           const char *label)
{
    /* Every way of cutting the same bytes must give the same sections. */
    static const unsigned chunkings[] = {0, 7, 3, 1, 7};
    for (size_t k = 0; k < sizeof chunkings / sizeof chunkings[0]; k++) {
        char lab[160];
        snprintf(lab, sizeof lab, "%s, chunks of 1..%u", label, chunkings[k]);
        struct nm_splitter *sp = nm_splitter_create(marker, c->spec, NREAL, 1 << 20);
        CHECK(sp != NULL);
        if (!sp)
            return;
        feed_streams(sp, &r->out, &r->err, chunkings[k]);
        nm_splitter_finish(sp);
        for (size_t i = 0; i < NREAL; i++)
            expect_section(sp, &c->want[i], lab);
        CHECK_INT(nm_splitter_stray_bytes(sp), 0);
        CHECK_INT(nm_splitter_total_bytes(sp), r->out.len + r->err.len);
        CHECK(!nm_splitter_host_capped(sp));
        nm_splitter_destroy(sp);
    }
}

/* Whole seconds of /proc/uptime, as the script reads them; -1 without it. */
static long uptime_seconds(void)
{
    FILE *f = fopen("/proc/uptime", "r");
    double up = -1;
    if (f) {
        if (fscanf(f, "%lf", &up) != 1)
            up = -1;
        fclose(f);
    }
    return up < 0 ? -1 : (long)up;
}

/* How many whole seconds of uptime a run lived through (each may add one
 * flush to each stream); 0 when uptime could not be read. */
static unsigned seconds_crossed(long up0, long up1)
{
    return up0 >= 0 && up1 >= up0 ? (unsigned)(up1 - up0) : 0;
}

static void test_real_shells(void)
{
    char marker[NM_MARKER_LEN + 1];
    struct shell sh[4];
    size_t nsh = find_shells(sh);
    bool is_root = geteuid() == 0;

    CHECK_INT(nm_marker_generate(marker), 0);
    for (int mode = MODE_CAPTURED; mode <= MODE_STREAMED; mode++)
    for (size_t i = 0; i < nsh; i++) {
        /* As root the root probe runs; as nobody (only reachable from root,
         * and with no sudo rights) the script must skip it saying why:
         * sudo wants a password, or there is no sudo. */
        for (int drop = 0; drop <= (is_root ? 1 : 0); drop++) {
            struct real_case c;
            struct nm_buf script;
            struct run r;
            char label[128];
            bool root_runs = is_root && !drop;

            real_case_init(&c, marker, root_runs);
            nm_buf_init(&script, 1 << 20);
            CHECK_INT(nm_script_build(c.spec, NREAL, marker, &script, NULL), 0);
            snprintf(label, sizeof label, "%s %s%s, %s", sh[i].argv[0], sh[i].argv[1],
                     drop ? " as nobody" : "", mode_name((enum out_mode)mode));
            mode_set((enum out_mode)mode);
            packet_pipes = true;
            long up0 = uptime_seconds();
            CHECK_INT(run_script(sh[i].argv, drop, &script, NULL, 0, &r), 0);
            long up1 = uptime_seconds();
            packet_pipes = false;
            CHECK(scratch_empty());
            /* What the capture is for: the host writes (and the SSH
             * channel carries) a few chunks, not two or more per probe.
             * Here stdout is written three times (the frames held before
             * the raw probe, its stream, the rest at the end) and stderr
             * once, at the end: no flush at the first probe, and the
             * stderr frames wait with the others.  The pipes are in
             * packet mode, so every write is counted however fast or slow
             * the reader (none is larger than PIPE_BUF here).  Each
             * whole second of uptime the script lives through may add one
             * flush, one write to each stream: a loaded machine runs these
             * 14 probes for longer than a second, so the bound counts the
             * boundaries crossed (without per-probe capture there would be
             * a write or more per probe, 14 or more, in far less time). */
            CHECK(up0 >= 0 && up1 >= up0);
            unsigned crossed = seconds_crossed(up0, up1);
            printf("%s: %u reads of stdout, %u of stderr, %u second(s) crossed\n", label,
                   r.reads[0], r.reads[1], crossed);
            if (mode == MODE_CAPTURED) {
                CHECK(r.reads[0] <= 3 + crossed);
                CHECK(r.reads[1] <= 1 + crossed);
            }
            CHECK(!r.timed_out);
            CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
            if (!is_root && !drop) {
                /* A non-root tester may have working sudo: accept either. */
                struct nm_splitter *sp = nm_splitter_create(marker, c.spec, NREAL, 1 << 20);
                feed_streams(sp, &r.out, &r.err, 0);
                nm_splitter_finish(sp);
                const struct nm_section *s = nm_splitter_find(sp, "root");
                if (s && s->state == NM_SECTION_DONE)
                    c.want[7] = (struct expect){"root", NM_SECTION_DONE, 0, B("0\n"), B(""), NULL};
                nm_splitter_destroy(sp);
            }
            if (mode == MODE_CAPTURED)
                real_case_captured(&c);
            check_real_run(&c, marker, &r, label);
            run_finish(&r);
            nm_buf_finish(&script);
            real_case_finish(&c);
        }
    }
    for (size_t i = 0; i < nsh; i++)
        free(sh[i].path);
}

/*
 * Big captured output still leaves the host in whole writes, on every shell.
 * bash line-buffers its stdout, so its printf of a long string ends in one
 * write per line (the part past its first blocks); every write is a packet
 * the host's sshd sends and the client decrypts.  Counted exactly with
 * packet-mode pipes: each write is at most one partial packet beyond its
 * PIPE_BUF pieces, and each second of uptime crossed may add a flush.
 */
static void test_real_big_output(void)
{
    char marker[NM_MARKER_LEN + 1];
    struct shell sh[4];
    size_t nsh = find_shells(sh);
    CHECK_INT(nm_marker_generate(marker), 0);
    const struct nm_probe_spec p[] = {
        {"lines", "seq 1 20000", false, 0, 1 << 20, false, false},
        {"err-lines", "seq 1 3000 >&2", false, 0, 1 << 20, false, false},
        {"small", "printf 'hi\\n'", false, 0, 100, false, false},
        /* What a here-document must not expand or eat, 300 times over. */
        {"tricky",
         "i=0; while [ $i -lt 300 ]; do printf '%s\\n' '\\ $HOME `id` $(id) ${x} \\t'; "
         "i=$((i+1)); done",
         false, 0, 1 << 20, false, false},
    };
    const char tricky_line[] = "\\ $HOME `id` $(id) ${x} \\t\n";
    struct nm_buf want_lines, want_tricky;
    nm_buf_init(&want_lines, 1 << 20);
    nm_buf_init(&want_tricky, 1 << 20);
    for (int k = 1; k <= 20000; k++)
        nm_buf_appendf(&want_lines, "%d\n", k);
    for (int k = 0; k < 300; k++)
        nm_buf_appends(&want_tricky, tricky_line);
    mode_set(MODE_CAPTURED);
    packet_pipes = true;
    for (size_t i = 0; i < nsh; i++) {
        struct nm_buf script;
        struct run r;
        nm_buf_init(&script, 1 << 20);
        CHECK_INT(nm_script_build(p, 4, marker, &script, NULL), 0);
        long up0 = uptime_seconds();
        CHECK_INT(run_script(sh[i].argv, false, &script, NULL, 0, &r), 0);
        long up1 = uptime_seconds();
        CHECK(!r.timed_out);
        CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
        unsigned crossed = seconds_crossed(up0, up1);
        size_t out_packets = (r.out.len + PIPE_BUF - 1) / PIPE_BUF;
        size_t err_packets = (r.err.len + PIPE_BUF - 1) / PIPE_BUF;
        printf("%s %s, big output: %zu bytes in %u writes of stdout (%zu packets whole), "
               "%zu in %u of stderr (%zu), %u second(s) crossed\n",
               sh[i].argv[0], sh[i].argv[1], r.out.len, r.reads[0], out_packets, r.err.len,
               r.reads[1], err_packets, crossed);
        CHECK(r.out.len > 110000 && r.err.len > 13000);
        CHECK(r.reads[0] <= out_packets + 1 + crossed);
        CHECK(r.reads[1] <= err_packets + 1 + crossed);
        struct nm_splitter *sp = nm_splitter_create(marker, p, 4, 8u << 20);
        feed_streams(sp, &r.out, &r.err, 0);
        nm_splitter_finish(sp);
        const struct nm_section *l = nm_splitter_find(sp, "lines");
        const struct nm_section *e = nm_splitter_find(sp, "err-lines");
        const struct nm_section *sm = nm_splitter_find(sp, "small");
        CHECK(l && l->state == NM_SECTION_DONE && l->out_total == 108894);
        CHECK(e && e->state == NM_SECTION_DONE && e->err_total == 13893);
        CHECK(sm && sm->state == NM_SECTION_DONE && strcmp(sm->out.data, "hi\n") == 0);
        CHECK(l && l->out.len == want_lines.len &&
              memcmp(l->out.data, want_lines.data, want_lines.len) == 0);
        const struct nm_section *t = nm_splitter_find(sp, "tricky");
        CHECK(t && t->state == NM_SECTION_DONE && t->out.len == want_tricky.len &&
              memcmp(t->out.data, want_tricky.data, want_tricky.len) == 0);
        CHECK_INT(nm_splitter_stray_bytes(sp), 0);
        nm_splitter_destroy(sp);
        run_finish(&r);
        nm_buf_finish(&script);
    }
    packet_pipes = false;
    nm_buf_finish(&want_lines);
    nm_buf_finish(&want_tricky);
    for (size_t i = 0; i < nsh; i++)
        free(sh[i].path);
}

/*
 * A host without /proc (BSD, or one that hides it): no /proc/uptime, so each
 * probe is sent as it ends, and no /proc/$$/fd, so the scratch file keeps its
 * name until the script removes it at the end.  Reached here by mounting an
 * empty tmpfs over /proc in a private mount namespace (root only).
 */
static void test_real_no_proc(void)
{
    char *unshare = find_in_path("unshare");
    if (geteuid() != 0 || !unshare) {
        printf("SKIP: no /proc case needs root and unshare(1)\n");
        free(unshare);
        return;
    }
    char marker[NM_MARKER_LEN + 1];
    CHECK_INT(nm_marker_generate(marker), 0);
    char *argv[] = {unshare, (char *)"-m", (char *)"--propagation", (char *)"private",
                    (char *)"/bin/sh", (char *)"-c",
                    (char *)"mount -t tmpfs none /proc && exec /bin/sh -s", NULL};
    struct real_case c;
    struct nm_buf script;
    struct run r;
    real_case_init(&c, marker, true);
    nm_buf_init(&script, 1 << 20);
    CHECK_INT(nm_script_build(c.spec, NREAL, marker, &script, NULL), 0);
    mode_set(MODE_CAPTURED);
    CHECK_INT(run_script(argv, false, &script, NULL, 0, &r), 0);
    CHECK(!r.timed_out);
    CHECK(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
    CHECK(scratch_empty()); /* removed by name at the end */
    printf("no /proc: %u reads of stdout, %u of stderr\n", r.reads[0], r.reads[1]);
    real_case_captured(&c);
    check_real_run(&c, marker, &r, "/bin/sh -s without /proc");
    run_finish(&r);
    nm_buf_finish(&script);
    real_case_finish(&c);
    free(unshare);
}

static void test_real_timeout(enum out_mode mode)
{
    char *to = find_in_path("timeout");
    if (!to) {
        printf("SKIP: no timeout(1), per-probe timeout not tested\n");
        return;
    }
    free(to);
    char marker[NM_MARKER_LEN + 1];
    nm_marker_generate(marker);
    struct nm_probe_spec p[] = {
        {"slow", "printf before; sleep 5; printf after", false, 1, 1000, false, false},
        {"next", "printf next", false, 1, 1000, false, false},
    };
    struct nm_buf script;
    struct run r;
    nm_buf_init(&script, 1 << 20);
    CHECK_INT(nm_script_build(p, 2, marker, &script, NULL), 0);
    struct nm_splitter *sp = nm_splitter_create(marker, p, 2, 1 << 20);
    char *argv[] = {(char *)"/bin/sh", (char *)"-s", NULL};
    mode_set(mode);
    CHECK_INT(run_script(argv, false, &script, sp, 7, &r), 0);
    CHECK(scratch_empty());
    nm_splitter_finish(sp);
    bool cap = mode == MODE_CAPTURED;
    const struct expect want[] = {
        {"slow", NM_SECTION_TIMEOUT, 124, cap ? B("before\n") : B("before"), B(""), NULL},
        {"next", NM_SECTION_DONE, 0, cap ? B("next\n") : B("next"), B(""), NULL},
    };
    expect_section(sp, &want[0], "timeout");
    expect_section(sp, &want[1], "timeout");
    CHECK(r.elapsed_ms < 3000);
    if (r.elapsed_ms >= 3000)
        fprintf(stderr, "timeout: script took %lld ms\n", (long long)r.elapsed_ms);
    run_finish(&r);
    nm_splitter_destroy(sp);
    nm_buf_finish(&script);
}

static void test_real_caps(enum out_mode mode)
{
    char marker[NM_MARKER_LEN + 1];
    char *argv[] = {(char *)"/bin/sh", (char *)"-s", NULL};
    struct nm_buf script;
    struct run r;
    nm_marker_generate(marker);

    /* Per-probe cap: 1 MiB written, 1000 bytes kept, the total still known.
     * Text, not zeros: a capture drops NUL bytes (test_real_shells). */
    mode_set(mode);
    struct nm_probe_spec p[] = {
        {"big", "yes 0123456789abcde | head -c 1048576", false, 0, 1000, false, false},
        {"small", "printf 'hi\\n'", false, 0, 100, false, false},
    };
    nm_buf_init(&script, 1 << 20);
    CHECK_INT(nm_script_build(p, 2, marker, &script, NULL), 0);
    struct nm_splitter *sp = nm_splitter_create(marker, p, 2, 8u << 20);
    CHECK_INT(run_script(argv, false, &script, sp, 0, &r), 0);
    nm_splitter_finish(sp);
    const struct nm_section *big = nm_splitter_find(sp, "big");
    CHECK_INT(big->state, NM_SECTION_DONE);
    CHECK_INT(big->exit_code, 0);
    CHECK_INT(big->out.len, 1000);
    CHECK(big->out.alloc <= 2 * 1024); /* bounded by the cap, not the output */
    CHECK(big->out_total == 1048576);
    CHECK(big->out_truncated);
    CHECK(!big->err_truncated);
    const struct nm_section *small = nm_splitter_find(sp, "small");
    CHECK_INT(small->state, NM_SECTION_DONE);
    CHECK_STR(small->out.data, "hi\n");
    CHECK(!nm_splitter_host_capped(sp));
    nm_splitter_destroy(sp);
    run_finish(&r);
    nm_buf_finish(&script);

    /* A captured stderr is read on the host only to one byte past the
     * largest cap a probe may have: 12 MiB written, 8 MiB + 1 sent (and a
     * newline put back), never the whole file in the host shell's memory.
     * Streamed, it passes whole. */
    struct nm_probe_spec e[] = {
        {"noisy", "yes 0123456789abcde | head -c 12582912 >&2; printf ok", false, 0, 1000, false,
         false},
    };
    nm_buf_init(&script, 1 << 20);
    CHECK_INT(nm_script_build(e, 1, marker, &script, NULL), 0);
    sp = nm_splitter_create(marker, e, 1, 64u << 20);
    CHECK_INT(run_script(argv, false, &script, sp, 0, &r), 0);
    nm_splitter_finish(sp);
    const struct nm_section *noisy = nm_splitter_find(sp, "noisy");
    CHECK_INT(noisy->state, NM_SECTION_DONE);
    CHECK_INT(noisy->err.len, 1000);
    CHECK(noisy->err_truncated);
    if (mode == MODE_CAPTURED)
        CHECK(noisy->err_total > NM_PROBE_MAX_OUTPUT &&
              noisy->err_total <= NM_PROBE_MAX_OUTPUT + 2);
    else
        CHECK(noisy->err_total == 12582912);
    if (!(noisy->err_total > NM_PROBE_MAX_OUTPUT && noisy->err_total <= 12582912))
        fprintf(stderr, "noisy stderr: %llu bytes\n", (unsigned long long)noisy->err_total);
    nm_splitter_destroy(sp);
    run_finish(&r);
    nm_buf_finish(&script);

    /* Host cap: 64 KiB in total while a probe writes 10 MiB.  Reading stops,
     * the shell is killed, and the sections after it are MISSING. */
    struct nm_probe_spec q[] = {
        {"first", "printf 'one\\n'", false, 0, 100, false, false},
        {"huge", "yes 0123456789abcde | head -c 10485760", false, 0, 4096, false, false},
        {"later", "printf later", false, 0, 100, false, false},
    };
    nm_buf_init(&script, 1 << 20);
    CHECK_INT(nm_script_build(q, 3, marker, &script, NULL), 0);
    sp = nm_splitter_create(marker, q, 3, 65536);
    CHECK_INT(run_script(argv, false, &script, sp, 0, &r), 0);
    CHECK(r.capped);
    CHECK(!r.timed_out);
    CHECK_INT(nm_splitter_feed(sp, 0, "x", 1), NM_ERR_TOOBIG); /* stays refused */
    nm_splitter_finish(sp);
    CHECK(nm_splitter_host_capped(sp));
    CHECK_INT(nm_splitter_total_bytes(sp), 65536);
    CHECK_INT(nm_splitter_find(sp, "first")->state, NM_SECTION_DONE);
    CHECK_STR(nm_splitter_find(sp, "first")->out.data, "one\n");
    const struct nm_section *huge = nm_splitter_find(sp, "huge");
    CHECK_INT(huge->state, NM_SECTION_PARTIAL);
    CHECK_INT(huge->out.len, 4096);
    CHECK(huge->out.alloc <= 2 * 4097);
    CHECK(huge->out_truncated);
    CHECK(huge->out_total < 65536);
    CHECK_INT(nm_splitter_find(sp, "later")->state, NM_SECTION_MISSING);
    nm_splitter_destroy(sp);
    run_finish(&r);
    nm_buf_finish(&script);
}

/* ---- hand-written streams ---- */

static const struct nm_probe_spec hand_spec[] = {
    {"a", "", false, 0, 100, false, false},
    {"b", "", false, 1, 100, false, false},
    {"c", "", true, 0, 100, false, false},
};
#define NHAND 3

struct hand {
    struct nm_splitter *sp;
    struct nm_buf out, err;
};

/* Feeds templated streams whole, stdout first, then finishes. */
static void hand_run(struct hand *h, const char *marker, struct bytes out, struct bytes err)
{
    expand(&h->out, marker, out);
    expand(&h->err, marker, err);
    h->sp = nm_splitter_create(marker, hand_spec, NHAND, 1 << 20);
    feed_streams(h->sp, &h->out, &h->err, 0);
    nm_splitter_finish(h->sp);
}

static void hand_done(struct hand *h)
{
    nm_splitter_destroy(h->sp);
    nm_buf_finish(&h->out);
    nm_buf_finish(&h->err);
}

static bool sections_match(const struct nm_splitter *sp, const struct expect *want, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct nm_section *s = nm_splitter_find(sp, want[i].id);
        if (!s || s->state != want[i].state || !same_bytes(&s->out, want[i].out) ||
            !same_bytes(&s->err, want[i].err))
            return false;
        if ((want[i].state == NM_SECTION_DONE || want[i].state == NM_SECTION_TIMEOUT) &&
            s->exit_code != want[i].rc)
            return false;
        if (want[i].state == NM_SECTION_SKIPPED && strcmp(s->skip_reason, want[i].skip_reason))
            return false;
    }
    return true;
}

/*
 * Cuts the same streams at every pair of offsets on stdout (and a moving
 * offset on stderr): a frame split anywhere, even one byte at a time, must
 * still be found.  The self-overlapping marker catches a naive restart after
 * a partial match.
 */
static void test_split_everywhere(const char *marker)
{
    const struct bytes out_t =
        B("motd line\n@ B a\nhello\n@ E a 0\n@ B b\nx\n\n@ E b 124\n@ S c noroot\n");
    const struct bytes err_t = B("@ B a\nwarn\n@ E a\n@ B b\n\n@ E b\n");
    const struct expect want[NHAND] = {
        {"a", NM_SECTION_DONE, 0, B("hello"), B("warn"), NULL},
        {"b", NM_SECTION_TIMEOUT, 124, B("x\n"), B(""), NULL},
        {"c", NM_SECTION_SKIPPED, 0, B(""), B(""), "noroot"},
    };
    struct nm_buf out, err;
    expand(&out, marker, out_t);
    expand(&err, marker, err_t);
    size_t bad = 0, first_i = 0, first_j = 0;
    for (size_t i = 0; i <= out.len; i++) {
        for (size_t j = i; j <= out.len; j++) {
            struct nm_splitter *sp = nm_splitter_create(marker, hand_spec, NHAND, 1 << 20);
            size_t e = (i + j) % (err.len + 1);
            nm_splitter_feed(sp, 0, out.data, i);
            nm_splitter_feed(sp, 1, err.data, e);
            nm_splitter_feed(sp, 0, out.data + i, j - i);
            nm_splitter_feed(sp, 1, err.data + e, err.len - e);
            nm_splitter_feed(sp, 0, out.data + j, out.len - j);
            nm_splitter_finish(sp);
            if (!sections_match(sp, want, NHAND) || nm_splitter_stray_bytes(sp) != 10) {
                if (bad++ == 0) {
                    first_i = i;
                    first_j = j;
                }
            }
            nm_splitter_destroy(sp);
        }
    }
    CHECK_INT(bad, 0);
    if (bad)
        fprintf(stderr, "marker %s: %zu bad splits, first at %zu/%zu\n", marker, bad, first_i,
                first_j);

    /* One byte at a time, randomly interleaved. */
    struct nm_splitter *sp = nm_splitter_create(marker, hand_spec, NHAND, 1 << 20);
    feed_streams(sp, &out, &err, 1);
    nm_splitter_finish(sp);
    for (size_t i = 0; i < NHAND; i++)
        expect_section(sp, &want[i], "byte at a time");
    CHECK_INT(nm_splitter_stray_bytes(sp), 10);
    nm_splitter_destroy(sp);
    nm_buf_finish(&out);
    nm_buf_finish(&err);
}

static void test_damage(const char *marker)
{
    struct hand h;

    /* END without BEGIN: ignored, counted as stray. */
    hand_run(&h, marker, B("@ E a 0\n@ B a\nhi\n@ E a 0\n"), B("@ B a\n\n@ E a\n"));
    expect_section(h.sp, &(struct expect){"a", NM_SECTION_DONE, 0, B("hi"), B(""), NULL}, "e-no-b");
    CHECK_INT(nm_splitter_stray_bytes(h.sp), NM_MARKER_LEN + 7);
    hand_done(&h);

    /* END with the wrong id closes the open section as PARTIAL. */
    hand_run(&h, marker, B("@ B a\nhi\n@ E b 0\n@ B b\nyo\n@ E b 0\n"),
             B("@ B a\n\n@ E a\n@ B b\n\n@ E b\n"));
    expect_section(h.sp, &(struct expect){"a", NM_SECTION_PARTIAL, 0, B("hi"), B(""), NULL},
                   "wrong-e");
    expect_section(h.sp, &(struct expect){"b", NM_SECTION_DONE, 0, B("yo"), B(""), NULL},
                   "wrong-e");
    hand_done(&h);

    /* BEGIN of the next section while one is open. */
    hand_run(&h, marker, B("@ B a\nhi\n@ B b\nyo\n@ E b 0\n"), B(""));
    expect_section(h.sp, &(struct expect){"a", NM_SECTION_PARTIAL, 0, B("hi"), B(""), NULL},
                   "b-in-a");
    CHECK_INT(nm_splitter_find(h.sp, "b")->state, NM_SECTION_DONE);
    /* No stderr frame at all is how a probe that wrote nothing to stderr
     * looks (script.h); only a begun stderr frame can be cut short. */
    CHECK(!nm_splitter_find(h.sp, "b")->err_truncated);
    hand_done(&h);

    /* Unknown id: its whole section is stray. */
    hand_run(&h, marker, B("@ B zz\nstuff\n@ E zz 0\n@ B a\nok\n@ E a 0\n"), B("@ B a\n\n@ E a\n"));
    expect_section(h.sp, &(struct expect){"a", NM_SECTION_DONE, 0, B("ok"), B(""), NULL},
                   "unknown");
    CHECK_INT(nm_splitter_stray_bytes(h.sp), 2 * NM_MARKER_LEN + 6 + 6 + 8);
    hand_done(&h);

    /* Out of order: a section cannot begin after a later one did. */
    hand_run(&h, marker, B("@ B b\nB\n@ E b 0\n@ B a\nA\n@ E a 0\n"), B("@ B b\n\n@ E b\n"));
    expect_section(h.sp, &(struct expect){"b", NM_SECTION_DONE, 0, B("B"), B(""), NULL}, "order");
    CHECK_INT(nm_splitter_find(h.sp, "a")->state, NM_SECTION_MISSING);
    CHECK_INT(nm_splitter_find(h.sp, "c")->state, NM_SECTION_MISSING);
    hand_done(&h);

    /* The same section twice: the second is refused. */
    hand_run(&h, marker, B("@ B a\none\n@ E a 0\n@ B a\ntwo\n@ E a 1\n"), B("@ B a\n\n@ E a\n"));
    expect_section(h.sp, &(struct expect){"a", NM_SECTION_DONE, 0, B("one"), B(""), NULL}, "twice");
    hand_done(&h);

    /* Stream cut mid-section, and mid-frame-line. */
    hand_run(&h, marker, B("@ B a\npartial"), B("@ B a\nerr"));
    expect_section(h.sp, &(struct expect){"a", NM_SECTION_PARTIAL, 0, B("partial"), B("err"), NULL},
                   "cut");
    CHECK_INT(nm_splitter_find(h.sp, "b")->state, NM_SECTION_MISSING);
    hand_done(&h);
    {
        struct nm_buf want;
        expand(&want, marker, B("data\n@ E a"));
        hand_run(&h, marker, B("@ B a\ndata\n@ E a"), B(""));
        const struct nm_section *s = nm_splitter_find(h.sp, "a");
        CHECK_INT(s->state, NM_SECTION_PARTIAL);
        CHECK(same_bytes(&s->out, (struct bytes){want.data, want.len}));
        hand_done(&h);
        nm_buf_finish(&want);
    }

    /* Stdout complete but stderr cut: DONE, and stderr marked truncated. */
    hand_run(&h, marker, B("@ B a\nok\n@ E a 0\n"), B("@ B a\nhalf"));
    CHECK_INT(nm_splitter_find(h.sp, "a")->state, NM_SECTION_DONE);
    CHECK_STR(nm_splitter_find(h.sp, "a")->err.data, "half");
    CHECK(nm_splitter_find(h.sp, "a")->err_truncated);
    hand_done(&h);

    /* Only stderr began: PARTIAL, not MISSING. */
    hand_run(&h, marker, B(""), B("@ B a\nboom\n@ E a\n"));
    expect_section(h.sp, &(struct expect){"a", NM_SECTION_PARTIAL, 0, B(""), B("boom"), NULL},
                   "stderr-only");
    hand_done(&h);

    /* Garbage before the first frame, without a final newline. */
    hand_run(&h, marker, B("Welcome\njunk@ B a\nok\n@ E a 0\n"), B("motd\n@ B a\n\n@ E a\n"));
    expect_section(h.sp, &(struct expect){"a", NM_SECTION_DONE, 0, B("ok"), B(""), NULL},
                   "garbage");
    CHECK_INT(nm_splitter_stray_bytes(h.sp), 12 + 5);
    hand_done(&h);

    /* Stray bytes that are themselves the start of the marker ("ab" before
     * "abab...ab B a"): the frame starts inside a partial match. */
    for (unsigned chunk = 0; chunk <= 7; chunk += 7) {
        struct nm_buf out, err, frames;
        nm_buf_init(&out, SIZE_MAX);
        nm_buf_append(&out, marker, 2);
        expand(&frames, marker, B("@ B a\nok\n@ E a 0\n"));
        nm_buf_append(&out, frames.data, frames.len);
        expand(&err, marker, B(""));
        struct nm_splitter *sp = nm_splitter_create(marker, hand_spec, NHAND, 1 << 20);
        feed_streams(sp, &out, &err, chunk);
        nm_splitter_finish(sp);
        CHECK_INT(nm_splitter_find(sp, "a")->state, NM_SECTION_DONE);
        CHECK_STR(nm_splitter_find(sp, "a")->out.data, "ok");
        CHECK_INT(nm_splitter_stray_bytes(sp), 2);
        nm_splitter_destroy(sp);
        nm_buf_finish(&out);
        nm_buf_finish(&err);
        nm_buf_finish(&frames);
    }

    /* A marker line of unknown type hiding a real one: "<M> junk <M> B a". */
    hand_run(&h, marker, B("@ junk @ B a\nok\n@ E a 0\n"), B(""));
    CHECK_INT(nm_splitter_find(h.sp, "a")->state, NM_SECTION_DONE);
    CHECK_INT(nm_splitter_stray_bytes(h.sp), NM_MARKER_LEN + 1 + 5);
    hand_done(&h);

    /* Stdout E without rc is not an end line: it stays content. */
    {
        struct nm_buf want;
        expand(&want, marker, B("x\n@ E a\n@ E a 99999999999"));
        hand_run(&h, marker, B("@ B a\nx\n@ E a\n@ E a 99999999999\n@ E a 5\n"), B(""));
        const struct nm_section *s = nm_splitter_find(h.sp, "a");
        CHECK_INT(s->state, NM_SECTION_DONE);
        CHECK_INT(s->exit_code, 5);
        CHECK(same_bytes(&s->out, (struct bytes){want.data, want.len}));
        hand_done(&h);
        nm_buf_finish(&want);
    }

    /* Binary content and a long line with no newline. */
    {
        struct nm_buf out, err;
        nm_buf_init(&out, SIZE_MAX);
        expand(&err, marker, B("@ B a\n\n@ E a\n"));
        struct nm_buf head;
        expand(&head, marker, B("@ B a\n\0\0\377\n\n"));
        nm_buf_append(&out, head.data, head.len);
        for (int i = 0; i < 5000; i++)
            nm_buf_append(&out, "\xfe\xff", 2);
        struct nm_buf tail;
        expand(&tail, marker, B("\n@ E a 0\n"));
        nm_buf_append(&out, tail.data, tail.len);
        struct nm_splitter *sp = nm_splitter_create(marker, hand_spec, NHAND, 1 << 20);
        feed_streams(sp, &out, &err, 7);
        nm_splitter_finish(sp);
        const struct nm_section *s = nm_splitter_find(sp, "a");
        CHECK_INT(s->state, NM_SECTION_DONE);
        CHECK_INT(s->out.len, 100);
        CHECK(memcmp(s->out.data, "\0\0\377\n\n\xfe\xff", 7) == 0);
        CHECK_INT(s->out_total, 5 + 10000);
        CHECK(s->out_truncated);
        nm_splitter_destroy(sp);
        nm_buf_finish(&out);
        nm_buf_finish(&err);
        nm_buf_finish(&head);
        nm_buf_finish(&tail);
    }
}

static void test_skip_lines(const char *marker)
{
    struct hand h;
    hand_run(&h, marker, B("@ S c noroot\n"), B(""));
    expect_section(h.sp, &(struct expect){"c", NM_SECTION_SKIPPED, 0, B(""), B(""), "noroot"}, "S");
    CHECK_INT(nm_splitter_find(h.sp, "a")->state, NM_SECTION_MISSING);
    CHECK_INT(nm_splitter_stray_bytes(h.sp), 0);
    hand_done(&h);

    /* S inside an open section closes it; S on stderr, for an unknown id or
     * with an overlong reason is not a skip. */
    hand_run(&h, marker,
             B("@ B a\nx\n@ S b other-reason\n@ S zz noroot\n"
               "@ S c 0123456789012345678901234567890123\n"),
             B("@ S c noroot\n"));
    expect_section(h.sp, &(struct expect){"a", NM_SECTION_PARTIAL, 0, B("x"), B(""), NULL}, "S2");
    expect_section(h.sp, &(struct expect){"b", NM_SECTION_SKIPPED, 0, B(""), B(""), "other-reason"},
                   "S2");
    CHECK_INT(nm_splitter_find(h.sp, "c")->state, NM_SECTION_MISSING);
    hand_done(&h);
}

/* R lines: commands sudo refused for the open probe; they stay out of its
 * output, do not end it, and only count inside the probe they name. */
static void test_refused_lines(const char *marker)
{
    struct hand h;
    hand_run(&h, marker,
             B("@ B c\nout1\n\n@ R c /usr/sbin/smartctl --json=c -x /dev/sda -d sat\nout2\n"
               "\n@ R c /usr/bin/ipmitool sdr type Power Supply\n\n@ E c 0\n"),
             B("@ B c\n\n@ R c /bin/sh\n\n@ E c\n"));
    const struct nm_section *c = nm_splitter_find(h.sp, "c");
    CHECK_INT(c->state, NM_SECTION_DONE);
    CHECK(c->out.len == 10 && memcmp(c->out.data, "out1\nout2\n", 10) == 0);
    /* On stderr an R line is the probe's own bytes. */
    CHECK(c->err.len > 0 && memmem(c->err.data, c->err.len, " R c /bin/sh", 12) != NULL);
    CHECK_INT(c->n_refused, 2);
    CHECK_INT(c->refused_total, 2);
    CHECK_STR(c->refused[0], "/usr/sbin/smartctl --json=c -x /dev/sda -d sat");
    CHECK_STR(c->refused[1], "/usr/bin/ipmitool sdr type Power Supply");
    hand_done(&h);

    /* Outside a section, or naming another probe: stray, and nothing kept;
     * more than NM_REFUSED_MAX: counted, the first ones kept. */
    hand_run(&h, marker,
             B("@ R a /x\n@ B a\n\n@ R b /y\n\n@ R a /1\n\n@ R a /2\n\n@ R a /3\n"
               "\n@ R a /4\n\n@ R a /5\n\n@ E a 0\n"),
             B(""));
    const struct nm_section *a = nm_splitter_find(h.sp, "a");
    CHECK_INT(a->state, NM_SECTION_DONE);
    CHECK_INT(a->n_refused, NM_REFUSED_MAX);
    CHECK_INT(a->refused_total, 5);
    CHECK_STR(a->refused[NM_REFUSED_MAX - 1], "/4");
    CHECK_INT(nm_splitter_find(h.sp, "b")->n_refused, 0);
    CHECK(nm_splitter_stray_bytes(h.sp) > 0);
    hand_done(&h);

    /* A line longer than NM_REFUSED_LEN, or with a control character, is
     * the probe's output, not a refusal. */
    struct nm_buf longer;
    nm_buf_init(&longer, SIZE_MAX);
    nm_buf_appends(&longer, "@ B a\n\n@ R a /");
    for (int i = 0; i < NM_REFUSED_LEN; i++)
        nm_buf_appends(&longer, "x");
    nm_buf_appends(&longer, "\n\n@ R a /t\tab\n\n@ E a 0\n");
    hand_run(&h, marker, (struct bytes){longer.data, longer.len}, B(""));
    a = nm_splitter_find(h.sp, "a");
    CHECK_INT(a->state, NM_SECTION_DONE);
    CHECK_INT(a->refused_total, 0);
    CHECK(a->out_total > NM_REFUSED_LEN);
    hand_done(&h);
    nm_buf_finish(&longer);
}

static void test_host_cap_hand(const char *marker)
{
    struct nm_splitter *sp = nm_splitter_create(marker, hand_spec, NHAND, 50);
    char junk[30];
    memset(junk, 'j', sizeof junk);
    CHECK_INT(nm_splitter_feed(sp, 0, junk, 30), 0);
    CHECK_INT(nm_splitter_feed(sp, 1, junk, 30), NM_ERR_TOOBIG);
    CHECK_INT(nm_splitter_total_bytes(sp), 50);
    CHECK_INT(nm_splitter_feed(sp, 0, junk, 1), NM_ERR_TOOBIG);
    CHECK_INT(nm_splitter_total_bytes(sp), 50);
    CHECK(nm_splitter_host_capped(sp));
    CHECK_INT(nm_splitter_stray_bytes(sp), 50);
    nm_splitter_destroy(sp);

    /* Exactly the cap is still fine; one byte more is not. */
    sp = nm_splitter_create(marker, hand_spec, NHAND, 10);
    CHECK_INT(nm_splitter_feed(sp, 0, junk, 10), 0);
    CHECK(!nm_splitter_host_capped(sp));
    CHECK_INT(nm_splitter_feed(sp, 0, junk, 0), 0);
    CHECK_INT(nm_splitter_feed(sp, 1, junk, 1), NM_ERR_TOOBIG);
    CHECK_INT(nm_splitter_feed(sp, 2, junk, 1), NM_ERR_INVAL);
    nm_splitter_finish(sp);
    CHECK_INT(nm_splitter_feed(sp, 0, junk, 1), NM_ERR_INVAL); /* after finish */
    nm_splitter_destroy(sp);
    nm_splitter_destroy(NULL);

    CHECK_INT(nm_splitter_count(NULL), 0);
    sp = nm_splitter_create(marker, NULL, 0, 10);
    CHECK(sp != NULL);
    CHECK_INT(nm_splitter_count(sp), 0);
    CHECK(nm_splitter_section(sp, 0) == NULL);
    CHECK(nm_splitter_find(sp, "a") == NULL);
    nm_splitter_destroy(sp);
}

/*
 * Memory stays bounded whatever is fed: megabytes of hostile bytes (long
 * lines, near-miss markers, marker lines that never end) inside a section
 * and outside one.  The section keeps its cap; nothing else grows.
 */
static void test_bounded(const char *marker)
{
    struct nm_splitter *sp = nm_splitter_create(marker, hand_spec, NHAND, UINT64_MAX);
    struct nm_buf block, begin;
    expand(&begin, marker, B("@ B a\n"));
    nm_buf_init(&block, SIZE_MAX);
    while (block.len < 65536) {
        nm_buf_appendf(&block, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n%.20s", marker);
        nm_buf_appendf(&block, "\n%s ", marker);
        for (int i = 0; i < 10; i++)
            nm_buf_appends(&block, "Bzzzzzzzzzzzzzzzzzzzzzzzzzzz");
    }
    uint64_t fed = 0;
    for (int i = 0; i < 32; i++) { /* outside any section: all stray */
        CHECK(nm_splitter_feed(sp, 0, block.data, block.len) == 0);
        fed += block.len;
    }
    /* A held partial frame line at most: prefix plus the longest R line. */
    CHECK(nm_splitter_stray_bytes(sp) + 2 + NM_MARKER_LEN + NM_PROBE_ID_MAX + NM_REFUSED_LEN + 8 >
          fed);
    nm_splitter_feed(sp, 0, "\n", 1);
    nm_splitter_feed(sp, 0, begin.data, begin.len);
    for (int i = 0; i < 32; i++)
        nm_splitter_feed(sp, 0, block.data, block.len);
    nm_splitter_finish(sp);
    const struct nm_section *s = nm_splitter_find(sp, "a");
    CHECK_INT(s->state, NM_SECTION_PARTIAL);
    CHECK_INT(s->out.len, 100);
    CHECK(s->out.alloc <= 256);
    CHECK(s->out_total > 32 * (uint64_t)(block.len - 200));
    CHECK(s->out_truncated);
    nm_splitter_destroy(sp);
    nm_buf_finish(&block);
    nm_buf_finish(&begin);
}

int main(void)
{
    /* Writing the script to a shell that died must be an error, not death. */
    signal(SIGPIPE, SIG_IGN);

    /* Markers that repeat their own prefix ("abab...") defeat a parser that
     * restarts naively after a partial match; a random one is the real case. */
    char random_marker[NM_MARKER_LEN + 1];
    const char *markers[] = {"abababababababababababababababab", "0000000000000000000000000000000a",
                             random_marker};
    nm_marker_generate(random_marker);

    test_marker();
    test_build_rejects();
    test_build_golden();
    test_template_render();
    for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
        test_split_everywhere(markers[i]);
        test_damage(markers[i]);
        test_skip_lines(markers[i]);
        test_refused_lines(markers[i]);
        test_host_cap_hand(markers[i]);
        test_bounded(markers[i]);
    }
    if (!mkdtemp(scratch_dir)) {
        perror("mkdtemp");
        return 1;
    }
    /* "as nobody" runs need to make their scratch file here too. */
    chmod(scratch_dir, 01777);
    test_real_shells();
    test_real_big_output();
    test_real_no_proc();
    for (int m = MODE_CAPTURED; m <= MODE_STREAMED; m++) {
        test_real_timeout((enum out_mode)m);
        test_real_caps((enum out_mode)m);
    }
    unsetenv("TMPDIR");
    CHECK(scratch_empty());
    rmdir(scratch_dir);
    return test_result();
}
