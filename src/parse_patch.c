/* placeholder: being written */
#include "parsers-builtin.h"

int nm_parse_apt_simulate(const char *data, size_t len, const json_t *options, json_t **ret_items,
                          nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser apt_simulate: not implemented yet");
}

int nm_parse_dnf_updateinfo(const char *data, size_t len, const json_t *options, json_t **ret_items,
                            nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser dnf_updateinfo: not implemented yet");
}

int nm_parse_apk_upgradable(const char *data, size_t len, const json_t *options, json_t **ret_items,
                            nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser apk_upgradable: not implemented yet");
}

int nm_parse_zypper_patches(const char *data, size_t len, const json_t *options, json_t **ret_items,
                            nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser zypper_patches: not implemented yet");
}

int nm_parse_reboot_debian(const char *data, size_t len, const json_t *options, json_t **ret_items,
                           nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser reboot_debian: not implemented yet");
}

int nm_parse_reboot_rpm(const char *data, size_t len, const json_t *options, json_t **ret_items,
                        nm_diag *d)
{
    return nm_diag_set(d, NM_ERR_NOTFOUND, "parser reboot_rpm: not implemented yet");
}
