#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: prove that a running Asterisk reaches endpoints (carriers) with SIP OPTIONS."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: asterisk_options_probe
short_description: Prove that a running Asterisk's SIP OPTIONS reach each endpoint and are answered
description:
  - Asks a running Asterisk (C(pjsip qualify ENDPOINT)) to send SIP OPTIONS to each contact of
    each endpoint, the way a call to that endpoint would leave (transport, source port, outbound
    proxy, outbound auth), and reads the answers from res_pjsip_history, which it switches on
    for the probe only. Any response counts (a 401 or 404 proves the path as well as a 200).
  - The judgement is module_utils/sip_options_probe.py. Only the first line of a message, its
    address, Call-ID and CSeq are read; nothing else of a message is returned or logged.
  - toll_fraud_guard asks the trunk boundary instance, before the firewall closes the carriers
    to the main Asterisk - behind NAT, a carrier whose answers do not come back to the
    instance's port would otherwise take every outgoing call down.
version_added: "0.3.0"
author:
  - voipguard contributors
options:
  endpoints:
    description: The endpoints to probe (each contact of each of their aors).
    type: list
    elements: str
    required: true
  config:
    description:
      - The asterisk.conf of the Asterisk to ask (C(asterisk -C)), for a second Asterisk on the
        host. Without it, the main Asterisk.
    type: path
  timeout:
    description: Seconds to wait for the answers of each endpoint.
    type: float
    default: 5.0
  unanswered:
    description:
      - What an endpoint without an answer does - C(fail) the task, naming it and why, or
        C(warn) and go on.
    type: str
    choices: [fail, warn]
    default: fail
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Probes in check mode too; an OPTIONS request changes nothing on either side.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Prove that each carrier answers the boundary instance
  asterisk_options_probe:
    config: /etc/voipguard-boundary/asterisk.conf
    endpoints: [carrier]
"""

RETURN = r"""
answered:
  description: "{endpoint: {address: status line of its first response}}."
  returned: always
  type: dict
  sample: {carrier: {"198.51.100.20:5060": "SIP/2.0 200 OK"}}
unanswered:
  description: "{endpoint: why it is not proven reachable} (empty when every contact answered)."
  returned: always
  type: dict
  sample: {carrier: "no answer within 5 s from 198.51.100.20:5060"}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.asterisk_live import module_cli
from ansible.module_utils.sip_options_probe import probe, unanswered_reason


def probe_all(cli, endpoints, timeout):
    """({endpoint: {address: status line}}, {endpoint: reason}) for each endpoint, in order."""
    answered, unanswered = {}, {}
    for endpoint in endpoints:
        result = probe(cli, endpoint, timeout=timeout)
        answered[endpoint] = result["answered"]
        reason = unanswered_reason(result, timeout)
        if reason:
            unanswered[endpoint] = reason
    return answered, unanswered


def main():
    module = AnsibleModule(
        argument_spec=dict(
            endpoints=dict(type="list", elements="str", required=True),
            config=dict(type="path"),
            timeout=dict(type="float", default=5.0),
            unanswered=dict(type="str", choices=["fail", "warn"], default="fail"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    cli = module_cli(module, module.get_bin_path("asterisk", required=True), params["config"])
    answered, unanswered = probe_all(cli, params["endpoints"], params["timeout"])
    if unanswered:
        message = "SIP OPTIONS from %s got no answer: %s" % (
            params["config"] or "the main Asterisk",
            "; ".join("%s - %s" % (endpoint, reason) for endpoint, reason in sorted(unanswered.items())))
        if params["unanswered"] == "fail":
            module.fail_json(msg=message, answered=answered, unanswered=unanswered)
        module.warn(message)
    module.exit_json(changed=False, answered=answered, unanswered=unanswered)


if __name__ == "__main__":
    main()
