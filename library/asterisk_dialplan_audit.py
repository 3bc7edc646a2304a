#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: audit an Asterisk dialplan for toll-fraud and injection patterns (read-only)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: asterisk_dialplan_audit
short_description: Audit extensions.conf for toll-fraud and injection patterns
description:
  - Reads C(extensions.conf) and the files it includes, the way Asterisk reads them, and
    reports dangerous dialplan patterns named by Asterisk's own security guidance
    (README-SERIOUSLY.bestpractices.md). Never changes anything.
  - C(DP001) C(${EXTEN}) passed to C(Dial()) unfiltered in an extension whose pattern
    matches any character (C(.) or C(!)), so C(500&PJSIP/itsp/00263...) dials a second leg. Not
    reported when the value is wrapped in C(FILTER()) or an earlier priority of the same
    extension checks it with C(REGEX()).
  - C(DP002) caller ID (C(CALLERID()), C(${CALLERIDNUM}), C(${CALLERIDNAME})) passed to
    C(System()), C(TrySystem()), C(SHELL()) or the command argument of C(MixMonitor()),
    which is command injection by whoever sets their caller ID.
  - C(DP003) a C([demo]) context is present.
  - C(DP004) a toll route (C(Dial()) to a trunk from an extension whose pattern matches any
    number, e.g. C(_X.)) in C([default]), in a context of an unauthenticated endpoint, or in a
    context those include.
  - C(DP005) a switch (C(switch => Lua/), C(Realtime/), C(DUNDi/)...) in such a context - the
    extensions it lacks go to dialplan nobody can read.
version_added: "0.1.0"
author:
  - voipguard contributors
