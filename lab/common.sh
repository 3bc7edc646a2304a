# Shared settings and helpers of the lab scripts (sourced).
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(dirname "$LAB_DIR")
STATE_DIR=${VOIPGUARD_LAB_STATE:-$REPO_DIR/.lab}
LAB_IMAGE=${VOIPGUARD_LAB_IMAGE:-localhost/voipguard-lab:latest}
export CONTAINERS_CONF=$LAB_DIR/containers.conf

log() { printf '[lab] %s\n' "$*" >&2; }
die() { printf '[lab] error: %s\n' "$*" >&2; exit 1; }
require_root() { [ "$(id -u)" = 0 ] || die "run as root (podman networks with fixed addresses, nftables in containers)"; }
require_podman() {
  command -v podman >/dev/null || die "podman is missing: apt-get install podman runc"
  command -v runc >/dev/null || die "runc is missing: apt-get install runc (crun fails on this kernel's cgroups)"
}
umount_all() {
  local root=$1
  for m in dev proc; do mountpoint -q "$root/$m" 2>/dev/null && umount -l "$root/$m"; done
  return 0
}
