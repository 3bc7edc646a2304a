"""Command line of the audit.

  python -m audit run --inventory inventories/lab/hosts.yml --out artifacts/audit/ [--hosts pbx]
                      [--fail-on high] [--ssh-identity-file KEY] [-k EXPR] [--workers 4]
      runs the Testinfra controls (audit/controls) against the inventory's hosts over SSH, the
      way Ansible connects to them (OpenSSH or paramiko_ssh), then renders the report; a fleet
      is shared among --workers control suites running at once.
  python -m audit render RESULTS.json [RESULTS.json ...] --out DIR [--fail-on high]
      renders one report (a fleet view) from one or more results files.
  python -m audit compare BEFORE/report.json AFTER/report.json --out DIR
      fixed / regressed / unchanged controls between two reports (compare.html, compare.json).
  python -m audit verify report.json
      checks the report's SHA-256 digest against its content.

Exit status: 0 clean; 1 a control at or above --fail-on failed; 2 the inventory could not be
used or the suite crashed; 3 a host could not be audited (unreachable or untrusted host key).
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys

from audit import ROOT, core, report, toolkit_version
from audit.plugin import RESULTS_FORMAT, run_by

CONTROLS_DIR = os.path.join(ROOT, "audit", "controls")


def _inventory_hosts(inventory, pattern):
    """Hosts of the inventory matching the pattern (group or host names, comma separated);
    raises ValueError with ansible-inventory's message when the inventory is unusable."""
    binary = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
    if not os.path.exists(binary):
        binary = "ansible-inventory"
    if not os.path.exists(inventory):
        raise ValueError("inventory %s does not exist" % inventory)
    proc = subprocess.run([binary, "-i", inventory, "--list"], capture_output=True, text=True,
                          env=dict(os.environ, ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
                                   ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg")), check=False)
    if proc.returncode != 0:
        raise ValueError("ansible-inventory failed: %s" % (proc.stderr.strip().splitlines() or ["?"])[-1])
    data = json.loads(proc.stdout)

    def members(group, seen=()):
        node = data.get(group) or {}
        out = list(node.get("hosts") or [])
        for child in node.get("children") or []:
            if child not in seen:
                out.extend(members(child, seen + (group,)))
        return out

    all_hosts = set(members("all")) | set((data.get("_meta") or {}).get("hostvars") or {})
    found = []
    for name in [p.strip() for p in pattern.split(",") if p.strip()]:
        matched = members(name) if name in data else ([name] if name in all_hosts else [])
        found.extend(h for h in matched if h not in found)
    if not found:
        raise ValueError("no host of the inventory matches %r" % pattern)
    return found


def _empty_results(inventory, error):
    now = report._now()  # pylint: disable=protected-access
    return {"format": RESULTS_FORMAT, "format_version": 1, "toolkit_version": toolkit_version(),
            "started": now, "finished": now, "run_by": run_by(), "inventory": inventory,
            "inventory_error": error, "catalog": [], "hosts": []}


def cmd_run(args):
    out_dir = args.out
    os.makedirs(out_dir, exist_ok=True)
    try:
        hosts = _inventory_hosts(args.inventory, args.hosts)
    except ValueError as exc:
        results = _empty_results(args.inventory, str(exc))
        return _finish(results, args)
    # A fleet is audited by several control suites at once, each over its share of the hosts
    # (the hosts' SSH round trips, not this machine, are what an audit waits on); their results
    # make one report, as "render" makes one from several files.
    workers = max(1, min(args.workers, len(hosts)))
    shares = [hosts[i::workers] for i in range(workers)]
    paths = [os.path.join(out_dir, "results.json" if workers == 1 else "results-%d.json" % i)
             for i in range(workers)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda job: _run_suite(job[0], job[1], args), zip(shares, paths)))
    if workers > 1:
        for path in paths:
            if os.path.exists(path):
                os.remove(path)
    return _finish(results[0] if workers == 1 else results, args)


def _run_suite(hosts, results_path, args):
    """The control suite over some hosts (one pytest run); its results document."""
    command = [sys.executable, "-m", "pytest", CONTROLS_DIR, "-p", "no:cacheprovider", "-q",
               "--hosts=" + ",".join("ansible://" + h for h in hosts),
               "--ansible-inventory=" + os.path.abspath(args.inventory),
               "--voipguard-results=" + results_path,
               "--voipguard-inventory-label=" + args.inventory]
    if args.ssh_identity_file:
        command.append("--ssh-identity-file=" + args.ssh_identity_file)
    if args.k:
        command += ["-k", args.k]
    if os.path.exists(results_path):
        os.remove(results_path)
    # testinfra calls ansible-inventory by name: the venv's bin must be on PATH.
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
               PATH=os.path.dirname(sys.executable) + os.pathsep + os.environ.get("PATH", ""))
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=not args.verbose, text=True, check=False)
    if not os.path.exists(results_path):
        tail = "" if args.verbose else (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        return _empty_results(args.inventory, "the control suite crashed (pytest exit %d): %s"
                              % (proc.returncode, " | ".join(tail)))
    with open(results_path, encoding="utf-8") as handle:
        results = json.load(handle)
    if proc.returncode not in (0, 1) and not results["hosts"]:
        tail = [] if args.verbose else [line for line in (proc.stdout + proc.stderr).splitlines()
                                        if line.startswith("E ")][-3:]
        results["inventory_error"] = "the control suite could not run (pytest exit %d): %s" % (
            proc.returncode, " | ".join(tail) or "run with --verbose")
    return results


def _finish(results, args):
    doc = report.build_report(results, fail_on=args.fail_on)
    paths = report.write_outputs(doc, args.out)
    summary = doc["summary"]
    print("voipguard audit: %d host(s), score %s, worst-case cost %s" % (
        summary["hosts"], report._score_text(summary["score"]),  # pylint: disable=protected-access
        report._exposure_text(summary["exposure"])))  # pylint: disable=protected-access
    if doc["inventory_error"]:
        print("inventory error: %s" % doc["inventory_error"], file=sys.stderr)
    for host in doc["hosts"]:
        print("  %-20s %-18s score %-12s cost %s" % (
            host["name"], host["status"], report._score_text(host["score"]),  # pylint: disable=protected-access
            report._exposure_text(host["exposure"])))  # pylint: disable=protected-access
    for line in summary["failed_at_threshold"]:
        print("  failed (>= %s): %s" % (args.fail_on, line))
    print("written: %s" % ", ".join(paths))
    return report.exit_code(doc, args.fail_on)


def cmd_render(args):
    results = []
    for path in args.results:
        with open(path, encoding="utf-8") as handle:
            results.append(json.load(handle))
    return _finish(results, args)


def cmd_compare(args):
    with open(args.before, encoding="utf-8") as handle:
        before = json.load(handle)
    with open(args.after, encoding="utf-8") as handle:
        after = json.load(handle)
    comparison = report.compare(before, after)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "compare.json"), "w", encoding="utf-8") as handle:
        json.dump(comparison, handle, indent=1, sort_keys=True)
    with open(os.path.join(args.out, "compare.html"), "w", encoding="utf-8") as handle:
        handle.write(report.render_comparison_html(comparison))
    counts = comparison["counts"]
    print("fixed %(fixed)d, regressed %(regressed)d, unchanged %(unchanged)d, changed %(changed)d, "
          "new %(new)d, removed %(removed)d" % counts)
    return 1 if counts["regressed"] else 0


