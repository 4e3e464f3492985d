/* placeholder: being written */
#include "parsers-builtin.h"

int nm_parse_df(const char *data, size_t len, const json_t *options, json_t **ret_items,
                nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser df: not implemented yet");
}

int nm_parse_mounts(const char *data, size_t len, const json_t *options, json_t **ret_items,
                    nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser mounts: not implemented yet");
}

int nm_parse_kernel_errors(const char *data, size_t len, const json_t *options, json_t **ret_items,
                           nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser kernel_errors: not implemented yet");
}
