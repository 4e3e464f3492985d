/* Built-in parsers, registered in parsers.c.  See nearmiss/parsers.h. */
#ifndef NM_PARSERS_BUILTIN_H
#define NM_PARSERS_BUILTIN_H

#include "nearmiss/parsers.h"

int nm_parse_apt_simulate(const char *data, size_t len, const json_t *options, json_t **ret_items,
                          nm_diag *d);
int nm_parse_dnf_updateinfo(const char *data, size_t len, const json_t *options, json_t **ret_items,
                            nm_diag *d);
int nm_parse_apk_upgradable(const char *data, size_t len, const json_t *options, json_t **ret_items,
                            nm_diag *d);
int nm_parse_zypper_patches(const char *data, size_t len, const json_t *options, json_t **ret_items,
                            nm_diag *d);
int nm_parse_reboot_debian(const char *data, size_t len, const json_t *options, json_t **ret_items,
                           nm_diag *d);
int nm_parse_reboot_rpm(const char *data, size_t len, const json_t *options, json_t **ret_items,
                        nm_diag *d);
int nm_parse_df(const char *data, size_t len, const json_t *options, json_t **ret_items,
                nm_diag *d);
int nm_parse_mounts(const char *data, size_t len, const json_t *options, json_t **ret_items,
                    nm_diag *d);
int nm_parse_kernel_errors(const char *data, size_t len, const json_t *options, json_t **ret_items,
                           nm_diag *d);
int nm_parse_smartctl_json(const char *data, size_t len, const json_t *options, json_t **ret_items,
                           nm_diag *d);
int nm_parse_x509_files(const char *data, size_t len, const json_t *options, json_t **ret_items,
                        nm_diag *d);
int nm_parse_mdstat(const char *data, size_t len, const json_t *options, json_t **ret_items,
                    nm_diag *d);
int nm_parse_bonding(const char *data, size_t len, const json_t *options, json_t **ret_items,
                     nm_diag *d);
int nm_parse_resolv_conf(const char *data, size_t len, const json_t *options, json_t **ret_items,
                         nm_diag *d);
int nm_parse_timesync(const char *data, size_t len, const json_t *options, json_t **ret_items,
                      nm_diag *d);
int nm_parse_ipmi_psu(const char *data, size_t len, const json_t *options, json_t **ret_items,
                      nm_diag *d);
int nm_parse_zpool(const char *data, size_t len, const json_t *options, json_t **ret_items,
                   nm_diag *d);
int nm_parse_regex(const char *data, size_t len, const json_t *options, json_t **ret_items,
                   nm_diag *d);
int nm_parse_kv(const char *data, size_t len, const json_t *options, json_t **ret_items,
                nm_diag *d);
int nm_parse_table(const char *data, size_t len, const json_t *options, json_t **ret_items,
                   nm_diag *d);
int nm_parse_lines(const char *data, size_t len, const json_t *options, json_t **ret_items,
                   nm_diag *d);
int nm_parse_json(const char *data, size_t len, const json_t *options, json_t **ret_items,
                  nm_diag *d);

int nm_parse_os_lifecycle(const char *data, size_t len, const json_t *options, json_t **ret_items,
                          nm_diag *d);
int nm_parse_listeners(const char *data, size_t len, const json_t *options, json_t **ret_items,
                       nm_diag *d);

#endif
