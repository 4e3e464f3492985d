/* Private to the report writers (see nearmiss/writers.h). */
#ifndef NM_REPORT_WRITE_H
#define NM_REPORT_WRITE_H

#include <libxml/xmlstring.h>
#include <stddef.h>

#include "nearmiss/error.h"

/* Takes ownership of libxml2's buffer mem (freed in every case) and hands
 * back a malloc'd NUL-terminated copy; `what` names the document in errors. */
int nm_report_take_xml(xmlChar *mem, int size, const char *what, char **ret_data, size_t *ret_len,
                       nm_diag *d);

#endif