def cmd_verify(args):
    with open(args.report, encoding="utf-8") as handle:
        doc = json.load(handle)
    ok = report.verify(doc)
    print("%s: digest %s" % (args.report, "matches" if ok else "DOES NOT MATCH the content"))
    return 0 if ok else 1


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m audit", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the controls against an inventory and render the report")
    run.add_argument("--inventory", "-i", required=True)
    run.add_argument("--hosts", default="pbx", help="inventory group(s) or host(s), comma separated (default pbx)")
    run.add_argument("--out", "-o", default=os.path.join("artifacts", "audit"))
    run.add_argument("--ssh-identity-file", default=None)
    run.add_argument("-k", default=None, help="pytest -k expression selecting controls")
    run.add_argument("--verbose", "-v", action="store_true", help="show pytest's output")
    run.add_argument("--workers", type=int, default=4,
                     help="control suites run at once, each over its share of the hosts (default 4)")
    render = sub.add_parser("render", help="render a report (fleet view) from results files")
    render.add_argument("results", nargs="+")
    render.add_argument("--out", "-o", required=True)
    for p in (run, render):
        p.add_argument("--fail-on", choices=core.SEVERITIES, default=None,
                       help="exit 1 when a control of this severity or worse fails")
    compare = sub.add_parser("compare", help="before/after of two report.json files")
    compare.add_argument("before")
    compare.add_argument("after")
    compare.add_argument("--out", "-o", required=True)
    verify = sub.add_parser("verify", help="check a report.json's digest")
    verify.add_argument("report")
    args = parser.parse_args(argv)
    return {"run": cmd_run, "render": cmd_render, "compare": cmd_compare, "verify": cmd_verify}[args.command](args)
