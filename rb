#!/usr/bin/env bash
# runbook wrapper, in the manner of the Gradle wrapper: the first call prepares
# everything the project needs (Debian packages when run as root, a .venv with
# the project, a local copy of Mermaid for the offline site), every call then
# forwards its arguments to `invoke`.
#   ./rb demo      site + lab + deploy + verify
#   ./rb test      all tests
# Every failure prints one Spanish line (prefix "rb:") saying what failed and
# what to do. tests/unit/test_rb_wrapper.py runs this file on a simulated fresh
# machine (stand-in dpkg-query, apt-get, systemctl, python3, npm on PATH).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

say() { printf 'rb: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }
# A failure nobody foresaw still says where it happened instead of ending in silence.
trap 'rc=$?; say "error inesperado (código $rc) en la línea $LINENO: «$BASH_COMMAND»; vuelve a ejecutar con «bash -x ./rb …» para ver el detalle"; exit $rc' ERR

# Debian packages the lab, the validators and the browser test need (nginx and
# memcached: the lab's backends, run in their own namespaces; nftables: a lab
# LAN without multicast, as a cloud network is).
apt_packages=(python3-venv haproxy keepalived systemd-container debootstrap chromium
              netcat-openbsd psmisc apt-utils iproute2 ifupdown curl openssh-client
              nginx memcached nftables)
# Their own services are not wanted on the control machine (the lab starts
# its own nginx and memcached instances in the backends' namespaces).
control_machine_off=(haproxy keepalived nginx memcached)

missing_packages() {
  # One dpkg-query for all packages. It exits 1 when
  # any of them is unknown: that is an answer here, not a failure.
  local installed
  installed="$(dpkg-query -W -f='${Package} ${Status}\n' "${apt_packages[@]}" 2>/dev/null || true)"
  installed="$(awk '$NF == "installed" {print $1}' <<<"$installed")"
  local p
  for p in "${apt_packages[@]}"; do
    grep -qx -- "$p" <<<"$installed" || printf '%s\n' "$p"
  done
}

# Debian starts a service as soon as its package is installed: nginx would
# listen on this machine's port 80 (and haproxy, keepalived, memcached run)
# until they are disabled below. A policy-rc.d answering 101 ("action
# forbidden") keeps every service of the install stopped; a policy-rc.d the
# machine already has is left alone (it decides already). Removed when apt is
# done, also when ./rb stops on the way.
policy_rc_d="${RB_POLICY_RC_D:-/usr/sbin/policy-rc.d}"
own_policy=""
trap '[ -z "$own_policy" ] || rm -f -- "$policy_rc_d"' EXIT

apt_updated=""
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ -z "$apt_updated" ]; then
    apt-get update -qq \
      || die "falló «apt-get update» (código $?): revisa la red y las fuentes de apt (/etc/apt/sources.list*) y vuelve a ejecutar ./rb"
    apt_updated=1
  fi
  if [ ! -e "$policy_rc_d" ]; then
    own_policy=1
    printf '#!/bin/sh\n# ./rb (runbook): no service starts while it installs packages\nexit 101\n' >"$policy_rc_d"
    chmod 755 "$policy_rc_d"
  fi
  local rc=0
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null || rc=$?
  if [ -n "$own_policy" ]; then
    rm -f -- "$policy_rc_d"
    own_policy=""
  fi
  [ "$rc" = 0 ] \
    || die "falló «apt-get install $*» (código $rc): lee el error de apt de arriba (¿otro apt en marcha?), corrígelo y vuelve a ejecutar ./rb"
}

