#!/usr/bin/env bash
# Installs the lab's packages into a debootstrapped root. Usage: rootfs.sh ROOT PACKAGES_FILE
set -euo pipefail
root=$1 packages=$2
in_root() { chroot "$root" env DEBIAN_FRONTEND=noninteractive LANG=C "$@"; }

mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
# Services must not start inside the chroot.
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"; chmod +x "$root/usr/sbin/policy-rc.d"
cat > "$root/etc/apt/sources.list" <<SRC
deb $MIRROR trixie main
deb $MIRROR unstable main
SRC
# unstable only for what is named with -t unstable (Asterisk 22).
cat > "$root/etc/apt/preferences.d/unstable" <<'PIN'
Package: *
Pin: release a=unstable
Pin-Priority: 100
PIN
# The mirror's unstable Release file can be past its Valid-Until date.
echo 'Acquire::Check-Valid-Until "false";' > "$root/etc/apt/apt.conf.d/99no-check-valid-until"
echo 'APT::Install-Recommends "false";' > "$root/etc/apt/apt.conf.d/99no-recommends"
in_root apt-get -qq update
in_root apt-get -qq install -y $(grep -v '^#' "$packages" | xargs) >/dev/null
in_root apt-get -qq install -y -t unstable asterisk asterisk-modules >/dev/null
in_root apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root/usr/sbin/policy-rc.d"

# Every container gets its own SSH host keys and machine id at first boot (see lab up).
rm -f "$root"/etc/ssh/ssh_host_* "$root/etc/machine-id"
: > "$root/etc/machine-id"
# Services each lab host enables for itself.
in_root systemctl disable asterisk.service fail2ban.service tor.service >/dev/null 2>&1 || true
# Units that make no sense in a container.
in_root systemctl mask getty@tty1.service console-getty.service systemd-logind.service \
  systemd-networkd.service systemd-resolved.service tor@default.service >/dev/null 2>&1 || true
mkdir -p "$root/root/.ssh"; chmod 700 "$root/root/.ssh"
umount "$root/dev" "$root/proc"
