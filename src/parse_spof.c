/* placeholder: being written */
#include "parsers-builtin.h"

int nm_parse_mdstat(const char *data, size_t len, const json_t *options, json_t **ret_items,
                    nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser mdstat: not implemented yet");
}

int nm_parse_bonding(const char *data, size_t len, const json_t *options, json_t **ret_items,
                     nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser bonding: not implemented yet");
}

int nm_parse_resolv_conf(const char *data, size_t len, const json_t *options, json_t **ret_items,
                         nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser resolv_conf: not implemented yet");
}

int nm_parse_timesync(const char *data, size_t len, const json_t *options, json_t **ret_items,
                      nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser timesync: not implemented yet");
}

int nm_parse_ipmi_psu(const char *data, size_t len, const json_t *options, json_t **ret_items,
                      nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser ipmi_psu: not implemented yet");
}

int nm_parse_zpool(const char *data, size_t len, const json_t *options, json_t **ret_items,
                   nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser zpool: not implemented yet");
}