# Checking packages and the venv costs tens of milliseconds (dpkg-query, pip's
# stamp) on every call, for nothing once they are in place: a stamp in .venv
# says they were, keyed on everything the install depends on (this script with
# its package list, pyproject.toml). Editing either, or removing .venv, checks
# everything again; so does RB_CHECK_INSTALL=1 (e.g. after removing a package
# by hand). One sha256sum for both files (the key: 8 hex digits of each hash),
# and no other process before exec when nothing changed.
sums="$(sha256sum rb pyproject.toml)"
second="${sums#*$'\n'}"
ready=".venv/.rb-ready-${sums:0:8}${second:0:8}"
if [ -n "${RB_CHECK_INSTALL:-}" ] || [ ! -e "$ready" ]; then
  complete=1  # becomes 0 while a package is missing (without root): check again next time
  if ! command -v dpkg-query >/dev/null; then
    say "aviso: no hay dpkg-query (¿no es Debian?): instala a mano el equivalente de ${apt_packages[*]}"
    complete=0
  else
    mapfile -t missing < <(missing_packages)
    if [ "${#missing[@]}" -gt 0 ]; then
      if [ "$(id -u)" != 0 ]; then
        say "aviso: faltan paquetes de Debian (${missing[*]}): ejecuta ./rb una vez como root, o «sudo apt-get install ${missing[*]}»"
        complete=0
      else
        say "instalando paquetes de Debian: ${missing[*]}"
        apt_install "${missing[@]}"
        for svc in "${control_machine_off[@]}"; do
          if printf '%s\n' "${missing[@]}" | grep -qx -- "$svc"; then
            systemctl disable --now "$svc" >/dev/null 2>&1 || true  # no systemd: nothing running either
          fi
        done
      fi
    fi
  fi

  # The virtualenv, rebuilt when pyproject.toml changes.
  stamp=".venv/.runbook-$(sha256sum pyproject.toml | cut -c1-16)"
  if [ ! -e "$stamp" ]; then
    say "preparando .venv"
    if [ ! -x .venv/bin/pip ]; then
      # A venv left without pip (python3-venv was missing) is made again from scratch.
      rm -rf .venv
      command -v python3 >/dev/null \
        || die "falta python3: instala python3-venv (como root: apt-get install python3-venv) y vuelve a ejecutar ./rb"
      python3 -m venv .venv \
        || die "no se pudo crear .venv con «python3 -m venv» (código $?): instala python3-venv (como root: apt-get install python3-venv) y vuelve a ejecutar ./rb"
    fi
    .venv/bin/pip install -q --disable-pip-version-check -e '.[test]' \
      || die "pip no pudo instalar el proyecto en .venv (código $?): revisa el acceso a PyPI (o la configuración de pip) y vuelve a ejecutar ./rb"
    rm -f .venv/.runbook-*
    touch "$stamp"
  fi
  if [ "$complete" = 1 ]; then
    rm -f .venv/.rb-ready-*
    touch "$ready"
  fi
fi

# Scripts the site serves itself (it works offline), taken from npm packages
# and kept out of git: Mermaid for the diagrams, iframe-worker so that search
# also works when the site is opened from files (file://).
fetch_vendor() {  # package version file-in-package destination
  local pkg="$1" version="$2" src="$3" dest="$4" tmp status=0
  tmp="$(mktemp -d)" || return
  (cd "$tmp" && npm pack -q "$pkg@$version" >/dev/null 2>&1 && tar xzf "$pkg"-*.tgz) || status=$?
  if [ "$status" = 0 ]; then
    mkdir -p "$(dirname "$dest")" && cp "$tmp/package/$src" "$dest" \
      && echo "$version" > "$dest.version" || status=$?
  fi
  rm -rf "$tmp"
  return "$status"
}

vendor() {  # package version file-in-package destination
  local pkg="$1" version="$2" src="$3" dest="$4"
  local have=""
  [ ! -f "$dest.version" ] || read -r have <"$dest.version" || true  # a builtin: no grep on every call
  if [ -s "$dest" ] && [ "$have" = "$version" ]; then return 0; fi
  if ! command -v npm >/dev/null && [ "$(id -u)" = 0 ]; then
    say "instalando npm para obtener $pkg"
    apt_install npm
  fi
  if ! command -v npm >/dev/null; then
    say "aviso: sin npm no hay copia local de $pkg y «./rb docs» fallará: instala npm (como root: apt-get install npm) y vuelve a ejecutar ./rb"
  else
    say "descargando $pkg $version (paquete npm)"
    fetch_vendor "$pkg" "$version" "$src" "$dest" \
      || say "aviso: no se pudo descargar $pkg (npm pack $pkg@$version, código $?) y «./rb docs» fallará: revisa el acceso al registro de npm y vuelve a ejecutar ./rb"
  fi
}
vendor mermaid 11.4.1 dist/mermaid.min.js docs/assets/vendor/mermaid.min.js
vendor iframe-worker 1.0.4 shim/index.js docs/assets/vendor/iframe-worker/shim.js

[ -x .venv/bin/invoke ] \
  || die "falta .venv/bin/invoke (.venv a medias): bórralo («rm -rf .venv») y vuelve a ejecutar ./rb"
# invoke, through a Program that answers command-line misuse in Spanish (exit 2).
exec .venv/bin/python -m runbook.cli "$@"
