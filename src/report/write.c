/* What the writers share: turning libxml2's serialised buffer into ours, and
 * rendering straight to a file atomically. */
#include <errno.h>
#include <libxml/xmlmemory.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nearmiss/hostiter.h"
#include "nearmiss/outdir.h"
#include "nearmiss/util.h"
#include "nearmiss/writers.h"
#include "report/write.h"

int nm_report_take_xml(xmlChar *mem, int size, const char *what, char **ret_data, size_t *ret_len,
                       nm_diag *d)
{
    if (!mem || size <= 0) {
        xmlFree(mem);
        return nm_diag_set(d, NM_ERR_NOMEM, "cannot serialise the %s", what);
    }
    /* Copied so callers free with free(), whatever allocator libxml2 uses. */
    char *out = nm_xmalloc((size_t)size + 1);
    memcpy(out, mem, (size_t)size);
    out[size] = '\0';
    xmlFree(mem);
    *ret_data = out;
    *ret_len = (size_t)size;
    return 0;
}

int nm_report_write_stream(nm_report_streamer stream, const json_t *report,
                           const struct nm_host_iter *it, const char *path, nm_diag *d)
{
    const char *slash = strrchr(path, '/');
    char *prefix = nm_temp_prefix(slash ? slash + 1 : path);
    char *tmp = slash ? nm_xasprintf("%.*s/%sXXXXXX", (int)(slash - path), path, prefix)
                      : nm_xasprintf("%sXXXXXX", prefix);
    free(prefix);
    int r = 0;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        r = nm_diag_set(d, NM_ERR_IO, "%s: cannot create temporary file: %s", path,
                        strerror(errno));
        free(tmp);
        return r;
    }
    FILE *out = fdopen(fd, "w");
    if (!out) {
        r = nm_diag_set(d, NM_ERR_IO, "%s: %s", tmp, strerror(errno));
        close(fd);
        goto out;
    }
    errno = 0;
    r = stream(report, it, out, d);
    if (r < 0 && ferror(out))
        r = nm_diag_set(d, NM_ERR_IO, "%s: write failed: %s", tmp, strerror(errno ? errno : EIO));
    if (r == 0 && fflush(out) != 0)
        r = nm_diag_set(d, NM_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
    if (r == 0 && (fchmod(fd, NM_OUTDIR_FILE_MODE) < 0 || fsync(fd) < 0))
        r = nm_diag_set(d, NM_ERR_IO, "%s: %s", tmp, strerror(errno));
    if (fclose(out) != 0 && r == 0)
        r = nm_diag_set(d, NM_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
    if (r == 0 && rename(tmp, path) < 0)
        r = nm_diag_set(d, NM_ERR_IO, "%s: rename failed: %s", path, strerror(errno));
out:
    if (r < 0)
        unlink(tmp);
    free(tmp);
    return r;
}
