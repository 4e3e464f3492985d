/*
 * Package and release versions compared segment by segment (digits
 * numerically, letters lexically, '~' sorts first, as dpkg and rpm agree on).
 */
#ifndef NEARMISS_VERSION_H
#define NEARMISS_VERSION_H

/* <0, 0 or >0 as a is older than, equal to or newer than b. */
int nm_version_compare(const char *a, const char *b);

#endif
