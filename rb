#!/usr/bin/env bash
# runbook wrapper, in the manner of the Gradle wrapper: the first call prepares
# everything the project needs (Debian packages when run as root, a .venv with
# the project, a local copy of Mermaid for the offline site), every call then
# forwards its arguments to `invoke`.
#   ./rb demo      site + lab + deploy + verify
#   ./rb test      all tests
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

say() { printf 'rb: %s\n' "$*" >&2; }

# Debian packages the lab, the validators and the browser test need.
apt_packages=(python3-venv haproxy keepalived systemd-container debootstrap chromium
              netcat-openbsd psmisc apt-utils iproute2 ifupdown curl openssh-client)
if [ "$(id -u)" = 0 ] && command -v dpkg-query >/dev/null; then
  # One dpkg-query for all packages: this runs on every ./rb call.
  installed="$( (dpkg-query -W -f='${Package} ${Status}\n' "${apt_packages[@]}" 2>/dev/null || true) \
               | awk '$NF == "installed" {print $1}')"
  missing=()
  for p in "${apt_packages[@]}"; do
    grep -qx "$p" <<<"$installed" || missing+=("$p")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "instalando paquetes de Debian: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # The packages' own services are not wanted on the control machine.
    for svc in haproxy keepalived; do
      systemctl disable --now "$svc" >/dev/null 2>&1 || true
    done
  fi
fi

# The virtualenv, rebuilt when pyproject.toml changes.
stamp=".venv/.runbook-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -e "$stamp" ]; then
  say "preparando .venv"
  [ -x .venv/bin/python ] || python3 -m venv .venv
  .venv/bin/pip install -q --disable-pip-version-check -e '.[test]'
  rm -f .venv/.runbook-*
  touch "$stamp"
fi

# Scripts the site serves itself (it works offline), taken from npm packages
# and kept out of git: Mermaid for the diagrams, iframe-worker so that search
# also works when the site is opened from files (file://).
vendor() {  # package version file-in-package destination
  local pkg="$1" version="$2" src="$3" dest="$4"
  if [ -s "$dest" ] && grep -qsx "$version" "$dest.version"; then return; fi
  if ! command -v npm >/dev/null && [ "$(id -u)" = 0 ]; then
    say "instalando npm para obtener $pkg"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  fi
  if ! command -v npm >/dev/null; then
    say "aviso: sin npm no hay copia local de $pkg; el sitio no se podrá construir"
    return
  fi
  say "descargando $pkg $version (paquete npm)"
  local tmp
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack -q "$pkg@$version" >/dev/null 2>&1 && tar xzf "$pkg"-*.tgz)
  mkdir -p "$(dirname "$dest")"
  cp "$tmp/package/$src" "$dest"
  echo "$version" > "$dest.version"
  rm -rf "$tmp"
}
vendor mermaid 11.4.1 dist/mermaid.min.js docs/assets/vendor/mermaid.min.js
vendor iframe-worker 1.0.4 shim/index.js docs/assets/vendor/iframe-worker/shim.js

exec .venv/bin/invoke "$@"
