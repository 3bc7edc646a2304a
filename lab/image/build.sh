#!/usr/bin/env bash
# Builds localhost/voipguard-lab from Debian's packages: a Debian 13 root made with debootstrap,
# Asterisk 22 from unstable (no other Debian release has it), imported into podman.
# Cached: skipped when an image built from the same recipe (hash of this folder) exists.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../common.sh
. "$here/../common.sh"

mirror=${VOIPGUARD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
recipe=$(cat "$here"/build.sh "$here"/packages.txt "$here"/rootfs.sh | sha256sum | cut -c1-16)

require_root
require_podman
if [ "$(podman image inspect --format '{{ index .Labels "voipguard.recipe" }}' "$LAB_IMAGE" 2>/dev/null)" = "$recipe" ] \
    && [ "${1:-}" != "--force" ]; then
  log "image $LAB_IMAGE is up to date (recipe $recipe)"
  exit 0
fi
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
log "checking the Debian mirror $mirror"
curl -fsS -m 20 -o /dev/null "$mirror/dists/trixie/Release" \
  || die "the Debian mirror $mirror is unreachable: the lab image is built from Debian's packages"

root=$(mktemp -d /var/tmp/voipguard-root.XXXXXX)
trap 'umount_all "$root"; rm -rf "$root"' EXIT
started=$(date +%s)
log "debootstrap trixie into $root"
debootstrap --variant=minbase --include=ca-certificates trixie "$root" "$mirror" >"$root.debootstrap.log" 2>&1 \
  || { tail -20 "$root.debootstrap.log"; die "debootstrap failed"; }
rm -f "$root.debootstrap.log"
MIRROR=$mirror bash "$here/rootfs.sh" "$root" "$here/packages.txt"
log "importing into podman as $LAB_IMAGE"
tar -C "$root" --numeric-owner -c . \
  | podman import --change "LABEL voipguard.recipe=$recipe" --change 'CMD ["/lib/systemd/systemd"]' - "$LAB_IMAGE" >/dev/null
log "image built in $(( $(date +%s) - started )) s (recipe $recipe)"
