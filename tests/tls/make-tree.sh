#!/bin/sh
# Builds a fake host file tree for the x509_files probe test (test-tls.c):
#   make-tree.sh ROOT PKI_DIR
# The probe runs with NM_X509_ROOT=ROOT and must find exactly the files the
# test expects; every path here is chosen to exercise one rule of the probe.
set -eu
R=$1
P=$2
mk() { mkdir -p "$R/$1"; }
mk etc/letsencrypt/archive/a
mk etc/letsencrypt/live/a
mk 'etc/ssl/my certs'
mk etc/ssl/certs
mk etc/ssl/private
mk etc/ssl/deep/a/b/c/d
mk etc/nginx/sites-available
mk etc/nginx/sites-enabled
mk etc/apache2/sites-enabled
mk etc/haproxy
mk etc/postfix
mk etc/dovecot/conf.d
mk etc/kubernetes/pki/etcd
mk etc/pki/tls/certs
mk var/lib/kubelet/pki
mk srv/tls
mk srv/haproxy

# Let's Encrypt: live/ is a symlink into archive/ (realpath differs).
cp "$P/exp3.pem" "$R/etc/letsencrypt/archive/a/cert1.pem"
ln -s ../../archive/a/cert1.pem "$R/etc/letsencrypt/live/a/cert.pem"
# Same file through another symlink: merged by realpath.
ln -s ../letsencrypt/archive/a/cert1.pem "$R/etc/ssl/dup.crt"
# Spaces in directory and file names.
cp "$P/exp10.pem" "$R/etc/ssl/my certs/web server.pem"
# CA stores and keys: never fetched.
cp "$P/root.pem" "$R/etc/ssl/certs/ca.pem"
cp "$P/root.pem" "$R/etc/ssl/ca-certificates.crt"
cp "$P/root.pem" "$R/etc/ssl/vendor-bundle.pem"
cp "$P/combo.key" "$R/etc/ssl/private/server.pem"
cp "$P/root.pem" "$R/etc/pki/tls/certs/ca-bundle.crt"
cp "$P/exp20.pem" "$R/etc/pki/tls/certs/localhost.crt"
# Too deep for find -maxdepth 4 below /etc/ssl.
cp "$P/exp60.pem" "$R/etc/ssl/deep/a/b/c/d/too-deep.pem"
# Certificate + key in one file: the key body must not leave the host.
cat "$P/combo.pem" "$P/combo.key" >"$R/etc/ssl/combo.pem"
chmod 644 "$R/etc/ssl/combo.pem"
# DER: a certificate is sent, a private key (PKCS#8 DER) and text are not.
cp "$P/exp60.der" "$R/etc/ssl/der.crt"
cp "$P/combo-key.der" "$R/etc/ssl/der-key.crt"
printf 'password=hunter2\n' >"$R/srv/tls/secret.txt"
# Larger than the 1 MiB per-file limit.
head -c 1500000 /dev/zero >"$R/etc/ssl/big.pem"
# Config references.
printf 'server {\n    listen 443 ssl;\n    ssl_certificate /srv/tls/fullchain.pem;\n    ssl_certificate_key /srv/tls/key.pem;\n    ssl_certificate "relative.pem";\n    ssl_certificate /srv/$ssl_server_name.pem;\n    ssl_certificate /srv/tls/secret.txt;\n}\n' \
    >"$R/etc/nginx/sites-available/site"
ln -s ../sites-available/site "$R/etc/nginx/sites-enabled/site"
cat "$P/chain.pem" "$P/inter.pem" >"$R/srv/tls/fullchain.pem"
cp "$P/ec256.pem" "$R/etc/nginx/relative.pem"
printf '<VirtualHost *:443>\n  SSLEngine on\n  SSLCertificateFile "/srv/tls/apache.crt"\n  sslcertificatechainfile /srv/tls/missing.pem\n</VirtualHost>\n' \
    >"$R/etc/apache2/sites-enabled/x.conf"
cp "$P/rsa1024.pem" "$R/srv/tls/apache.crt"
printf 'global\n    crt-base /srv/haproxy\nfrontend web\n    bind :443 ssl crt site.pem alpn h2\n' \
    >"$R/etc/haproxy/haproxy.cfg"
cat "$P/p224.pem" "$P/combo.key" >"$R/srv/haproxy/site.pem"
printf 'smtpd_tls_cert_file = /srv/tls/fullchain.pem\nsmtpd_tls_key_file = /srv/tls/key.pem\n' \
    >"$R/etc/postfix/main.cf"
printf 'ssl = required\nssl_cert = </srv/tls/dovecot.pem\nssl_key = </srv/tls/key.pem\n' \
    >"$R/etc/dovecot/conf.d/10-ssl.conf"
cp "$P/notyet.pem" "$R/srv/tls/dovecot.pem"
# Kubernetes.
cp "$P/ed25519.pem" "$R/etc/kubernetes/pki/apiserver.crt"
cp "$P/root.pem" "$R/etc/kubernetes/pki/etcd/ca.crt"
cat "$P/sha1.pem" "$P/combo.key" >"$R/var/lib/kubelet/pki/kubelet-client-2026.pem"
ln -s kubelet-client-2026.pem "$R/var/lib/kubelet/pki/kubelet-client-current.pem"
