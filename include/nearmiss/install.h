/*
 * What this copy of nearmiss ships with, and where it finds it.  Probes run
 * as root on every host, so which checks run must never depend on a folder
 * that happens to lie around: the source tree's checks/ is used only by the
 * binary of the build directory that was configured from it.
 */
#ifndef NEARMISS_INSTALL_H
#define NEARMISS_INSTALL_H

/*
 * The checks directory when none is given (malloc'd), the first of:
 *   1. $NEARMISS_CHECKS_DIR, when set and not empty;
 *   2. the binary of the build directory (its own directory, symlinks
 *      resolved, is the configured build directory): the source tree's
 *      checks/;
 *   3. an installed binary whose directory ends in the configured bindir:
 *      the datadir beside it (BINDIR/../share/nearmiss/checks), when it
 *      exists, so that a DESTDIR or relocated install reads its own copy;
 *   4. PREFIX/DATADIR/nearmiss/checks as configured.
 * Never the source tree for an installed binary, even if it still exists.
 */
char *nm_default_checks_dir(void);

#endif
