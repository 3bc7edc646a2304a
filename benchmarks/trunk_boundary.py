#!/usr/bin/env python3
"""What the trunk boundary costs, for BENCHMARKS.md. Needs the hardened lab.

  .venv/bin/python benchmarks/trunk_boundary.py [--calls 200] [--rate 20] [--pairs 3] [--instance]
  .venv/bin/python benchmarks/trunk_boundary.py --split [--calls 200] [--rate 20]

For each mode, the lab PBX is hardened with the guard's limits opened wide enough that no call is
refused (the figure is the cost of the check, not of a refusal), then the office phone 1001 places
--calls national calls at --rate calls/s with SIPp (lab/tools/voipguard-call), each held 500 ms:
  direct   toll_fraud_guard_trunk_boundary_enabled: false - the trunk dials the carrier itself
  loop     the default - every INVITE loops through voipguard-egress and its check first
           (--instance: and then through the trunk boundary instance, voipguard_trunk_boundary_instance,
           which judges again and alone dials the carrier, the firewall's output chain in place)
The modes alternate (direct, loop, direct, loop...) --pairs times, so that the machine's drift
falls on both. Printed: SIPp's mean call set-up time (INVITE to 200 OK, digest round included)
per run, each pair's ratio (loop / direct) and their median; the trunk-leg check latency p50 and p95 (check_ms of the guard's
"trunk leg passed" lines: from the looped INVITE's first dialplan step to the verdict). The lab
is hardened with its own inventory again at the end. Traffic stays on the lab's voice network.

--split says where the loop's time goes: the same calls with the guard's check taken out of the
running dialplan (the check's Gosub made a NoOp in extensions_voipguard.conf, then a fresh
Asterisk): direct without the phone's check, the loop without the trunk leg's check, the loop
without either; and the cost of one take and release of the guard's lock (voipguard-lock), and
of LOCK()+UNLOCK() which it replaced, each timed 50 times in a row in the dialplan of an
otherwise idle PBX.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "lab"))
BIN = os.path.dirname(sys.executable)
ENV = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
           PATH=BIN + os.pathsep + os.environ["PATH"])
SSH = ["ssh", "-F", os.path.join(ROOT, ".lab", "ssh", "config")]
WIDE_OPEN = {
    "toll_fraud_guard_calls_per_minute": 100000, "toll_fraud_guard_endpoint_calls_per_minute": 100000,
    "toll_fraud_guard_max_concurrent_calls": 500, "toll_fraud_guard_endpoint_max_concurrent_calls": 500,
    "toll_fraud_guard_budgets": {"pbx_day": 100000, "pbx_month": 1000000, "endpoint_day": 100000,
                                 "endpoint_month": 1000000, "national_day": 100000},
}


def run(command, **kwargs):
    return subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True, check=False, **kwargs)


def harden(extra=None):
    # The firewall too: the boundary instance's output chain comes and goes with the instance.
    command = [os.path.join(BIN, "ansible-playbook"), "playbooks/harden.yml", "--tags",
               "toll_fraud_guard,nftables_firewall"]
    if extra:
        command += ["-e", json.dumps(extra)]
    proc = run(command)
    if proc.returncode != 0:
        sys.exit("harden failed:\n" + proc.stdout[-2000:])


def on(address, command):
    proc = run(SSH + [address, command])
    if proc.returncode != 0:
        sys.exit("%s: %s failed: %s" % (address, command, proc.stderr[-500:]))
    return proc.stdout


def place(calls, rate):
    from conftest import sip_password  # the rotated secret, kept on the controller
    number = "030" + str(uuid.uuid4().int)[:7]
    out = on("198.18.0.30", "SIP_PASSWORD=%s voipguard-call 198.51.100.10 1001 %s %d %d 500 100"
             % (sip_password("1001"), number, calls, rate))
    counters = dict(part.split("=") for part in out.split())
    return {key: float(value) for key, value in counters.items()}


def check_latencies(since_line):
    text = on("198.18.0.10", "tail -n +%d /var/log/asterisk/messages.log" % (since_line + 1))
    return [int(m) for m in re.findall(r"voipguard: trunk leg passed .*? check_ms=(\d+)", text)]


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def measure(mode, args):
    harden(dict(WIDE_OPEN, toll_fraud_guard_trunk_boundary_enabled=(mode == "loop"),
                voipguard_trunk_boundary_instance=(mode == "loop" and args.instance)))
    # A fresh Asterisk for each run: Asterisk 22 keeps one more subscriber on its manager topic
    # after every "dialplan reload" (each run of the role, each test that swaps the dialplan), and
    # each of them formats every channel event again, so a long-lived lab PBX slows down call by
    # call, the loop (twice the channels) most. Measured on the carrier too: not voipguard's.
    on("198.18.0.10", "systemctl restart asterisk && asterisk -rx 'core waitfullybooted' >/dev/null")
    on("198.18.0.10", "asterisk -rx 'database deltree voipguard' >/dev/null")
    logged = int(on("198.18.0.10", "wc -l < /var/log/asterisk/messages.log"))
    counters = place(args.calls, args.rate)
    if counters["answered"] < counters["placed"] * 0.95:
        sys.exit("%s: only %d of %d calls answered" % (mode, counters["answered"], counters["placed"]))
    print("%-6s %d calls at %d/s: %d answered, mean set-up %.1f ms"
          % (mode, counters["placed"], args.rate, counters["answered"], counters["setup_ms"]), flush=True)
    latencies = check_latencies(logged) if mode == "loop" else []
    if mode == "loop" and not latencies:
        sys.exit("no 'trunk leg passed' line: is the boundary in place?")
    return counters["setup_ms"], latencies


GUARD_FILE = "/etc/asterisk/extensions_voipguard.conf"
CHECK = " same => n,Gosub(voipguard-check,s,1)"
LOCK_BENCH = r"""
[voipguard-bench-lock]
; l: LOCK()+UNLOCK(), which the guard used until 2026-12-02; g: the guard's own lock. (Separate
; extensions: ExecIf() would substitute ${LOCK()} in both of its branches.)
exten => l,1,Set(i=0)
 same => n,Set(t0=${STRFTIME(,,%s%6q)})
 same => n(loop),Set(l=${LOCK(voipguard)})
 same => n,Set(u=${UNLOCK(voipguard)})
 same => n,Set(i=$[${i} + 1])
 same => n,GotoIf($[${i} < 50]?loop)
 same => n,Log(NOTICE,voipguard bench: l lock_us=$[(${STRFTIME(,,%s%6q)} - ${t0}) / 50])
 same => n,Hangup()
