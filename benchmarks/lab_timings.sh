#!/usr/bin/env bash
# Prints the foundation's figures: image build cold and cached, lab up, lab down, and with
# --molecule the whole molecule test. The cold build uses a separate image tag so the lab's own
# image is left as it is. Run as root after ./voipguard setup:
#   bash benchmarks/lab_timings.sh [--molecule]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PWD/.venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg
export CONTAINERS_CONF=$PWD/lab/containers.conf

seconds() { local start=$(date +%s.%N); "$@" >/dev/null 2>&1; python3 -c "print(f'{$(date +%s.%N) - $start:.1f}')"; }

bench_image=localhost/voipguard-lab-bench:latest
podman rmi -f "$bench_image" >/dev/null 2>&1 || true
echo "image build, cold (debootstrap + Asterisk 22 from Debian): $(VOIPGUARD_LAB_IMAGE=$bench_image seconds bash lab/image/build.sh) s"
echo "image build, cached (recipe unchanged): $(VOIPGUARD_LAB_IMAGE=$bench_image seconds bash lab/image/build.sh) s"
podman rmi -f "$bench_image" >/dev/null 2>&1 || true
bash lab/lab.sh down >/dev/null 2>&1
bash lab/lab.sh build >/dev/null 2>&1
echo "lab up (4 hosts, image cached): $(seconds bash lab/lab.sh up) s"
echo "lab down: $(seconds bash lab/lab.sh down) s"
if [ "${1:-}" = "--molecule" ]; then
  echo "molecule test (create, check, converge, idempotence, verify, destroy): $(seconds molecule test) s"
fi
