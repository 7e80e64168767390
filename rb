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

# Debian packages the lab, the validators and the browser test need (nginx and
# memcached: the lab's backends, run in their own namespaces).
apt_packages=(python3-venv haproxy keepalived systemd-container debootstrap chromium
              netcat-openbsd psmisc apt-utils iproute2 ifupdown curl openssh-client
              nginx memcached)
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
    # The packages' own services are not wanted on the control machine (the
    # lab runs its own instances); a service that was already installed is
    # the machine owner's and is left alone.
    for svc in haproxy keepalived nginx memcached; do
      [[ " ${missing[*]} " == *" $svc "* ]] || continue
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

# Mermaid is served by the site itself (the site works offline): one copy
# taken from the npm package, kept out of git.
mermaid="docs/assets/vendor/mermaid.min.js"
mermaid_version="11.4.1"
if [ ! -s "$mermaid" ] || ! grep -qs "$mermaid_version" "$mermaid.version"; then
  if ! command -v npm >/dev/null && [ "$(id -u)" = 0 ]; then
    say "instalando npm para obtener Mermaid"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  fi
  if command -v npm >/dev/null; then
    say "descargando Mermaid $mermaid_version (paquete npm)"
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack -q "mermaid@$mermaid_version" >/dev/null 2>&1 && tar xzf mermaid-*.tgz)
    mkdir -p "$(dirname "$mermaid")"
    cp "$tmp/package/dist/mermaid.min.js" "$mermaid"
    echo "$mermaid_version" > "$mermaid.version"
    rm -rf "$tmp"
  else
    say "aviso: sin npm no hay copia local de Mermaid; el diagrama no se dibujará"
  fi
fi

exec .venv/bin/invoke "$@"
