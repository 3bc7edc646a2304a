#!/usr/bin/env python3
"""What live verification and all-or-nothing cost, for BENCHMARKS.md. Needs the hardened lab.

  .venv/bin/python benchmarks/live_state.py [--runs 5]

1. The time the live verification adds to a run: the module asterisk_live_state (compare the
   running Asterisk with its files; nothing differs on the hardened lab, so nothing reloads),
   against an Ansible ping of the same host over the same connection; both as whole
   `ansible` commands, --runs times each. The difference of the medians is the module's cost.
2. The time to roll back a failing run: the lab test's failure (the last role meets a file where
   its directory belongs, after the first role changed pjsip.conf), with ansible-core's junit
   callback timing every task; the rescue tasks' durations added up. The lab is put back as it
   was afterwards.
Traffic stays on the lab's management network.
"""
import argparse
import glob
import os
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
ENV = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), PATH=BIN + os.pathsep + os.environ["PATH"])
RESCUE_TASKS = ("Put back every file this run changed", "Reload the restored firewall table",
                "Reload the restored fail2ban configuration", "Reload Asterisk's logger with the restored files",
                "Make the running Asterisk match the restored files")


def timed(command):
    started = time.monotonic()
    proc = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True, check=False)
    return time.monotonic() - started, proc


def on_pbx(command):
    subprocess.run(["ssh", "-F", os.path.join(ROOT, ".lab", "ssh", "config"), "198.18.0.10", command],
                   check=True, capture_output=True)


def verification_cost(runs):
    figures = {}
    for label, args in (("ping", ["-m", "ansible.builtin.ping"]),
                        ("asterisk_live_state", ["-m", "asterisk_live_state", "-a", "reload=false"])):
        times = []
        for _ in range(runs):
            seconds, proc = timed([os.path.join(BIN, "ansible"), "pbx", *args])
            if proc.returncode != 0:
                sys.exit("%s failed: %s" % (label, proc.stdout[-500:]))
            times.append(seconds)
        figures[label] = times
        print("%-20s median %.2f s, min %.2f s, max %.2f s (%d runs)"
              % (label, statistics.median(times), min(times), max(times), runs))
    print("live verification adds: %.2f s (difference of the medians)"
          % (statistics.median(figures["asterisk_live_state"]) - statistics.median(figures["ping"])))


def rollback_time():
    on_pbx("cp -p /etc/asterisk/pjsip.conf /root/pjsip.conf.bench && "
           "printf '\\n[1001](+type=endpoint)\\nallow_unauthenticated_options = yes\\n' >> /etc/asterisk/pjsip.conf && "
           "asterisk -rx 'module reload res_pjsip.so' >/dev/null && "
           "mv /etc/asterisk/voipguard /root/voipguard.bench && touch /etc/asterisk/voipguard")
    try:
        junit = tempfile.mkdtemp(prefix="voipguard-bench-junit-")
        env = dict(ENV, ANSIBLE_CALLBACKS_ENABLED="voipguard_changes,junit", JUNIT_OUTPUT_DIR=junit)
        started = time.monotonic()
        proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "playbooks/harden.yml"], cwd=ROOT,
                              env=env, capture_output=True, text=True, check=False)
        wall = time.monotonic() - started
    finally:
        on_pbx("rm -f /etc/asterisk/voipguard && mv /root/voipguard.bench /etc/asterisk/voipguard && "
               "cp -p /root/pjsip.conf.bench /etc/asterisk/pjsip.conf && rm /root/pjsip.conf.bench && "
               "asterisk -rx 'module reload res_pjsip.so' >/dev/null")
    if proc.returncode == 0 or "Every file it had changed was put back" not in proc.stdout:
        sys.exit("the run did not fail and roll back as expected:\n" + proc.stdout[-2000:])
    rescue = 0.0
    for case in ET.parse(glob.glob(os.path.join(junit, "*.xml"))[0]).iter("testcase"):
        if any(task in case.get("name", "") for task in RESCUE_TASKS):
            rescue += float(case.get("time"))
            print("  %-75s %6.2f s" % (case.get("name")[:75], float(case.get("time"))))
    print("rollback (rescue tasks, junit callback): %.2f s; whole failing run: %.1f s" % (rescue, wall))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    verification_cost(args.runs)
    rollback_time()


if __name__ == "__main__":
    main()
