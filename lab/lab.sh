#!/usr/bin/env bash
# The voipguard lab: real hosts as podman containers with systemd, on internal networks.
#   lab.sh build            build the image (cached by recipe)
#   lab.sh up               build if needed, start pbx, carrier, admin, attacker in factory state
#   lab.sh down [--image]   remove containers, networks, SSH trust and state (and the image)
#   lab.sh status           show the lab
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
trap 'log "error: lab.sh line $LINENO failed: $BASH_COMMAND"' ERR

# Networks: documentation/benchmark ranges only, internal (no route out), host gets .1.
NETWORKS="mgmt=198.18.0.0/24 voice=198.51.100.0/24 internet=198.19.0.0/24"
# host: address per network; the first is where the controller reaches it over SSH.
HOSTS="pbx:mgmt=198.18.0.10,voice=198.51.100.10,internet=198.19.0.10
carrier:voice=198.51.100.20
admin:mgmt=198.18.0.30,voice=198.51.100.30
attacker:internet=198.19.0.66"
SSH_DIR=$STATE_DIR/ssh
# The lab's inventory is committed; only the path of this clone's key is generated.
KEY_VARS=$REPO_DIR/inventories/lab/group_vars/all/lab_ssh_key.yml
KNOWN_HOSTS=${HOME:-/root}/.ssh/known_hosts
MARK="voipguard-lab"

host_names() { echo "$HOSTS" | cut -d: -f1; }
host_spec() { echo "$HOSTS" | grep "^$1:" | cut -d: -f2; }
ssh_address() { host_spec "$1" | cut -d, -f1 | cut -d= -f2; }

create_networks() {
  local net name subnet
  for net in $NETWORKS; do
    name=voipguard-${net%%=*} subnet=${net#*=}
    podman network exists "$name" && continue
    # Every lab subnet is a /24: compare the first three octets. The package mirrors must stay
    # reachable, so their addresses must not fall inside a lab network either.
    if { ip -4 route show; getent ahostsv4 deb.debian.org pypi.org 2>/dev/null; } | grep -q "^${subnet%.*}\."; then
      die "subnet $subnet is already in use on this machine (a route or a package mirror's address): the lab needs it for its internal network $name"
    fi
    podman network create --internal --subnet "$subnet" "$name" >/dev/null
  done
}

start_host() {
  local name=$1 args=() pair
  for pair in $(host_spec "$name" | tr , ' '); do
    args+=(--network "voipguard-${pair%%=*}:ip=${pair#*=}")
  done
  podman run -d --name "voipguard-$name" --hostname "$name" --systemd=always \
    --cap-add NET_ADMIN --cap-add NET_RAW --cap-add SYS_NICE \
    "${args[@]}" "$LAB_IMAGE" /lib/systemd/systemd >/dev/null 2>&1 \
    || die "podman could not start voipguard-$name (see: podman run ... $LAB_IMAGE)"
}

# "degraded" is fine here: sshd fails until prepare_ssh has made the host's own keys.
systemd_settled() {
  case "$(in_host "$1" systemctl is-system-running --wait)" in running|degraded) return 0 ;; esac
  return 1
}

in_host() { local name=$1; shift; podman exec "voipguard-$name" "$@"; }

wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
  local seconds=$1 what=$2; shift 2
  for _ in $(seq "$((seconds * 2))"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  die "timed out after ${seconds}s waiting for $what"
}

prepare_ssh() {
  local name=$1
  in_host "$name" sh -c 'systemd-machine-id-setup >/dev/null 2>&1; ssh-keygen -A >/dev/null'
  podman cp "$SSH_DIR/id_ed25519.pub" "voipguard-$name:/root/.ssh/authorized_keys"
  in_host "$name" sh -c 'chown root:root /root/.ssh/authorized_keys; chmod 600 /root/.ssh/authorized_keys; systemctl enable ssh.service >/dev/null 2>&1; systemctl reset-failed ssh.service; systemctl restart ssh.service'
}

