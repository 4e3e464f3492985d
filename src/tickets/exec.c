/*
 * exec:COMMAND — /bin/sh -c COMMAND once per event, the event (one line of
 * JSON) on its standard input; exit status 0 means delivered.  The command
 * gets o->timeout_s as a whole; past it, its process group is killed.  Its
 * standard output is discarded and the start of its standard error goes
 * into the failure message.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tickets/sink.h"

#define STDERR_KEEP 512

static void child(const char *cmd, int in, int err, const struct nm_sink_call *c)
{
    setpgid(0, 0);
    int null = open("/dev/null", O_WRONLY);
    if (dup2(in, 0) < 0 || dup2(null >= 0 ? null : err, 1) < 0 || dup2(err, 2) < 0)
        _exit(126);
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)c->event_id);
    setenv("NEARMISS_TICKET_EVENT_ID", id, 1);
    setenv("NEARMISS_TICKET_ACTION", nm_ev_str(c->event, "action"), 1);
    setenv("NEARMISS_TICKET_KEY", nm_ev_str(c->event, "dedup_key"), 1);
    signal(SIGPIPE, SIG_DFL);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
}

static int reap(pid_t pid, int *ret_status)
{
    int st;
    for (;;) {
        pid_t w = waitpid(pid, &st, 0);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR)
            return -1;
    }
    *ret_status = st;
    return 0;
}

int nm_sink_exec(struct nm_sink_call *c, nm_diag *d)
{
    int in[2] = {-1, -1}, err[2] = {-1, -1};
    char *json = json_dumps(c->event, JSON_COMPACT | JSON_PRESERVE_ORDER);
    struct nm_buf text, errbuf;
    nm_buf_init(&text, 1u << 24);
    nm_buf_init(&errbuf, STDERR_KEEP);
    nm_buf_appends(&text, json ? json : "{}");
    nm_buf_appends(&text, "\n");
    free(json);
    int r = 0;
    pid_t pid = -1;
    /* A socket, not a pipe, for stdin: send(MSG_NOSIGNAL) to a command that
     * never reads cannot raise SIGPIPE in the scanner. */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) < 0 || pipe2(err, O_CLOEXEC) < 0) {
        r = nm_diag_set(d, NM_ERR_IO, "cannot start the command: %s", strerror(errno));
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        r = nm_diag_set(d, NM_ERR_IO, "cannot start the command: %s", strerror(errno));
        goto out;
    }
    if (pid == 0)
        child(c->t->arg, in[1], err[1], c);
    close(in[1]);
    close(err[1]);
    in[1] = err[1] = -1;
    fcntl(in[0], F_SETFL, O_NONBLOCK);
    fcntl(err[0], F_SETFL, O_NONBLOCK);

    int64_t deadline = nm_now_ms() + (int64_t)c->o->timeout_s * 1000;
    size_t sent = 0;
    int status = 0;
    /* Until the shell exits (not until stderr closes: a child it left in
     * the background may hold stderr open). */
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid)
            break;
        int64_t left = deadline - nm_now_ms();
        if (left <= 0) {
            /* The whole group, so a backgrounded child cannot linger. */
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            reap(pid, &status);
            pid = -1;
            r = nm_diag_set(d, NM_ERR_TIMEOUT, "command did not finish within %d s",
                            c->o->timeout_s);
            goto out;
        }
        struct pollfd pf[2] = {{.fd = err[0], .events = POLLIN}, {.fd = -1}};
        if (in[0] >= 0 && sent < text.len)
            pf[1] = (struct pollfd){.fd = in[0], .events = POLLOUT};
        /* Short naps: the shell's exit is only seen by waitpid. */
        int n = poll(pf, 2, left > 50 ? 50 : (int)left);
        if (n < 0 && errno != EINTR)
            poll(NULL, 0, 50);
        if (pf[1].revents & (POLLOUT | POLLERR | POLLHUP)) {
            ssize_t wr = send(in[0], text.data + sent, text.len - sent, MSG_NOSIGNAL);
            if (wr > 0)
                sent += (size_t)wr;
            if (wr < 0 && errno != EAGAIN && errno != EINTR)
                sent = text.len; /* the command closed its input: its choice */
            if (sent == text.len) {
                close(in[0]);
                in[0] = -1;
            }
        }
        if (err[0] >= 0 && (pf[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            char buf[1024];
            ssize_t got = read(err[0], buf, sizeof buf);
            if (got > 0) {
                nm_buf_append(&errbuf, buf, (size_t)got); /* the start is enough */
            } else if (got == 0 || (errno != EAGAIN && errno != EINTR)) {
                close(err[0]);
                err[0] = -1;
            }
        }
    }
    if (err[0] >= 0) {
        char buf[1024];
        ssize_t got = read(err[0], buf, sizeof buf);
        if (got > 0)
            nm_buf_append(&errbuf, buf, (size_t)got);
    }
    pid = -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        for (size_t i = 0; i < errbuf.len; i++) {
            unsigned char ch = (unsigned char)errbuf.data[i];
            if (ch < 0x20 || ch >= 0x7f)
                errbuf.data[i] = ' ';
        }
        if (WIFEXITED(status))
            r = nm_diag_set(d, NM_ERR_IO, "command exited with status %d%s%.200s",
                            WEXITSTATUS(status), errbuf.len ? ": " : "",
                            errbuf.len ? errbuf.data : "");
        else
            r = nm_diag_set(d, NM_ERR_IO, "command killed by signal %d",
                            WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
out:
    if (in[0] >= 0)
        close(in[0]);
    if (in[1] >= 0)
        close(in[1]);
    if (err[0] >= 0)
        close(err[0]);
    if (err[1] >= 0)
        close(err[1]);
    nm_buf_finish(&text);
    nm_buf_finish(&errbuf);
    return r;
}