options:
  path:
    description: The dialplan file.
    type: path
    default: /etc/asterisk/extensions.conf
  follow_includes:
    description: Also read the files it C(#include)s.
    type: bool
    default: true
  unauthenticated_contexts:
    description:
      - Contexts that calls reach without authentication (context of an endpoint with no
        C(auth), of C(anonymous), of IP-identified trunks). C(default) is always included.
    type: list
    elements: str
    default: []
  trunk_endpoints:
    description:
      - PJSIP endpoint names of trunks. When empty, any C(Dial()) to C(TECH/number@peer) or
        C(TECH/peer/number) counts as a trunk call. A variable that C([globals]) sets is read as
        its value, as Asterisk substitutes it (C(Dial(PJSIP/${EXTEN}@${TRUNK})) with C(TRUNK = carrier)).
    type: list
    elements: str
    default: []
  phone_contexts:
    description:
      - Contexts of the phones. When given, the module also reads the routes from them to the
        trunks (their includes, the subroutines they Gosub, three deep, the contexts they Goto or
        GotoIf or dial a Local channel in, three jumps one after another, each only to the
        extensions its own can match, and what Exec or ExecIf runs, followed; [globals]
        substituted) and infers the outside-line digit the phones dial (returned as
        I(outside_line)).
    type: list
    elements: str
    default: []
    version_added: "0.2.0"
  pjsip_sections:
    description:
      - Instead of I(phone_contexts) - the C(sections) of M(asterisk_config_info) on pjsip.conf,
        whose endpoints (with I(pjsip_wizard)'s) give the phones' contexts, trunks
        (I(trunk_endpoints)), exempt endpoints (I(exempt_endpoints)) and voipguard's own left
        out, and a guard context read as the operator's context behind it.
    type: list
    elements: dict
    default: []
    version_added: "0.3.0"
  pjsip_wizard:
    description:
      - With I(pjsip_sections) - what M(asterisk_config_info) returns for pjsip_wizard.conf,
        whose wizards make endpoints too.
    type: dict
    default: {}
    version_added: "0.3.0"
  exempt_endpoints:
    description: With I(pjsip_sections) - endpoints that are not phones the guard stands in front of.
    type: list
    elements: str
    default: []
    version_added: "0.3.0"
  running:
    description:
      - Also read what the running Asterisk's dialplan holds beyond these files, through
        C(asterisk -rx) (C(dialplan show) and C(dialplan show globals)) - the contexts
        C(extensions.ael) defines (pbx_ael), the C(Lua/) switch pbx_lua puts in each context
        C(extensions.lua) names, what other modules register, the running C([globals]). A switch
        the phones reach makes the outside-line digit unclear (its routes cannot be read).
      - When Asterisk does not answer, only the files are read, with a warning (I(running_read) false).
    type: bool
    default: true
    version_added: "0.3.0"
  switched_off:
    description:
      - With I(running) - modules (C(pbx_lua.so)) whose part of the running dialplan is not read, as
        the run switches them off (M(asterisk_channel_drivers_info)'s I(switch_off)).
    type: list
    elements: str
    default: []
    version_added: "0.3.0"
  warn:
    description: Also emit each finding as an Ansible warning.
    type: bool
    default: true
notes:
  - Supports check mode; never changes anything.
  - Findings come from the text only; values passed through intermediate variables
    (C(Set(n=${EXTEN})) then C(Dial(PJSIP/${n}))) are not followed.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Reads only.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Audit the dialplan
  asterisk_dialplan_audit:
    path: /etc/asterisk/extensions.conf
    unauthenticated_contexts: [from-carrier]
    trunk_endpoints: [carrier]
  register: dialplan_audit

- name: Stop on findings
  ansible.builtin.fail:
    msg: "{{ dialplan_audit.findings }}"
  when: dialplan_audit.findings | length > 0
"""

RETURN = r"""
findings:
  description: One entry per dangerous line.
  returned: always
  type: list
  elements: dict
  sample:
    - rule: DP001
      severity: high
      file: /etc/asterisk/extensions.conf
      line: 11
      context: from-internal
      extension: _X.
      message: "${EXTEN} passed to Dial() unfiltered in a pattern that matches any character"
      text: "exten => _X.,1,Dial(PJSIP/${EXTEN}@carrier)"
files:
  description: Files read.
  returned: always
  type: list
  elements: str
contexts:
  description: Contexts found, in reading order (the running dialplan's beyond the files first).
  returned: always
  type: list
  elements: str
running_read:
  description:
    - Whether the running dialplan was read (I(running)). A finding in it names the file
      C(asterisk -rx 'dialplan show') and the line of that listing.
  returned: always
  type: bool
  version_added: "0.3.0"
reachable_unauthenticated:
  description: Contexts reachable without authentication (given contexts, default, their includes).
  returned: always
  type: list
  elements: str
unloopable_trunks:
  description:
    - For each of I(trunk_endpoints) the trunk boundary cannot loop, why; empty when it can loop
      every one.
    - One that neither I(pjsip_sections) nor I(pjsip_wizard) defines (naming the endpoints a typo
      most likely meant), or whose name has characters other than letters, digits, C(-), C(_)
      and C(.) (the loop carries it as a SIP URI's user and matches it in the dialplan).
  returned: when pjsip_sections or pjsip_wizard is given
  type: list
  elements: str
  sample: ["trunk endpoint carier is not defined in pjsip.conf, its includes or pjsip_wizard.conf;
           did you mean carrier?"]
undefined_trunks:
  description:
    - For each of I(trunk_endpoints) that neither I(pjsip_sections) nor I(pjsip_wizard) defines,
      why (naming the endpoints a typo most likely meant); empty when every one is defined. Without
      the trunk boundary such a trunk may be realtime's; with it, it is among I(unloopable_trunks).
  returned: when pjsip_sections or pjsip_wizard is given
  type: list
  elements: str
  sample: ["trunk endpoint carier is not defined in pjsip.conf, its includes or pjsip_wizard.conf;
           did you mean carrier?"]
undefined_exempt_endpoints:
  description:
    - For each of I(exempt_endpoints) that neither I(pjsip_sections) nor I(pjsip_wizard) defines,
      why (naming the endpoints a typo most likely meant); empty when every one is defined.
  returned: when pjsip_sections or pjsip_wizard is given
  type: list
  elements: str
  sample: ["1O03 is not defined in pjsip.conf, its includes or pjsip_wizard.conf; did you mean 1003?"]
outside_line:
  description:
    - The outside-line digit read from the phones' routes to the trunks. C(digits) is the digit
      string (empty when the routes dial the number as dialed) or null when the dialplan does not
      show it; C(unclear) then says why, naming the contexts and lines. C(routes) lists each
      route found (context, pattern, strip, prepend - the digits it puts before the number, as
      FreePBX's prepend does, read for the area code of local numbers -, landing - the literal
      extension a Goto lands on to dial it, or null -, file, line).
  returned: when phone_contexts is given, or pjsip_sections or pjsip_wizard finds a phone
  type: dict
  sample: {"digits": "9", "unclear": null, "routes": [{"context": "from-internal", "pattern": "_9X.",
           "strip": 1, "prepend": "", "landing": null, "file": "/etc/asterisk/extensions.conf",
           "line": 12}]}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.asterisk_conf import AsteriskConfigError, load
from ansible.module_utils.asterisk_live import module_cli, read_running_dialplan
from ansible.module_utils.asterisk_live import phone_contexts as phone_contexts_of
from ansible.module_utils.dialplan_audit import audit, infer_outside_line, parse_dialplan, phone_switches, trunk_routes
from ansible.module_utils.pjsip_sections import endpoint_contexts, endpoint_definitions, not_defined
from ansible.module_utils.trunk_boundary import unloopable_trunk


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/asterisk/extensions.conf"),
            follow_includes=dict(type="bool", default=True),
            unauthenticated_contexts=dict(type="list", elements="str", default=[]),
            trunk_endpoints=dict(type="list", elements="str", default=[]),
            phone_contexts=dict(type="list", elements="str", default=[]),
            pjsip_sections=dict(type="list", elements="dict", default=[]),
            pjsip_wizard=dict(type="dict", default={}),
            exempt_endpoints=dict(type="list", elements="str", default=[]),
            running=dict(type="bool", default=True),
            switched_off=dict(type="list", elements="str", default=[]),
            warn=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        configs = load(params["path"], follow_includes=params["follow_includes"])
    except AsteriskConfigError as exc:
        module.fail_json(msg=str(exc), filename=exc.filename, lineno=exc.lineno)
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot read %s: %s" % (params["path"], exc))
    running = None
    if params["running"]:
        binary = module.get_bin_path("asterisk")
        running = read_running_dialplan(module_cli(module, binary), params["switched_off"]) if binary else None
        if running is None:
            module.warn("the running Asterisk did not answer 'dialplan show': only the files are read")
    # The running [globals] first: they are what Asterisk substitutes (asterisk_live.running_dialplan).
    configs = (running or []) + configs
    findings, contexts, unauth = audit(configs, params["unauthenticated_contexts"],
                                       params["trunk_endpoints"])
    if params["warn"]:
        for finding in findings:
            module.warn("%(rule)s %(file)s:%(line)s [%(context)s] %(message)s" % finding)
    result = dict(changed=False, findings=findings, files=[c.filename for c in configs if c not in (running or [])],
                  contexts=contexts, reachable_unauthenticated=unauth, running_read=running is not None)
    phones = params["phone_contexts"]
    if params["pjsip_sections"] or params["pjsip_wizard"]:
        defined = endpoint_definitions(params["pjsip_sections"], params["pjsip_wizard"])
        # A trunk endpoint mistyped in voipguard_trunks shows no route to a trunk: named first,
        # so that the operator is not asked for the outside-line digit instead.
        result["unloopable_trunks"] = [message for message in (
            unloopable_trunk(None, endpoint, defined) for endpoint in params["trunk_endpoints"]) if message]
        # A name the files do not define is a typo, or an endpoint realtime defines.
        missing = dict((name, not_defined(name, defined))
                       for name in set(params["trunk_endpoints"]) | set(params["exempt_endpoints"]))
        result["undefined_trunks"] = ["trunk endpoint %s %s" % (endpoint, missing[endpoint])
                                      for endpoint in params["trunk_endpoints"] if missing[endpoint]]
        result["undefined_exempt_endpoints"] = ["%s %s" % (endpoint, missing[endpoint])
                                                for endpoint in params["exempt_endpoints"] if missing[endpoint]]
        if not phones:
            phones = phone_contexts_of(endpoint_contexts(None, definitions=defined),
                                       set(params["trunk_endpoints"]) | set(params["exempt_endpoints"]))
    if phones:
        entries = list(parse_dialplan(configs))  # read once for the routes and the switches
        routes = trunk_routes(configs, phones, params["trunk_endpoints"], entries)
        digits, why = infer_outside_line(routes, phones, phone_switches(configs, phones, entries))
        result["outside_line"] = dict(digits=digits, unclear=why, routes=routes)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
