#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: prove that every phone the running Asterisk has dials through the guard."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: asterisk_guard_coverage
short_description: Prove that the running Asterisk gives the toll-fraud guard every phone and every looped trunk call
description:
  - The toll_fraud_guard role guards the phones it finds in the files (pjsip.conf with its
    includes, pjsip_wizard.conf). The running Asterisk may have more - from realtime (a
    database that sorcery.conf maps endpoints to), or a file the role does not read - and
    their calls would reach the trunk unchecked.
  - Lists the endpoints the running Asterisk has loaded (C(pjsip show endpoints)), takes those
    no pjsip.conf section defines, trunks, exempt endpoints and voipguard's own aside, and
    reads each one's running context (C(pjsip show endpoint NAME)). Fails, naming each, when
    one does not dial into a guard context the running dialplan has.
  - The same judgement as the audit's VOIP-TF-001 (module_utils/asterisk_live.py).
  - With the trunk boundary loaded, also fails when an identify of the running Asterisk's
    (C(pjsip show identifies) - realtime's too, host names resolved) takes the address the looped
    INVITEs come from, so that some trunk calls would reach that endpoint instead of the guard;
    the judgement of the audit's VOIP-TF-007 (module_utils/trunk_boundary.py).
  - With O(trunk_boundary) (the trunks' calls loop) it also fails when the running Asterisk
    identifies no INVITE as the guard's egress (no match of it in C(pjsip show identifies), or no
    listing at all), where the files alone would pass.
  - Run it once the running Asterisk matches its files (M(asterisk_live_state)). Before that,
    it may still hold what the files no longer have, such as a factory C(anonymous) endpoint.
version_added: "0.3.0"
author:
  - voipguard contributors
options:
  config_dir:
    description: Asterisk's configuration directory (pjsip.conf is read there).
    type: path
    default: /etc/asterisk
  trunk_endpoints:
    description: Endpoints of trunks (voipguard_trunks); their calls come from the carrier.
    type: list
    elements: str
    default: []
  exempt_endpoints:
    description: Endpoints the operator left unguarded on purpose, by name.
    type: list
    elements: str
    default: []
  trunk_boundary:
    description:
      - The trunk endpoints' calls loop through the guard's egress (the trunk boundary is on and
        O(trunk_endpoints) is not empty), so the running Asterisk must identify the looped INVITEs as it.
    type: bool
    default: false
    version_added: "0.3.0"
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
- name: Prove every phone the running Asterisk has dials through the guard
  asterisk_guard_coverage:
    trunk_endpoints: [carrier]
    exempt_endpoints: [doorphone]
"""

RETURN = r"""
judged:
  description: "{endpoint: running context} of the endpoints judged here: loaded, in no pjsip.conf
    section, neither trunk nor exempt nor voipguard's own."
  returned: always
  type: dict
  sample: {"2101": voipguard-guard-from-internal}
unguarded:
  description: Why each unguarded phone is (empty on success).
  returned: always
  type: list
  elements: str
  sample: ["endpoint 2201 dials in context from-internal, not through a guard"]
loop_identifies:
  description: Why looped trunk calls may not reach the guard, one per identify that takes them, or
    that none identifies them as the egress (empty on success).
  returned: always
  type: list
  elements: str
  version_added: "0.3.0"
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.asterisk_conf import AsteriskConfigError, iter_sections, load
from ansible.module_utils.asterisk_live import (
    endpoints_outside_files, module_cli, parse_dialplan_contexts, parse_parameters, unguarded_reasons)
from ansible.module_utils.trunk_boundary import running_loop_identify_faults, unidentified_loop_fault


def judge(cli, file_endpoints, trunk_endpoints=(), exempt_endpoints=()):
    """({endpoint: running context}, [reasons]) for the loaded endpoints outside pjsip.conf.
    cli(command) -> text or None. Raises RuntimeError when the CLI does not answer."""
    listing = cli("pjsip show endpoints")
    running = cli("dialplan show")
    if listing is None or running is None:
        raise RuntimeError("the running Asterisk does not answer 'pjsip show endpoints' or 'dialplan show'")
    skip = set(trunk_endpoints) | set(exempt_endpoints)
    judged = {}
    for name in endpoints_outside_files(listing, file_endpoints):
        if name not in skip:
            judged[name] = parse_parameters(cli("pjsip show endpoint %s" % name)).get("context", "default")
    return judged, unguarded_reasons(judged, set(parse_dialplan_contexts(running)))


def loop_identify_faults(cli, looped=False):
    """Why looped trunk calls may not reach the running guard (running_loop_identify_faults;
    looped: the trunks' calls loop). Raises RuntimeError when the CLI does not answer."""
    identifies = cli("pjsip show identifies")
    if identifies is None:
        raise RuntimeError("the running Asterisk does not answer 'pjsip show identifies'")
    return running_loop_identify_faults(identifies, looped)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config_dir=dict(type="path", default="/etc/asterisk"),
            trunk_endpoints=dict(type="list", elements="str", default=[]),
            exempt_endpoints=dict(type="list", elements="str", default=[]),
            trunk_boundary=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    cli = module_cli(module, module.get_bin_path("asterisk", required=True))

    pjsip = os.path.join(params["config_dir"], "pjsip.conf")
    try:
        configs = load(pjsip, config_dir=params["config_dir"]) if os.path.exists(pjsip) else []
        judged, reasons = judge(cli, [s.name for s in iter_sections(configs, "endpoint")],
                                params["trunk_endpoints"], params["exempt_endpoints"])
        loop_faults = loop_identify_faults(cli, params["trunk_boundary"] and bool(params["trunk_endpoints"]))
    except AsteriskConfigError as exc:
        module.fail_json(msg="cannot read pjsip.conf: %s" % exc)
    except RuntimeError as exc:
        module.fail_json(msg=str(exc))
    problems = []
    if reasons:
        problems.append(
            "The running Asterisk has phones whose calls would reach the trunk unchecked: %s. "
            "They are defined outside the files the guard edits (realtime, say): set each one's "
            "context to voipguard-guard-<its context> where it is defined, or exempt it by name "
            "(toll_fraud_guard_exempt_endpoints) if that is intended." % "; ".join(reasons))
    if loop_faults == [unidentified_loop_fault()]:
        problems.append(
            "The trunks' calls loop, but %s. Load res_pjsip_endpoint_identifier_ip.so (modules.conf; "
            "restart Asterisk where a module load does not take it) and run again." % loop_faults[0])
    elif loop_faults:
        problems.append(
            "The running Asterisk may give looped trunk calls to another endpoint than the guard: %s. "
            "Narrow that identify's match (to the other application's own port, say) where it is "
            "defined (a file, a database row, or the host name's address)." % "; ".join(loop_faults))
    if problems:
        module.fail_json(msg=" ".join(problems), judged=judged, unguarded=reasons, loop_identifies=loop_faults)
    module.exit_json(changed=False, judged=judged, unguarded=[], loop_identifies=[])


if __name__ == "__main__":
    main()
