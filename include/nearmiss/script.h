/*
 * The probe script: every probe of a host runs in ONE remote POSIX sh script,
 * fed on the stdin of a single exec channel ("/bin/sh -s"), and its output is
 * split back into per-probe sections here.
 *
 * Framing.  The scanner picks a fresh random marker per host and run (32 hex
 * digits from a CSPRNG), so nothing a host stores or prints by accident can
 * forge a section boundary.  For each probe the script writes, on stdout:
 *
 *     <M> B <id>\n  ...probe stdout...  \n<M> E <id> <rc>\n
 *
 * and on stderr the same B/E lines around the probe's stderr (E without rc),
 * only when the probe wrote to its stderr.  The "\n" before E is always added
 * by the script, so exactly one trailing newline is removed from the section.
 * Where the host lets the script make a scratch file (mktemp), stdout is
 * captured by the shell so that a probe's frame goes out in one write, and
 * frames are held for up to a second (see script.c): the section then has the
 * probe's stdout without NUL bytes and with trailing newlines made one.
 * Otherwise the bytes in between are the probe's output unchanged, and the
 * stderr B/E lines are always there.  A probe that needs root on a host where the login user is
 * not root and `sudo -n` does not work is not run; instead:
 *
 *     <M> S <id> <reason-word>\n
 *
 * A probe may also name, from inside its section, a command that sudo refused
 * to run as root for it (nm_root, below; the command was not run):
 *
 *     \n<M> R <id> <command line>\n
 *
 * Exit codes: rc is the probe's exit status; 124 when `timeout` killed it
 * (only when the host has timeout(1)); the splitter reports that as timed out.
 */
#ifndef NEARMISS_SCRIPT_H
#define NEARMISS_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nearmiss/error.h"
#include "nearmiss/util.h"

#define NM_MARKER_LEN   32
#define NM_PROBE_ID_MAX 64
/* The most a probe may keep of each stream (a check's probe.max_output);
 * the host reads no more than one byte past it of a probe's stderr. */
#define NM_PROBE_MAX_OUTPUT (8u << 20)
#define NM_REFUSED_MAX  4   /* refused command lines kept per section */
#define NM_REFUSED_LEN  300 /* bytes kept of each */

struct nm_probe_spec {
    const char *id;     /* [A-Za-z0-9._-]{1,64}; unique within the script */
    const char *script; /* POSIX sh snippet, run by `sh -c` */
    bool needs_root;    /* run through `sudo -n` when not root */
    unsigned timeout_s; /* 0 = no per-probe limit (host deadline applies) */
    size_t cap;         /* max stored bytes of stdout (and of stderr) */
    /*
     * With needs_root: the snippet itself runs as the login user and only
     * the commands it runs as `nm_root [-t SEC] NAME ARG...` run as root
     * (`sudo -n /full/path/NAME ARG...` when not root).  Without it the
     * whole snippet runs through sudo, which only a sudo that allows
     * everything (`sudo -n true`) can do.
     */
    bool root_commands;
    /* Send the output as it comes, unchanged (NUL bytes and all), instead of
     * captured by the shell and sent in one write (see above). */
    bool raw;
};

/* Per-host choices about privilege (Ansible's become variables). */
struct nm_script_opts {
    bool no_sudo;          /* never run sudo: root probes are skipped ("off") */
    const char *sudo_user; /* sudo -u USER; NULL = sudo's default (root) */
};

/* Fills marker with NM_MARKER_LEN hex digits + NUL from OpenSSL's RAND_bytes. */
int nm_marker_generate(char marker[NM_MARKER_LEN + 1]);

/*
 * Builds the whole script into out.  Probe ids are validated (NM_ERR_INVAL
 * with diag on a bad or duplicate id).  The script's own output must fit the
 * protocol above; snippets are passed single-quoted so any text is safe.
 */
int nm_script_build(const struct nm_probe_spec *probes, size_t n, const char *marker,
                    struct nm_buf *out, nm_diag *d);
