/*
 * tcp-hold PORTFILE LOGFILE [SECONDS] — a peer that accepts TCP connections
 * on 127.0.0.1 and never says anything, so a scan of it stays busy until its
 * own deadline.  Writes the port it got to PORTFILE, appends one line to
 * LOGFILE per accepted connection (so a test can tell whether a scan ever
 * connected), and exits after SECONDS (default 300) so it can never outlive
 * a broken test for long.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fputs("usage: tcp-hold PORTFILE LOGFILE [SECONDS]\n", stderr);
        return 2;
    }
    long life = argc > 3 ? strtol(argv[3], NULL, 10) : 300;
    int ls = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof a) < 0 || listen(ls, 64) < 0 ||
        getsockname(ls, (struct sockaddr *)&a, &alen) < 0) {
        perror("tcp-hold");
        return 1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", argv[1]);
    FILE *pf = fopen(tmp, "w");
    if (!pf || fprintf(pf, "%u\n", ntohs(a.sin_port)) < 0 || fclose(pf) != 0 ||
        rename(tmp, argv[1]) != 0) {
        perror("tcp-hold: port file");
        return 1;
    }
    time_t end = time(NULL) + life;
    for (;;) {
        time_t now = time(NULL);
        if (now >= end)
            return 0;
        struct pollfd p = {.fd = ls, .events = POLLIN};
        if (poll(&p, 1, (int)(end - now) * 1000) <= 0)
            continue;
        int c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0)
            continue;
        /* Held open, never read or written: the peer waits for a banner. */
        int lf = open(argv[2], O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (lf >= 0) {
            if (write(lf, "connection\n", 11) != 11)
                perror("tcp-hold: log");
            close(lf);
        }
    }
}