# Every host gets the lab's SIP tools (lab/tools); Asterisk hosts their factory configuration.
seed_factory() {
  local name=$1
  if [ -d "$LAB_DIR/factory/$name" ]; then
    podman cp "$LAB_DIR/factory/$name" "voipguard-$name:/tmp/factory"
  else
    in_host "$name" mkdir -p /tmp/factory
  fi
  podman cp "$LAB_DIR/tools" "voipguard-$name:/tmp/factory/bin"
  podman cp "$LAB_DIR/factory/setup.sh" "voipguard-$name:/tmp/factory/setup.sh"
  in_host "$name" sh /tmp/factory/setup.sh
  if [ -d "$LAB_DIR/factory/$name/asterisk" ]; then
    wait_for 60 "Asterisk on $name" in_host "$name" asterisk -rx 'core show version'
  fi
}

# Keep host-key checking on, as in production: the lab's keys go into root's known_hosts
# between markers, and leave with the lab.
forget_host_keys() {
  [ -f "$KNOWN_HOSTS" ] || return 0
  sed -i "/# $MARK begin/,/# $MARK end/d" "$KNOWN_HOSTS"
}
trust_host_keys() {
  local name
  forget_host_keys
  mkdir -p "$(dirname "$KNOWN_HOSTS")"; chmod 700 "$(dirname "$KNOWN_HOSTS")"
  {
    echo "# $MARK begin"
    for name in $(host_names); do
      echo "$(ssh_address "$name") $(in_host "$name" cat /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f1-2)"
    done
    echo "# $MARK end"
  } >> "$KNOWN_HOSTS"
}

cmd_up() {
  require_root; require_podman
  local started name
  started=$(date +%s)
  bash "$LAB_DIR/image/build.sh"
  if podman container exists voipguard-pbx; then
    die "the lab is already up (lab.sh down first)"
  fi
  mkdir -p "$SSH_DIR"; chmod 700 "$STATE_DIR" "$SSH_DIR"
  [ -f "$SSH_DIR/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C voipguard-lab -f "$SSH_DIR/id_ed25519"
  mkdir -p "$(dirname "$KEY_VARS")"
  printf -- '---\n# Generated by lab/lab.sh up.\nansible_ssh_private_key_file: %s\n' "$SSH_DIR/id_ed25519" > "$KEY_VARS"
  create_networks
  for name in $(host_names); do start_host "$name"; done
  for name in $(host_names); do
    wait_for 60 "systemd in $name" systemd_settled "$name"
    prepare_ssh "$name"
    seed_factory "$name"
  done
  trust_host_keys
  for name in $(host_names); do
    wait_for 30 "SSH on $name" bash -c "exec 3<>/dev/tcp/$(ssh_address "$name")/22"
  done
  log "lab up in $(( $(date +%s) - started )) s: $(for n in $(host_names); do printf '%s=%s ' "$n" "$(ssh_address "$n")"; done)"
}

cmd_down() {
  require_root; require_podman
  local name net
  for name in $(host_names); do podman rm -f -t 2 "voipguard-$name" >/dev/null 2>&1 || true; done
  for net in $NETWORKS; do podman network rm -f "voipguard-${net%%=*}" >/dev/null 2>&1 || true; done
  forget_host_keys
  rm -rf "$STATE_DIR" "$KEY_VARS"
  # Credentials the secrets role generated for the lab's hosts die with the lab.
  for name in $(host_names); do rm -f "$REPO_DIR/.secrets/$name-sip-credentials.yml"; done
  if [ "${1:-}" = "--image" ]; then podman rmi -f "$LAB_IMAGE" >/dev/null 2>&1 || true; fi
  log "lab down"
}

cmd_status() {
  require_podman
  podman ps -a --filter name=voipguard- --format '{{.Names}}\t{{.Status}}'
}

case "${1:-}" in
  build) shift; require_root; require_podman; bash "$LAB_DIR/image/build.sh" "$@" ;;
  up) cmd_up ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  *) echo "usage: $0 build|up|down [--image]|status" >&2; exit 2 ;;
esac
