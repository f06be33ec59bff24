#!/usr/bin/env bash
# Render conf/nginx.conf.in as an nginx config for a host with TLS: HTTPS with HTTP/2 on TLS_PORT (TLS 1.2/1.3,
# modern ciphers, session tickets off, OCSP-free), HSTS on every answer (also where a location sets its own
# headers), and a plain-HTTP server on HTTP_PORT that only redirects to HTTPS. The HLS (secure_link), upload and
# FastCGI locations are the template's, unchanged.
# Usage: TLS_CERT=… TLS_KEY=… FCGI_SOCKET=… DATA_DIR=… HLS_SECRET=… [RSTREAM_ROOT=…] [NGINX_DIR=…] [TLS_PORT=443]
#        [HTTP_PORT=80] [LISTEN_ADDR=0.0.0.0] [SERVER_NAME=_] scripts/ops_nginx_tls.sh > /etc/nginx/nginx.conf
# NGINX_DIR holds pid, logs and temp files (a host: /var/lib/nginx-rstream; the test: a scratch dir).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
: "${TLS_CERT:?path of the PEM certificate (chain)}" "${TLS_KEY:?path of the key}" "${FCGI_SOCKET:?e.g. /run/rstream/fcgi.sock}"
: "${DATA_DIR:?e.g. /var/lib/rstream}" "${HLS_SECRET:?the RSTREAM_HLS_SECRET value}"
RSTREAM_ROOT=${RSTREAM_ROOT:-$ROOT}
NGINX_DIR=${NGINX_DIR:-/var/lib/nginx-rstream}
TLS_PORT=${TLS_PORT:-443}
HTTP_PORT=${HTTP_PORT:-80}
LISTEN_ADDR=${LISTEN_ADDR:-0.0.0.0}
SERVER_NAME=${SERVER_NAME:-_}
user_line=""
[ "$(id -u)" = 0 ] && user_line="user ${NGINX_USER:-www-data};"
HSTS='add_header Strict-Transport-Security "max-age=31536000; includeSubDomains" always;'

# sed with | as delimiter: none of the values contain it (paths, hex secret, numbers)
sed -e "s|@STACK_DIR@|$NGINX_DIR|g" \
    -e "s|@RSTREAM_ROOT@|$RSTREAM_ROOT|g" \
    -e "s|@DATA_DIR@|$DATA_DIR|g" \
    -e "s|@FCGI_SOCKET@|$FCGI_SOCKET|g" \
    -e "s|@HLS_SECRET@|$HLS_SECRET|g" \
    -e "s|@USER_LINE@|$user_line|g" \
    -e "s|^\( *\)listen 127.0.0.1:@HTTP_PORT@ default_server reuseport;|\1listen $LISTEN_ADDR:$TLS_PORT ssl http2 default_server reuseport;\n\
\1ssl_certificate $TLS_CERT;\n\
\1ssl_certificate_key $TLS_KEY;\n\
\1ssl_protocols TLSv1.2 TLSv1.3;\n\
\1ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;\n\
\1ssl_prefer_server_ciphers off;\n\
\1ssl_session_cache shared:rstream_tls:10m;\n\
\1ssl_session_timeout 1d;\n\
\1ssl_session_tickets off;\n\
\1# nginx adds HSTS everywhere; the app's own copy (secure_cookies) would be a second header\n\
\1fastcgi_hide_header Strict-Transport-Security;\n\
\1$HSTS|" \
    -e "s|^\( *\)server_name _;|\1server_name $SERVER_NAME;|" \
    -e "s|^\( *\)\(add_header Cache-Control .*\)$|\1\2\n\1$HSTS|" \
    "$ROOT/conf/nginx.conf.in" |
# the plain-HTTP port only redirects (inserted before the http block's last closing brace)
python3 -c '
import sys
text = sys.stdin.read()
redirect = """
    server {
        listen %s:%s default_server;
        server_name %s;
        location / { return 301 https://$host:%s$request_uri; }
    }
""" % tuple(sys.argv[1:5])
i = text.rstrip().rfind("}")
sys.stdout.write(text[:i] + redirect + text[i:])
' "$LISTEN_ADDR" "$HTTP_PORT" "$SERVER_NAME" "$TLS_PORT"
