#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: the running Asterisk's channel drivers that call other hosts past the trunk boundary."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: asterisk_channel_drivers_info
short_description: Read which loaded channel drivers reach other hosts past the trunk boundary, and whether they are in use
description:
  - The trunk boundary loops PJSIP trunks only. A call placed with IAX2, DAHDI, OOH323, MGCP or
    Motif (XMPP/Jingle) never passes it, and Debian's Asterisk loads chan_iax2 and chan_motif
    whether anything uses them or not.
  - Asks the running Asterisk (C(asterisk -rx)) which of those drivers it has loaded, and for
    each whether it is in use - IAX2 peers or registrations, XMPP connections, calls in progress.
    DAHDI, OOH323 and MGCP count as in use when loaded. The running dialplan's lines that dial
    one (C(IAX2/...)) are returned, not counted as a use. Nothing is changed.
  - The judgement is module_utils/channel_drivers.py, which the audit shares.
version_added: "0.3.0"
author:
  - voipguard contributors
options:
  kept:
    description:
      - Modules (C(chan_iax2.so)) the operator keeps knowingly; never in I(switch_off) or
        I(refused).
    type: list
    elements: str
    default: []
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Only reads.
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Read the channel drivers past the trunk boundary
  asterisk_channel_drivers_info:
    kept: [chan_iax2.so]
  register: drivers
"""

RETURN = r"""
loaded:
  description: The channel types past the trunk boundary the running Asterisk has loaded.
  returned: always
  type: list
  elements: str
  sample: [IAX2, Motif]
in_use:
  description: "{channel type: [why it counts as in use]} for each loaded one ([] when unused)."
  returned: always
  type: dict
  sample: {IAX2: ["1 IAX2 peers (iax2 show peers)"], Motif: []}
switch_off:
  description: Modules loaded and unused, neither kept; to be switched off.
  returned: always
  type: list
  elements: str
  sample: [chan_motif.so]
refused:
  description: "{module: what uses it} for each module in use and not kept."
  returned: always
  type: dict
  sample: {chan_iax2.so: "IAX2 (chan_iax2.so) is in use: 1 IAX2 peers (iax2 show peers)"}
kept:
  description: Modules loaded and kept by the operator.
  returned: always
  type: list
  elements: str
dialed:
  description: "{module: [context and line of the running dialplan that dials it]}, loaded ones only."
  returned: always
  type: dict
  sample: {chan_iax2.so: ["context demo: 2. Dial(IAX2/guest@misery.digium.com/s@default) [pbx_ael]"]}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.asterisk_live import module_cli
from ansible.module_utils.channel_drivers import read_drivers


def main():
    module = AnsibleModule(
        argument_spec=dict(kept=dict(type="list", elements="str", default=[])),
        supports_check_mode=True,
    )
    cli = module_cli(module, module.get_bin_path("asterisk", required=True))
    result = read_drivers(cli, module.params["kept"])
    if result is None:
        # Asked first of the guard's live reads: a stopped Asterisk is the usual reason.
        module.fail_json(msg="Asterisk did not answer 'core show channeltypes': the guard judges the running "
                             "Asterisk, so it must be running (start it, e.g. systemctl start asterisk, and run "
                             "again)")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