exten => g,1,Set(i=0)
 same => n,Set(t0=${STRFTIME(,,%s%6q)})
 same => n(loop),Gosub(voipguard-lock,s,1(wait))
 same => n,Gosub(voipguard-unlock,s,1)
 same => n,Set(i=$[${i} + 1])
 same => n,GotoIf($[${i} < 50]?loop)
 same => n,Log(NOTICE,voipguard bench: g lock_us=$[(${STRFTIME(,,%s%6q)} - ${t0}) / 50])
 same => n,Hangup()
"""


def fresh_asterisk():
    on("198.18.0.10", "systemctl restart asterisk && asterisk -rx 'core waitfullybooted' >/dev/null")
    on("198.18.0.10", "asterisk -rx 'database deltree voipguard' >/dev/null")


def take_out_checks(only_egress):
    """The guard's check becomes a NoOp in the running dialplan: the trunk leg's only, or all."""
    scope = "/^\\[voipguard-egress\\]/,/^\\[/ " if only_egress else ""
    # In sed's basic regular expressions the check's line is literal as it stands.
    on("198.18.0.10", "sed -i '%ss/%s/ same => n,NoOp(check taken out)/' %s" % (scope, CHECK, GUARD_FILE))


def setup_ms(args):
    fresh_asterisk()
    counters = place(args.calls, args.rate)
    if counters["answered"] < counters["placed"] * 0.95:
        sys.exit("only %d of %d calls answered" % (counters["answered"], counters["placed"]))
    return counters["setup_ms"]


def lock_us():
    """Microseconds per take and release: {"LOCK()": ..., "voipguard-lock": ...}."""
    on("198.18.0.10", "cat >> %s <<'EOF'\n%s\nEOF\nasterisk -rx 'dialplan reload' >/dev/null" % (GUARD_FILE, LOCK_BENCH))
    logged = int(on("198.18.0.10", "wc -l < /var/log/asterisk/messages.log"))
    for kind in "lg":
        on("198.18.0.10", "asterisk -rx 'channel originate Local/%s@voipguard-bench-lock application Wait 1' >/dev/null; sleep 3" % kind)
    text = on("198.18.0.10", "tail -n +%d /var/log/asterisk/messages.log" % (logged + 1))
    found = dict(re.findall(r"voipguard bench: ([lg]) lock_us=([0-9.]+)", text))
    if set(found) != {"l", "g"}:
        sys.exit("the lock bench logged %s" % sorted(found))
    return {"LOCK()": float(found["l"]), "voipguard-lock": float(found["g"])}


def split(args):
    rows = []
    try:
        harden(dict(WIDE_OPEN, toll_fraud_guard_trunk_boundary_enabled=False))
        rows.append(("direct", setup_ms(args)))
        take_out_checks(only_egress=False)
        rows.append(("direct, no check", setup_ms(args)))
        harden(dict(WIDE_OPEN, toll_fraud_guard_trunk_boundary_enabled=True))
        rows.append(("loop", setup_ms(args)))
        take_out_checks(only_egress=True)
        rows.append(("loop, phone's check only", setup_ms(args)))
        take_out_checks(only_egress=False)
        rows.append(("loop, no check", setup_ms(args)))
        lock = lock_us()
    finally:
        harden()
    for name, value in rows:
        print("%-26s mean call set-up %.1f ms" % (name, value))
    figures = dict(rows)
    print("the phone's full check (direct - direct without it): %.1f ms"
          % (figures["direct"] - figures["direct, no check"]))
    print("the SIP loop itself (loop without checks - direct without check): %.1f ms"
          % (figures["loop, no check"] - figures["direct, no check"]))
    print("the phone's check in loop mode (judge and vouch): %.1f ms"
          % (figures["loop, phone's check only"] - figures["loop, no check"]))
    print("the trunk leg's full check: %.1f ms" % (figures["loop"] - figures["loop, phone's check only"]))
    for kind, micros in lock.items():
        print("one take and release of %s, idle PBX: %.2f ms" % (kind, micros / 1000))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rate", type=int, default=20)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--split", action="store_true", help="where the loop's time goes (see above)")
    parser.add_argument("--instance", action="store_true", help="the loop through the boundary instance")
    args = parser.parse_args()
    if args.split:
        split(args)
        return
    ratios, latencies = [], []
    try:
        for _pair in range(args.pairs):
            direct, _ = measure("direct", args)
            loop, checked = measure("loop", args)
            latencies += checked
            ratios.append(loop / max(direct, 0.1))
            print("pair ratio loop/direct: %.2f" % ratios[-1], flush=True)
    finally:
        harden()
    print("trunk-leg check latency: p50 %d ms, p95 %d ms, max %d ms (%d calls)"
          % (percentile(latencies, 0.5), percentile(latencies, 0.95), max(latencies), len(latencies)))
    print("set-up time ratio loop%s/direct at %d calls/s: median %.2f of %d pairs (%s)"
          % (" with the boundary instance" if args.instance else "", args.rate, statistics.median(ratios),
             len(ratios), ", ".join("%.2f" % r for r in ratios)))


if __name__ == "__main__":
    main()
