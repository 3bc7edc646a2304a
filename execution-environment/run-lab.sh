#!/usr/bin/env bash
# Runs playbooks/harden.yml on the lab's PBX inside the execution environment, the way AWX runs a
# job: ansible-runner starts the image with podman (process isolation), the project is a copy of
# this checkout (AWX syncs one), the inventory is the lab's, and the machine credential (the lab's
# SSH key) lies in the runner's private folder, which the container sees as /runner.
# The container runs as root: ansible-runner creates its artifacts (the callback plugin, the
# fact cache, env/ssh_key's pipe) as the caller, root here, where the image's uid 1000 cannot
# reach them. AWX runs podman rootless, whose user namespace maps the two.
#
#   execution-environment/run-lab.sh [ansible-playbook options, e.g. --check]
# Needs: lab/lab.sh up, and the image (execution-environment/build.sh [--debian-base]).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
# shellcheck source=../lab/common.sh
. "$repo/lab/common.sh"

image=${VOIPGUARD_EE_IMAGE:-localhost/voipguard-ee:latest}
require_root
require_podman
podman image exists "$image" || die "no image $image: execution-environment/build.sh [--debian-base] builds it"
[ -f "$STATE_DIR/ssh/id_ed25519" ] || die "the lab is not up: lab/lab.sh up"

private=$(mktemp -d /var/tmp/voipguard-ee-run.XXXXXX)
trap 'rm -rf "$private"' EXIT
mkdir -p "$private/project"
tar -C "$repo" --exclude=./.venv --exclude=./.lab --exclude=./.git --exclude=./.secrets -c . \
  | tar -x -C "$private/project"
cp -r "$repo/inventories/lab" "$private/inventory"
install -m 0600 "$STATE_DIR/ssh/id_ed25519" "$private/ssh_key"
install -m 0644 "$STATE_DIR/ssh/known_hosts" "$private/known_hosts"
# Rotated credentials must outlive the job: the project is a copy that goes with it, so they are
# kept in this checkout's .secrets, exposed to the container (AWX: "Paths to expose to isolated
# jobs", with voipguard_controller_secrets_dir pointing there).
install -d -m 0700 "$repo/.secrets"
printf -- '---\nvoipguard_controller_secrets_dir: /runner/secrets\n' > "$private/inventory/group_vars/all/ee.yml"
# The lab's SSH settings without this machine's paths; the host keys are still checked, against
# the lab's known_hosts.
cat > "$private/inventory/group_vars/all/lab_ssh.yml" <<'YAML'
---
ansible_ssh_private_key_file: /runner/ssh_key
ansible_ssh_common_args: >-
  -o UserKnownHostsFile=/runner/known_hosts -o GlobalKnownHostsFile=/dev/null
  -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes
YAML

started=$(date +%s)
set +e
"$repo/.venv/bin/ansible-runner" run "$private" -p playbooks/harden.yml --limit pbx \
  --process-isolation --process-isolation-executable podman --container-image "$image" \
  --container-option=--network=voipguard-mgmt --container-option=--user=0 \
  --container-volume-mount "$repo/.secrets:/runner/secrets" ${1:+"--cmdline=$*"}
rc=$?
set -e
log "harden.yml through ansible-runner in $image: rc $rc in $(( $(date +%s) - started )) s"
exit "$rc"
