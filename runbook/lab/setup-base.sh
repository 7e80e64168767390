#!/bin/sh
# Turns a fresh debootstrap tree into the lab's base image. Runs on the host
# with the tree as $1 (no chroot needed). Part of the base recipe: editing
# this file changes the recipe hash and rebuilds the cached base.
set -eu
root="$1"

# The only apt source is the local repository baked into the image: the lab
# has no route to any mirror, yet `apt-get update && apt-get install -y
# haproxy keepalived psmisc` must run exactly as the procedure documents.
cat > "$root/etc/apt/sources.list" <<'SRC'
deb [trusted=yes] file:/var/local/lab-repo ./
SRC
rm -f "$root"/etc/apt/sources.list.d/*
rm -rf "$root"/var/lib/apt/lists/*
mkdir -p "$root/var/lib/apt/lists/partial"
# debootstrap leaves its downloaded packages behind: not needed in the image.
rm -f "$root"/var/cache/apt/archives/*.deb

# Like a fresh server: ifupdown reads interfaces.d, where deploy writes the
# eth1 stanza. eth0 (management) is configured from outside by the lab
# before boot, as the provider's network would be, so it has no stanza.
cat > "$root/etc/network/interfaces" <<'IFS'
# Interfaces de este nodo. eth0 (gestión) la configura el laboratorio.
source /etc/network/interfaces.d/*

auto lo
iface lo inet loopback
IFS
mkdir -p "$root/etc/network/interfaces.d"

# Host keys and machine-id are per node: each node's overlay layer gets its
# own at every `lab.up`, so no two nodes (and no two runs) share them.
rm -f "$root"/etc/ssh/ssh_host_*
: > "$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"

# Root logs in by key only (Debian's default PermitRootLogin
# prohibit-password); the lab writes authorized_keys per node.
install -d -m 700 "$root/root/.ssh"
# No DNS inside the sealed lab; debootstrap copied the host's resolv.conf.
: > "$root/etc/resolv.conf"

# Units that cannot work in a container, masked so the node reaches
# "running" instead of "degraded":
# - apt-daily*: would try to reach the Debian mirror; the lab has no route.
# - getty@tty1: a container has no virtual terminals; access is by SSH.
# - console-getty: nobody types on nspawn's console (it is a log file).
# - e2scrub*, fstrim: the node's disk is an overlay, not a block device.
for unit in apt-daily.timer apt-daily-upgrade.timer getty@tty1.service \
            console-getty.service e2scrub_all.timer e2scrub_reap.service fstrim.timer; do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
rm -f "$root/etc/systemd/system/getty.target.wants/getty@tty1.service" \
      "$root/etc/systemd/system/timers.target.wants/apt-daily.timer" \
      "$root/etc/systemd/system/timers.target.wants/apt-daily-upgrade.timer" \
      "$root/etc/systemd/system/timers.target.wants/e2scrub_all.timer" \
      "$root/etc/systemd/system/timers.target.wants/fstrim.timer" \
      "$root/etc/systemd/system/multi-user.target.wants/e2scrub_reap.service"
