/*
 * A sudoers drop-in for the commands the probes run as root: each probe's
 * root_commands (exact lines the loader vetted) as a Cmnd_Alias, the
 * distribution path variants named, NOPASSWD for user as runas; probes that
 * run a whole script as root are named as not allowable.  What the remote
 * script runs through sudo -n (nearmiss/script.h) and this text are one
 * list, so a host given the drop-in runs every root command it names.
 */
#ifndef NEARMISS_SUDOERS_H
#define NEARMISS_SUDOERS_H

#include <stdbool.h>

#include "nearmiss/check.h"
#include "nearmiss/util.h"

/* Appends the drop-in's rules to b for the checks of cs with keep[i] set
 * (keep NULL: all). */
void nm_sudoers_render(struct nm_buf *b, const struct nm_checkset *cs, const bool *keep,
                       const char *user, const char *runas);

#endif
