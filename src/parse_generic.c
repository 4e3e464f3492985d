/* placeholder: being written */
#include "parsers-builtin.h"

int nm_parse_regex(const char *data, size_t len, const json_t *options, json_t **ret_items,
                   nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser regex: not implemented yet");
}

int nm_parse_kv(const char *data, size_t len, const json_t *options, json_t **ret_items,
                nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser kv: not implemented yet");
}

int nm_parse_table(const char *data, size_t len, const json_t *options, json_t **ret_items,
                   nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser table: not implemented yet");
}

int nm_parse_lines(const char *data, size_t len, const json_t *options, json_t **ret_items,
                   nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser lines: not implemented yet");
}

int nm_parse_json(const char *data, size_t len, const json_t *options, json_t **ret_items,
                  nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser json: not implemented yet");
}
