#!/usr/bin/env python3
"""Time the dialplan reading (the phones' routes to the trunks, and the audit's rules) on a
dialplan with many extensions that jump.

Run from the repository root: .venv/bin/python benchmarks/dialplan_routes.py [--patterns] [COUNT] [MODULE_UTILS]
COUNT extensions (1000 by default) in the phones' included context, each jumping with its own
${EXTEN} to a voicemail context of COUNT extensions that jump back; the phones' pattern jumps to an
outbound context that dials the trunk. With --patterns the extensions are patterns (_1000X, ten
numbers each), so each jump is a jump to what a pattern matches, not to one extension.
MODULE_UTILS times another checkout's module_utils (e.g. main's, extracted with git show).
Nothing leaves this machine.
"""
import os
import sys

from timing import timed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATTERNS = "--patterns" in sys.argv
ARGUMENTS = [argument for argument in sys.argv[1:] if argument != "--patterns"]
import ansible.module_utils  # noqa: E402

ansible.module_utils.__path__.insert(0, ARGUMENTS[1] if len(ARGUMENTS) > 1 else os.path.join(ROOT, "module_utils"))

from ansible.module_utils.asterisk_conf import parse  # noqa: E402
from ansible.module_utils.dialplan_audit import audit, trunk_routes  # noqa: E402


def office_dialplan(count, patterns=False):
    numbers = ["_%dX" % n if patterns else str(n) for n in range(1000, 1000 + count)]
    parts = ["[from-internal]\ninclude => ext-local\n",
             "exten => _0X.,1,Goto(outbound,${EXTEN:1},1)\n same => n,Hangup()\n",
             "[ext-local]\n"]
    parts.extend("exten => %s,1,Dial(PJSIP/${EXTEN},20)\n same => n,Goto(vm,${EXTEN},1)\n" % n for n in numbers)
    parts.append("[vm]\n")
    parts.extend("exten => %s,1,VoiceMail(${EXTEN}@default)\n same => n,Goto(ext-local,${EXTEN},1)\n" % n
                 for n in numbers)
    parts.append("[outbound]\nexten => 112,1,Dial(PJSIP/112@carrier)\nexten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)\n")
    return "".join(parts)



def main():
    count = int(ARGUMENTS[0]) if ARGUMENTS else 1000
    configs = [timed("parse (%d %s)" % (count, "patterns" if PATTERNS else "extensions"),
                     lambda: parse(office_dialplan(count, PATTERNS), "extensions.conf"))]
    routes = timed("trunk_routes", lambda: trunk_routes(configs, ["from-internal"], ["carrier"]))
    findings = timed("audit", lambda: audit(configs, trunk_endpoints=["carrier"])[0])
    print("routes %d, findings %d" % (len(routes), len(findings)))


if __name__ == "__main__":
    main()
