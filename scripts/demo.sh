#!/usr/bin/env bash
# The main job on the built-in lab: audit the factory PBX, attack it, harden it, attack it again,
# audit it again. Called by `./voipguard demo` once the lab is up; reports go to artifacts/demo/.
# Traffic stays inside the lab's networks; every attack is bounded in count and time.
set -euo pipefail
cd "$(dirname "$0")/.."
export CONTAINERS_CONF=$PWD/lab/containers.conf
PBX_FROM_INTERNET=198.19.0.10   # the attacker's way in
PBX_FROM_PHONES=198.51.100.10   # where a compromised phone (the admin host) calls from
REPLAY_CALLS=${VOIPGUARD_DEMO_CALLS:-20}
OUT=artifacts/demo

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
on() { local host=$1; shift; podman exec "voipguard-$host" "$@"; }
carrier_calls() { on carrier sh -c 'cat /var/log/asterisk/cdr-csv/Master.csv 2>/dev/null | wc -l'; }
# 1001's secret as the operator's controller knows it (rotated by the hardening run).
secret_of_1001() {
  python - <<'PY'
import yaml, pathlib
path = pathlib.Path(".secrets/pbx-sip-credentials.yml")
stored = yaml.safe_load(path.read_text()) if path.exists() else {}
print((stored or {}).get("1001", {}).get("password", "1001"))
PY
}

attack() {
  local label=$1 before after
  step "$label: password guessing from the internet (sipvicious svcrack, 1,000 common passwords)"
  on attacker voipguard-crack "$PBX_FROM_INTERNET" 1001 30
  step "$label: the incident replayed with 1001's valid secret: $REPLAY_CALLS calls to Zimbabwe and Somalia"
  before=$(carrier_calls)
  on admin env SIP_PASSWORD="$(secret_of_1001)" voipguard-call "$PBX_FROM_PHONES" 1001 00263771234567 $((REPLAY_CALLS / 2)) 10 2000
  on admin env SIP_PASSWORD="$(secret_of_1001)" voipguard-call "$PBX_FROM_PHONES" 1001 +252612345678 $((REPLAY_CALLS - REPLAY_CALLS / 2)) 10 2000
  after=$(carrier_calls)
  echo "calls that reached the carrier: $((after - before))"
  step "$label: an emergency call (112)"
  on admin env SIP_PASSWORD="$(secret_of_1001)" voipguard-call "$PBX_FROM_PHONES" 1001 112 1 1 1000
}

audit() {
  step "audit ($1)"
  python -m audit run --inventory inventories/lab/hosts.yml --hosts pbx --out "$OUT/audit-$1" || true
}

rm -rf "$OUT"
audit before
attack "factory PBX"
step "hardening the PBX (playbooks/harden.yml)"
ansible-playbook playbooks/harden.yml
attack "hardened PBX"
audit after
step "before and after"
python -m audit compare "$OUT/audit-before/report.json" "$OUT/audit-after/report.json" --out "$OUT/compare" || true
echo "reports: $OUT/audit-before/report.html, $OUT/audit-after/report.html, $OUT/compare/compare.html"
