/* placeholder: being written */
#include "parsers-builtin.h"

int nm_parse_smartctl_json(const char *data, size_t len, const json_t *options, json_t **ret_items,
                           nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser smartctl_json: not implemented yet");
}
