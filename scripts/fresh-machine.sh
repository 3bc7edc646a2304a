#!/usr/bin/env bash
# Makes this machine look new to the toolkit, then runs CI as a brand-new Debian machine would:
# a fresh clone of HEAD in a mktemp -d folder (mode 0700), `CI=true bash .ci/run`.
# A green CI on a reused machine can hide a missing install step; this is how to find it.
#
# Removes, as root:
#   - the lab (containers, networks), its image, and all of podman's state (podman system reset);
#   - the Debian packages ./voipguard setup installed, dependencies included (its record in
#     /var/lib/voipguard), and any of the lab's own packages installed some other way;
#   - .venv, .lab and the lab's generated inventory file in this clone, and pip's cache.
# Usage: scripts/fresh-machine.sh [--no-run]     (--no-run: clean up only)
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
RECORD=/var/lib/voipguard/setup-installed-packages
# The lab's packages, whoever installed them: a CNI plugin left from a hand install would also
# change podman's behaviour, so it goes too.
LAB_PACKAGES="podman runc crun conmon netavark aardvark-dns containernetworking-plugins
  golang-github-containernetworking-plugin-dnsname buildah slirp4netns fuse-overlayfs catatonit
  iptables debootstrap fail2ban nftables tor tor-geoipdb sip-tester chromium"

say() { printf '\n== %s\n' "$*"; }
[ "$(id -u)" = 0 ] || { echo "fresh-machine: run as root" >&2; exit 1; }
started=$(date +%s)

if command -v podman >/dev/null; then
  say "removing the lab, its image and podman's state"
  bash "$REPO/lab/lab.sh" down --image || true
  CONTAINERS_CONF=$REPO/lab/containers.conf podman system reset --force || true
fi
rm -rf /var/lib/containers /run/containers /var/lib/cni /run/netavark /run/containers-storage /tmp/voipguard-lab-ssh-*

remove=()
for package in $( { cat "$RECORD" 2>/dev/null; echo $LAB_PACKAGES | tr ' ' '\n'; } | sort -u); do
  dpkg -s "$package" >/dev/null 2>&1 && remove+=("$package")
done
if [ ${#remove[@]} -gt 0 ]; then
  say "purging ${#remove[@]} Debian packages: ${remove[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${remove[@]}" >/dev/null
fi
rm -f "$RECORD"

say "removing .venv, .lab and pip's cache"
rm -rf "$REPO/.venv" "$REPO/.lab" "$REPO/inventories/lab/group_vars/all/lab_ssh.yml" \
  "${HOME:-/root}/.cache/pip"

hash -r  # this shell ran podman above: forget where it was
for tool in podman nft fail2ban-regex debootstrap; do
  if command -v "$tool" >/dev/null; then echo "fresh-machine: $tool is still installed" >&2; exit 1; fi
done
say "machine cleaned in $(( $(date +%s) - started )) s"
[ "${1:-}" = "--no-run" ] && exit 0

work=$(mktemp -d)   # mode 0700, as CI may use
say "CI from a fresh clone of $(git -C "$REPO" rev-parse --short HEAD) in $work"
git clone -q "$REPO" "$work/voipguard"
cd "$work/voipguard"
ci_started=$(date +%s)
status=0
CI=true bash .ci/run </dev/null || status=$?
say "fresh-machine CI: exit $status in $(( $(date +%s) - ci_started )) s (clone left in $work)"
exit "$status"
