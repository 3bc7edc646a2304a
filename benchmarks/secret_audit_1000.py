#!/usr/bin/env python3
"""Time the secret audit and rotation of a PBX with 1,000 phone endpoints (weak secrets).

Run from the repository root: .venv/bin/python benchmarks/secret_audit_1000.py [COUNT]
Everything happens in a temporary directory; nothing leaves this machine.
"""
import os
import sys
import tempfile
import time

from timing import timed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "library"))
import ansible.module_utils  # noqa: E402

ansible.module_utils.__path__.append(os.path.join(ROOT, "module_utils"))

import asterisk_secret_audit as audit  # noqa: E402
from ansible.module_utils.secret_policy import SecretPolicy  # noqa: E402

FILES = ["pjsip.conf", "pjsip_wizard.conf", "manager.conf"]


def factory_pjsip(count):
    parts = ["[transport-udp]\ntype = transport\nprotocol = udp\nbind = 0.0.0.0:5060\n\n",
             "[phone-tpl](!)\ntype = endpoint\ncontext = from-internal\ndisallow = all\nallow = ulaw\n\n"]
    for number in range(1000, 1000 + count):
        parts.append("[%d](phone-tpl)\nauth = %d\naors = %d\n\n"
                     "[%d]\ntype = auth\nauth_type = digest\nusername = %d\npassword = %d\n\n"
                     "[%d]\ntype = aor\nmax_contacts = 1\n\n" % ((number,) * 7))
    return "".join(parts)



def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    policy = SecretPolicy()
    with tempfile.TemporaryDirectory(prefix="voipguard-bench-") as config_dir:
        path = os.path.join(config_dir, "pjsip.conf")
        with open(path, "w") as handle:
            handle.write(factory_pjsip(count))
        print("pjsip.conf: %d endpoints, %d lines, %d bytes"
              % (count, factory_pjsip(count).count("\n"), os.path.getsize(path)))

        groups, _ = timed("parse (load with includes)",
                          lambda: audit.load_config_files(config_dir, FILES))
        accounts = timed("collect accounts (templates, references)",
                         lambda: audit.collect_accounts(groups))
        findings = timed("judge (zxcvbn, dictionary, names, reuse)",
                         lambda: audit.audit_accounts(accounts, policy))
        rotated = timed("rotate in memory (generate + edit)",
                        lambda: audit.rotate_accounts(accounts, policy)[0])
        changes = timed("render + masked diff", lambda: audit.changed_files(groups))
        for config, _, _ in changes:
            with open(config.filename, "w") as handle:
                handle.write(config.render())

        start = time.perf_counter()
        result = audit.run_audit(config_dir, FILES, policy, "audit")[0]
        reaudit = time.perf_counter() - start
        print("%-44s %8.2f s" % ("full re-audit after rotation (run_audit)", reaudit))

        start = time.perf_counter()
        fresh = os.path.join(config_dir, "fresh")
        os.mkdir(fresh)
        with open(os.path.join(fresh, "pjsip.conf"), "w") as handle:
            handle.write(factory_pjsip(count))
        rotation = audit.run_audit(fresh, FILES, policy, "rotate")[0]
        end_to_end = time.perf_counter() - start
        print("%-44s %8.2f s" % ("end to end: run_audit(mode=rotate)", end_to_end))

        print("accounts: %d, failing before: %d, rotated: %d, failing after: %d, "
              "rotated end to end: %d"
              % (len(accounts), sum(not f["passed"] for f in findings), len(rotated),
                 len(result["failed_objects"]), len(rotation["rotated"])))


if __name__ == "__main__":
    main()
