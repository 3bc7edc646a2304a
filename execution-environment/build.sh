#!/usr/bin/env bash
# Builds the execution environment localhost/voipguard-ee from execution-environment.yml with
# ansible-builder and podman.
#
#   execution-environment/build.sh                the file's base image (quay.io/centos/centos:stream9)
#   execution-environment/build.sh --debian-base  a Debian 13 base made here with debootstrap
#
# --debian-base is for machines that reach no image registry (the lab's, which builds its own
# images the same way). ansible-builder supports RPM-based bases only; this one goes through the
# build arguments the generated Containerfile declares (EE_BASE_IMAGE, PYCMD, PYPKG, PKGMGR):
# apt-get where dnf is expected, and the Python of a virtual environment made from Debian's
# python3 (Debian disables ensurepip, which ansible-builder runs, for the system Python).
# Everything else comes from the file: the Python requirements, bindep's system packages,
# ansible-core and ansible-runner.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
# shellcheck source=../lab/common.sh
. "$repo/lab/common.sh"

tag=${VOIPGUARD_EE_IMAGE:-localhost/voipguard-ee:latest}
base=localhost/voipguard-ee-base:trixie
mirror=${VOIPGUARD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
builder=$repo/.venv/bin/ansible-builder
[ -x "$builder" ] || die "ansible-builder is missing: ./voipguard setup installs it into .venv"
require_root
require_podman

build_args=()
if [ "${1:-}" = "--debian-base" ]; then
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
  if ! podman image exists "$base"; then
    root=$(mktemp -d /var/tmp/voipguard-ee-root.XXXXXX)
    trap 'rm -rf "$root"' EXIT
    log "debootstrap trixie (python3, python3-venv for ensurepip) into $root"
    debootstrap --variant=minbase --include=ca-certificates,python3,python3-venv trixie "$root" "$mirror" \
      >"$root.log" 2>&1 || { tail -20 "$root.log"; rm -f "$root.log"; die "debootstrap failed"; }
    rm -f "$root.log"
    # The package lists stay: the build installs bindep's packages with apt-get.
    chroot "$root" apt-get -qq update
    chroot "$root" python3 -m venv /opt/ee
    # The base trusts what this machine trusts: its local CAs (a TLS-inspecting proxy's, say),
    # which pip inside the build meets on its way to PyPI.
    cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/" 2>/dev/null || true
    chroot "$root" update-ca-certificates >/dev/null
    bundle=/etc/ssl/certs/ca-certificates.crt
    tar -C "$root" --numeric-owner -c . \
      | podman import --change 'CMD ["bash"]' \
          --change 'ENV PATH=/opt/ee/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
          --change "ENV PIP_CERT=$bundle" --change "ENV SSL_CERT_FILE=$bundle" \
          - "$base" >/dev/null
    log "imported $base"
  fi
  build_args=(--build-arg "EE_BASE_IMAGE=$base" --build-arg PYCMD=/opt/ee/bin/python3
              --build-arg PYPKG=python3 --build-arg PKGMGR=/usr/bin/apt-get)
fi

context=$(mktemp -d /var/tmp/voipguard-ee-context.XXXXXX)
trap 'rm -rf "$context" "${root:-}"' EXIT
started=$(date +%s)
log "ansible-builder build -f execution-environment.yml -t $tag ${build_args[*]}"
(cd "$repo" && "$builder" build -f execution-environment.yml -c "$context" -t "$tag" \
   --container-runtime podman "${build_args[@]}" -v 2)
log "built $tag in $(( $(date +%s) - started )) s"
