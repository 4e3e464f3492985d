/* placeholder: being written */
typedef int nm_placeholder_tls;
