#!/usr/bin/env bash
# The voipguard lab: real hosts as podman containers with systemd, on internal networks.
#   lab.sh build            build the image (cached by recipe)
#   lab.sh up [--pbx N]     build if needed, start pbx, freepbx (FreePBX 17's file layout), carrier,
#                           admin, attacker in factory state; --pbx N (2..20) adds the fleet
#                           pbx-02..pbx-NN (lab/factory/fleet.sh) and its inventory .lab/fleet
#   lab.sh down [--image]   remove containers, networks, SSH trust and state (and the image)
#   lab.sh status           show the lab
#   lab.sh check-network    check that this machine can reach the lab's networks (run by up)
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"
trap 'log "error: lab.sh line $LINENO failed: $BASH_COMMAND"' ERR

# Networks: documentation/benchmark ranges only, internal (no route out), host gets .1.
NETWORKS="mgmt=198.18.0.0/24 voice=198.51.100.0/24 internet=198.19.0.0/24"
# host: address per network; the first is where the controller reaches it over SSH.
BASE_HOSTS="pbx:mgmt=198.18.0.10,voice=198.51.100.10,internet=198.19.0.10
freepbx:mgmt=198.18.0.11,voice=198.51.100.11,internet=198.19.0.11
carrier:voice=198.51.100.20
admin:mgmt=198.18.0.30,voice=198.51.100.30
attacker:internet=198.19.0.66"
SSH_DIR=$STATE_DIR/ssh
# The lab owns its SSH trust: its own key, known_hosts and client config, which Ansible (OpenSSH)
# and the audit both use. Nothing of the lab goes into ~/.ssh, so an entry a user's own ssh left
# there can never disagree with the lab's keys.
SSH_CONFIG=$SSH_DIR/config
KNOWN_HOSTS=$SSH_DIR/known_hosts
# The lab's inventory is committed; only this clone's SSH settings are generated.
SSH_VARS=$REPO_DIR/inventories/lab/group_vars/all/lab_ssh.yml

# The fleet (lab.sh up --pbx N): PBX hosts pbx-02..pbx-NN at .1NN of every network, each a
# variant of the pbx factory (lab/factory/fleet.sh). The size of the lab that is up is kept in
# the state directory, so down removes what up started.
FLEET_SIZE_FILE=$STATE_DIR/fleet-size
FLEET_DIR=$STATE_DIR/fleet
MAX_PBX=20
fleet_size() { cat "$FLEET_SIZE_FILE" 2>/dev/null || echo 1; }
fleet_hosts() {
  local i
  for i in $(seq 2 "$(fleet_size)"); do
    printf 'pbx-%02d:mgmt=198.18.0.%d,voice=198.51.100.%d,internet=198.19.0.%d\n' \
      "$i" $((100 + i)) $((100 + i)) $((100 + i))
  done
}
all_hosts() { echo "$BASE_HOSTS"; fleet_hosts; }
host_names() { all_hosts | grep . | cut -d: -f1; }
host_spec() { all_hosts | grep "^$1:" | cut -d: -f2; }
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

# podman's network backend: only netavark gives the host an address on an internal network.
require_network_backend() {
  local backend
  backend=$(podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null) || die "podman info failed"
  [ "$backend" = netavark ] && return 0
  die "podman's network backend is '${backend:-unknown}', not netavark: with it an internal network gives this machine no address on the lab's networks, and SSH to the lab would leave by the default route and hang. Fix: apt-get install netavark aardvark-dns (./voipguard setup does), keep network_backend = \"netavark\" in lab/containers.conf, then lab.sh down && lab.sh up"
}

# Every lab network must be directly attached to this machine: a lab address routed through a
# gateway means the packets leave the machine, where nothing of the lab answers.
require_routes_into_lab() {
  local net subnet probe route
  for net in $NETWORKS; do
    subnet=${net#*=}
    probe=${subnet%.*}.10
    route=$(ip -4 -o route get "$probe" 2>&1) || die "no route to the lab network voipguard-${net%%=*} ($subnet): $route"
    case " $route " in
      *" via "*|*" dev lo "*)
        die "this machine has no address on the lab network voipguard-${net%%=*} ($subnet): $probe is routed as '$route', out of the machine, where no lab host answers. Cause: podman's network backend gave the host no address on the bridge (CNI does this for --internal networks). Fix: apt-get install netavark aardvark-dns, network_backend = \"netavark\" in lab/containers.conf, then lab.sh down && lab.sh up" ;;
    esac
  done
}

