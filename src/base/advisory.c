/*
 * Advisory and CVE ids to the vendor's page.  Each vendor prints its ids in
 * one shape (RHSA-2024:3501, USN-6000-1, DSA-5678-1, CVE-2024-1234); an id
 * of any other shape gets no link, so a host cannot steer a link anywhere:
 * the URL is a fixed prefix plus characters checked here.
 */
#include <stdio.h>
#include <string.h>

#include "nearmiss/advisory.h"

enum url_form {
    AS_IS,       /* prefix + id */
    DASHED_HTML, /* prefix + id with ':' as '-' + ".html" (Oracle) */
    SUSE,        /* SUSE-SU-2024:1234-1 -> prefix + "2024/suse-su-20241234-1/" */
    AMAZON,      /* ALAS2-2024-1234 -> prefix + "AL2/ALAS-2024-1234.html" */
};

struct vendor {
    const char *prefix; /* of the id, case as the vendor prints it */
    const char *kind;
    const char *url;
    enum url_form form;
};

/* AlmaLinux and openSUSE publish under URLs that need more than the id (the
 * major release, a mailing-list message id): OSV indexes both by the id. */
static const struct vendor vendors[] = {
    {"RHSA-", "advisory", "https://access.redhat.com/errata/", AS_IS},
    {"RHBA-", "advisory", "https://access.redhat.com/errata/", AS_IS},
    {"RHEA-", "advisory", "https://access.redhat.com/errata/", AS_IS},
    {"RLSA-", "advisory", "https://errata.rockylinux.org/", AS_IS},
    {"RLBA-", "advisory", "https://errata.rockylinux.org/", AS_IS},
    {"RLEA-", "advisory", "https://errata.rockylinux.org/", AS_IS},
    {"ALSA-", "advisory", "https://osv.dev/vulnerability/", AS_IS},
    {"ALBA-", "advisory", "https://osv.dev/vulnerability/", AS_IS},
    {"ALEA-", "advisory", "https://osv.dev/vulnerability/", AS_IS},
    {"ELSA-", "advisory", "https://linux.oracle.com/errata/", DASHED_HTML},
    {"ELBA-", "advisory", "https://linux.oracle.com/errata/", DASHED_HTML},
    {"ELEA-", "advisory", "https://linux.oracle.com/errata/", DASHED_HTML},
    {"FEDORA-", "advisory", "https://bodhi.fedoraproject.org/updates/", AS_IS},
    {"ALAS2023-", "advisory", "https://alas.aws.amazon.com/", AMAZON},
    {"ALAS2-", "advisory", "https://alas.aws.amazon.com/", AMAZON},
    {"ALAS-", "advisory", "https://alas.aws.amazon.com/", AMAZON},
    {"USN-", "advisory", "https://ubuntu.com/security/notices/", AS_IS},
    {"DSA-", "advisory", "https://security-tracker.debian.org/tracker/", AS_IS},
    {"DLA-", "advisory", "https://security-tracker.debian.org/tracker/", AS_IS},
    {"SUSE-SU-", "advisory", "https://www.suse.com/support/update/announcement/", SUSE},
    {"openSUSE-SU-", "advisory", "https://osv.dev/vulnerability/", AS_IS},
    {"CVE-", "cve", "https://www.cve.org/CVERecord?id=", AS_IS},
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* After the prefix: a year (4 digits), then ':' or '-', then digits, letters
 * and single '-' or ':' separators (USN-6000-1 has no year: digits first).
 * 48 characters at most. */
static bool tail_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > 48 || !is_alnum(t[0]) || !is_alnum(t[n - 1]))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (is_alnum(t[i]))
            continue;
        if ((t[i] != '-' && t[i] != ':') || !is_alnum(t[i + 1]))
            return false;
    }
    return true;
}

static const struct vendor *lookup(const char *id)
{
    if (!id)
        return NULL;
    for (size_t i = 0; i < sizeof vendors / sizeof vendors[0]; i++) {
        size_t pl = strlen(vendors[i].prefix);
        if (strncmp(id, vendors[i].prefix, pl) == 0)
            return tail_ok(id + pl) ? &vendors[i] : NULL;
    }
    return NULL;
}

const char *nm_advisory_kind(const char *id)
{
    const struct vendor *v = lookup(id);
    return v ? v->kind : NULL;
}

bool nm_advisory_url(const char *id, char *out, size_t size)
{
    const struct vendor *v = lookup(id);
    if (!v)
        return false;
    char buf[160];
    int n = -1;
    const char *tail = id + strlen(v->prefix);
    switch (v->form) {
    case AS_IS:
        n = snprintf(buf, sizeof buf, "%s%s", v->url, id);
        break;
    case DASHED_HTML: {
        char d[64];
        size_t k = 0;
        for (; id[k] && k + 1 < sizeof d; k++)
            d[k] = id[k] == ':' ? '-' : id[k];
        d[k] = '\0';
        n = snprintf(buf, sizeof buf, "%s%s.html", v->url, d);
        break;
    }
    case SUSE: {
        /* "2024:1234-1": year, then the number with the colon dropped. */
        if (strlen(tail) < 6 || tail[4] != ':')
            return false;
        char d[64];
        size_t k = 0;
        for (const char *p = tail; *p && k + 1 < sizeof d; p++)
            if (*p != ':')
                d[k++] = *p;
        d[k] = '\0';
        n = snprintf(buf, sizeof buf, "%s%.4s/suse-su-%s/", v->url, tail, d);
        break;
    }
    case AMAZON: {
        const char *dir = strcmp(v->prefix, "ALAS2-") == 0      ? "AL2/"
                          : strcmp(v->prefix, "ALAS2023-") == 0 ? "AL2023/"
                                                                : "";
        n = snprintf(buf, sizeof buf, "%s%sALAS-%s.html", v->url, dir, tail);
        break;
    }
    }
    if (n < 0 || (size_t)n >= sizeof buf || (size_t)n >= size)
        return false;
    memcpy(out, buf, (size_t)n + 1);
    return true;
}
