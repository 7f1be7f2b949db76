#!/usr/bin/env bash
# `nginx -t` on the shipped site (or the site file given): builds a throwaway nginx.conf in a
# temporary folder that includes the site, with its certificate and static paths moved into
# that folder (a self-signed certificate made with openssl), and checks it. Installs nothing:
# it needs nginx and openssl on PATH (Debian's nginx and openssl packages).
set -euo pipefail
cd "$(dirname "$0")/.."
site=${1:-deploy/nginx/aid.conf}
[ -f "$site" ] || { echo "$site: no such file" >&2; exit 2; }
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[ -x "$NGINX" ] || { echo "nginx is not installed (apt-get install nginx)." >&2; exit 2; }

work=$(mktemp -d /tmp/aid-check-nginx.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/ssl" "$work/aid/staticfiles" "$work/logs"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=aid.example \
    -keyout "$work/ssl/aid.key" -out "$work/ssl/aid.crt" 2>/dev/null
sed -e "s#/etc/ssl/aid/#$work/ssl/#g" -e "s#/opt/aid/#$work/aid/#g" "$site" > "$work/site.conf"

# mime.types from nginx's own configuration folder, as the distribution's nginx.conf has it.
conf_dir=$(dirname "$("$NGINX" -V 2>&1 | sed -n 's/.*--conf-path=\([^ ]*\).*/\1/p')")
cat > "$work/nginx.conf" <<CONF
pid $work/nginx.pid;
error_log $work/logs/error.log;
events {}
http {
    include $conf_dir/mime.types;
    access_log $work/logs/access.log;
    client_body_temp_path $work/body;
    proxy_temp_path $work/proxy;
    fastcgi_temp_path $work/fastcgi;
    uwsgi_temp_path $work/uwsgi;
    scgi_temp_path $work/scgi;
    include $work/site.conf;
}
CONF
"$NGINX" -t -q -p "$work" -c "$work/nginx.conf"
echo "nginx accepts $site."