cmd_check_network() {
  require_root; require_podman
  require_network_backend
  require_routes_into_lab
  log "the lab's networks are attached to this machine"
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
  local name=$1 factory=$LAB_DIR/factory/$1
  case $name in
    pbx-*) factory=$FLEET_DIR/factory/$name
           sh "$LAB_DIR/factory/fleet.sh" "$((10#${name#pbx-}))" "$factory" ;;
  esac
  if [ -d "$factory" ]; then
    podman cp "$factory" "voipguard-$name:/tmp/factory"
  else
    in_host "$name" mkdir -p /tmp/factory
  fi
  podman cp "$LAB_DIR/tools" "voipguard-$name:/tmp/factory/bin"
  podman cp "$LAB_DIR/factory/setup.sh" "voipguard-$name:/tmp/factory/setup.sh"
  in_host "$name" sh /tmp/factory/setup.sh
  if [ -d "$factory/asterisk" ]; then
    wait_for 60 "Asterisk on $name" in_host "$name" asterisk -rx 'core show version'
  fi
}

host_key() { in_host "$1" cat /etc/ssh/ssh_host_ed25519_key.pub | cut -d' ' -f1-2; }

# Host-key checking stays on, as in production: the keys are read from inside each container
# (podman exec, not the network) into the lab's own known_hosts.
write_ssh_trust() {
  local name patterns="" net subnet
  for name in $(host_names); do echo "$(ssh_address "$name") $(host_key "$name")"; done > "$KNOWN_HOSTS"
  for net in $NETWORKS; do subnet=${net#*=}; patterns="$patterns ${subnet%.*}.*"; done
  cat > "$SSH_CONFIG" <<CONFIG
# Generated by lab/lab.sh up: how this machine reaches the lab (ssh -F $SSH_CONFIG 198.18.0.10).
Host$patterns
  User root
  IdentityFile $SSH_DIR/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $KNOWN_HOSTS
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  ConnectTimeout 10
  ControlMaster auto
  ControlPersist 60s
  ControlPath /tmp/voipguard-lab-ssh-%C
CONFIG
  mkdir -p "$(dirname "$SSH_VARS")"
  printf -- '---\n# Generated by lab/lab.sh up: this clone'"'"'s SSH settings for the lab.\nansible_ssh_private_key_file: %s\nansible_ssh_common_args: -F %s\n' \
    "$SSH_DIR/id_ed25519" "$SSH_CONFIG" > "$SSH_VARS"
}

# The controller reaches a host when sshd's banner and host key come back over the lab network
# and match the key read inside the container: a TCP connect alone proves nothing (a connect
# routed out of the machine can succeed where no banner ever comes).
wait_for_ssh() {
  local name=$1 address seen want
  address=$(ssh_address "$name") want=$(host_key "$name")
  for _ in $(seq 10); do
    seen=$(ssh-keyscan -T 3 -t ed25519 "$address" 2>/dev/null | cut -d' ' -f2-3)
    if [ -n "$seen" ]; then
      [ "$seen" = "$want" ] || die "$address answered SSH with a host key that is not $name's: something other than the lab answers there"
      return 0
    fi
    sleep 0.5
  done
  die "no SSH banner from $name at $address after 10 tries (lab.sh check-network tells whether this machine reaches the lab's networks)"
}

# The fleet's inventory: every PBX of the lab in group pbx, the lab's group_vars (a link), and
# what differs per host in host_vars (addresses; the second trunk of every second PBX).
write_fleet_inventory() {
  local name spec mgmt internet
  rm -rf "$FLEET_DIR/inventory"
  mkdir -p "$FLEET_DIR/inventory/host_vars"
  ln -s "$REPO_DIR/inventories/lab/group_vars" "$FLEET_DIR/inventory/group_vars"
  {
    echo "---"
    echo "# Generated by lab/lab.sh up --pbx $(fleet_size): the lab's fleet of PBXs."
    echo "all:"
    echo "  vars: {ansible_user: root, ansible_connection: ssh}"
    echo "  children:"
    echo "    pbx:"
    echo "      hosts:"
    # The lab's own PBX, under a fleet name: a host named like its group would make "hosts: pbx"
    # mean that one host only.
    echo "        pbx-01: {ansible_host: 198.18.0.10}"
    for name in $(fleet_hosts | cut -d: -f1); do echo "        $name: {ansible_host: $(ssh_address "$name")}"; done
    echo "    lab_peers:"
    echo "      hosts:"
    echo "        carrier: {ansible_host: 198.51.100.20}"
    echo "        admin: {ansible_host: 198.18.0.30}"
    echo "        attacker: {ansible_host: 198.19.0.66}"
    echo "    probes:"
    echo "      hosts:"
    echo "        attacker:"
  } > "$FLEET_DIR/inventory/hosts.yml"
  printf -- '---\nvoipguard_management_address: 198.18.0.10\nvoipguard_audit_external_addresses: [198.19.0.10]\n' \
    > "$FLEET_DIR/inventory/host_vars/pbx-01.yml"
  for name in $(fleet_hosts | cut -d: -f1); do
    spec=$(host_spec "$name")
    mgmt=$(echo "$spec" | tr , '\n' | sed -n 's/^mgmt=//p')
    internet=$(echo "$spec" | tr , '\n' | sed -n 's/^internet=//p')
    {
      echo "---"
      echo "voipguard_management_address: $mgmt"
      echo "voipguard_audit_external_addresses: [$internet]"
      if [ $((10#${name#pbx-} % 2)) -eq 0 ]; then
        echo "voipguard_trunks:"
        echo "  - {name: carrier, endpoint: carrier, addresses: [198.51.100.20]}"
        echo "  - {name: backup, endpoint: backup, addresses: [198.51.100.20]}"
      fi
    } > "$FLEET_DIR/inventory/host_vars/$name.yml"
  done
}

# Every PBX host runs systemd and, hardened, fail2ban with inotify watches on its logs: 9 inotify
# instances each, measured. They all count against the host's root user, whose limit
# (fs.inotify.max_user_instances, 128 by default) a fleet of 20 exhausts: fail2ban then cannot
# start its jails ("Too many open files"). Raised, never lowered, for the lab's size.
require_inotify_instances() {  # require_inotify_instances PBX_COUNT
  local needed=$(( 12 * ($1 + 1) + 4 * 3 + 48 )) current
  current=$(cat /proc/sys/fs/inotify/max_user_instances)
  if [ "$current" -lt "$needed" ]; then
    echo "$needed" 2>/dev/null > /proc/sys/fs/inotify/max_user_instances \
      || die "the lab of $1 PBXs needs fs.inotify.max_user_instances >= $needed (now $current)"
    log "fs.inotify.max_user_instances raised from $current to $needed for $1 PBX host(s)"
  fi
}

cmd_up() {
  require_root; require_podman
  local started name size=1
  if [ "${1:-}" = --pbx ]; then
    size=${2:-}
    case $size in ''|*[!0-9]*) die "--pbx needs a number of PBX hosts (1..$MAX_PBX)" ;; esac
    [ "$size" -ge 1 ] && [ "$size" -le "$MAX_PBX" ] || die "--pbx $size: the lab runs 1..$MAX_PBX PBX hosts"
  elif [ -n "${1:-}" ]; then
    die "unknown option $1 (usage: lab.sh up [--pbx N])"
  fi
  started=$(date +%s)
  require_inotify_instances "$size"
  bash "$LAB_DIR/image/build.sh"
  if podman container exists voipguard-pbx; then
    die "the lab is already up (lab.sh down first)"
  fi
  mkdir -p "$SSH_DIR"; chmod 700 "$STATE_DIR" "$SSH_DIR"
  echo "$size" > "$FLEET_SIZE_FILE"
  [ -f "$SSH_DIR/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C voipguard-lab -f "$SSH_DIR/id_ed25519"
  require_network_backend
  create_networks
  for name in $(host_names); do start_host "$name"; done
  require_routes_into_lab
  for name in $(host_names); do
    wait_for 60 "systemd in $name" systemd_settled "$name"
    prepare_ssh "$name"
    seed_factory "$name"
  done
  write_ssh_trust
  if [ "$size" -gt 1 ]; then write_fleet_inventory; fi
  for name in $(host_names); do wait_for_ssh "$name"; done
  log "lab up in $(( $(date +%s) - started )) s: $(for n in $(host_names); do printf '%s=%s ' "$n" "$(ssh_address "$n")"; done)"
  log "look around: ssh -F $SSH_CONFIG $(ssh_address pbx)"
  if [ "$size" -gt 1 ]; then
    log "the fleet of $size PBXs: ./voipguard harden -i $FLEET_DIR/inventory/hosts.yml"
  fi
}

cmd_down() {
  require_root; require_podman
  local name net names
  names=$(host_names)  # before the state (the fleet's size) goes
  for name in $names; do podman rm -f -t 2 "voipguard-$name" >/dev/null 2>&1 || true; done
  for net in $NETWORKS; do podman network rm -f "voipguard-${net%%=*}" >/dev/null 2>&1 || true; done
  rm -rf "$STATE_DIR" "$SSH_VARS"
  # Credentials the secrets role generated for the lab's hosts die with the lab.
  for name in $names; do rm -f "$REPO_DIR/.secrets/$name-sip-credentials.yml"; done
  if [ "${1:-}" = "--image" ]; then podman rmi -f "$LAB_IMAGE" >/dev/null 2>&1 || true; fi
  log "lab down"
}

cmd_status() {
  require_podman
  podman ps -a --filter name=voipguard- --format '{{.Names}}\t{{.Status}}'
}

case "${1:-}" in
  build) shift; require_root; require_podman; bash "$LAB_DIR/image/build.sh" "$@" ;;
  up) shift; cmd_up "$@" ;;
  down) shift; cmd_down "$@" ;;
  status) cmd_status ;;
  check-network) cmd_check_network ;;
  *) echo "usage: $0 build|up [--pbx N]|down [--image]|status|check-network" >&2; exit 2 ;;
esac