/* The same with per-host privilege choices; opts may be NULL. */
int nm_script_build_opts(const struct nm_probe_spec *probes, size_t n, const char *marker,
                         const struct nm_script_opts *opts, struct nm_buf *out, nm_diag *d);

/*
 * The script without what differs from host to host (its marker and the
 * host's TLS name), built once for every host with the same probes and
 * privilege choices; nm_script_build_opts is a build and a render.
 */
struct nm_script_template {
    char *text;
    size_t len;
    size_t head_len; /* the host's part goes after text[0 .. head_len) */
};
int nm_script_template_build(const struct nm_probe_spec *probes, size_t n,
                             const struct nm_script_opts *opts, struct nm_script_template *t,
                             nm_diag *d);
void nm_script_template_finish(struct nm_script_template *t);
/* Appends the script for one host to out: the template with marker and
 * tls_name (exported to the probes as NM_SNI; NULL = none) put in. */
int nm_script_render(const struct nm_script_template *t, const char *marker, const char *tls_name,
                     struct nm_buf *out, nm_diag *d);

enum nm_section_state {
    NM_SECTION_MISSING = 0, /* never started (host died, cap hit, script broken) */
    NM_SECTION_PARTIAL,     /* started, no end line (cut off) */
    NM_SECTION_DONE,        /* ran to completion; exit_code valid */
    NM_SECTION_TIMEOUT,     /* killed by the per-probe timeout (rc 124) */
    /* not run; skip_reason says why sudo could not be used: "nosudo" (none
     * installed), "password" (it wants one), "notallowed" (this user may not
     * use it), "off" (the inventory says not to), "partial" (it allows only
     * some commands, and this probe runs a whole script as root) */
    NM_SECTION_SKIPPED,
};

struct nm_section {
    char id[NM_PROBE_ID_MAX + 1];
    enum nm_section_state state;
    int exit_code;      /* valid for DONE (and TIMEOUT: 124) */
    struct nm_buf out;  /* stdout, capped at the probe's cap */
    struct nm_buf err;  /* stderr, capped at the probe's cap */
    uint64_t out_total; /* bytes the probe really wrote to stdout */
    uint64_t err_total;
    bool out_truncated;
    bool err_truncated;
    char skip_reason[32];
    /* R lines: commands sudo refused to run as root for this probe. */
    char refused[NM_REFUSED_MAX][NM_REFUSED_LEN + 1];
    unsigned n_refused;     /* kept in refused[] */
    uint32_t refused_total; /* seen */
};

struct nm_splitter;

/* host_cap: total bytes accepted from the host over both streams. */
struct nm_splitter *nm_splitter_create(const char *marker, const struct nm_probe_spec *probes,
                                       size_t n, uint64_t host_cap);
void nm_splitter_destroy(struct nm_splitter *sp);

/*
 * Feeds a chunk as it arrives; stream 0 = stdout, 1 = stderr.  Chunks may cut
 * anywhere (inside a marker too).  Returns 0, or NM_ERR_TOOBIG once the
 * host cap is reached (the caller should stop reading and close the channel;
 * what was split so far stays available).  Garbage outside sections (motd,
 * shell rc chatter) is ignored and counted.
 */
int nm_splitter_feed(struct nm_splitter *sp, int stream, const char *data, size_t len);
/* Call once the channel closed: unfinished sections become PARTIAL/MISSING. */
void nm_splitter_finish(struct nm_splitter *sp);

size_t nm_splitter_count(const struct nm_splitter *sp);
const struct nm_section *nm_splitter_section(const struct nm_splitter *sp, size_t i);
const struct nm_section *nm_splitter_find(const struct nm_splitter *sp, const char *id);
uint64_t nm_splitter_total_bytes(const struct nm_splitter *sp);
uint64_t nm_splitter_stray_bytes(const struct nm_splitter *sp);
bool nm_splitter_host_capped(const struct nm_splitter *sp);

#endif
