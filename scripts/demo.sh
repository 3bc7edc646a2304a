#!/usr/bin/env bash
# The main job on the built-in lab: attack the factory PBX, harden it, attack it again.
# Called by `./voipguard demo` once the lab is up. Traffic stays inside the lab's networks.
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF=$PWD/lab/containers.conf
PBX_FROM_INTERNET=198.19.0.10
REPLAY_CALLS=${VOIPGUARD_DEMO_CALLS:-10}

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
on() { local host=$1; shift; podman exec "voipguard-$host" "$@"; }
carrier_calls() { on carrier sh -c 'cat /var/log/asterisk/cdr-csv/Master.csv 2>/dev/null | wc -l'; }

attack() {
  local label=$1 password=$2 before after
  step "$label: password guessing from the attacker (sipvicious svcrack, 1,000 common passwords)"
  on attacker voipguard-crack "$PBX_FROM_INTERNET" 1001 30
  step "$label: the incident replayed: $REPLAY_CALLS calls to Zimbabwe (+263) and Somalia (+252) as 1001"
  before=$(carrier_calls)
  on attacker env SIP_PASSWORD="$password" voipguard-call "$PBX_FROM_INTERNET" 1001 00263771234567 $((REPLAY_CALLS / 2)) 10 2000
  on attacker env SIP_PASSWORD="$password" voipguard-call "$PBX_FROM_INTERNET" 1001 +252612345678 $((REPLAY_CALLS - REPLAY_CALLS / 2)) 10 2000
  after=$(carrier_calls)
  echo "calls that reached the carrier: $((after - before))"
}

audit() {
  if [ -f audit/__main__.py ]; then
    step "audit ($1)"
    python -m audit run --inventory inventories/lab/hosts.yml --out "artifacts/demo/audit-$1" || true
  fi
}

audit before
# The factory secret of 1001 is its extension number: the attacker knows it after svcrack.
attack "factory PBX" 1001
step "hardening the PBX (playbooks/harden.yml)"
ansible-playbook playbooks/harden.yml
attack "hardened PBX" 1001
audit after
