#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module (documentation): keep rotated SIP/AMI credentials in a file on the controller.
The work is done by action_plugins/voipguard_credentials_store.py, on the controller."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: voipguard_credentials_store
short_description: Keep rotated SIP and AMI credentials in a private file on the controller
description:
  - Adds the new credentials to the file, keeping the accounts stored by earlier rotations, and
    creates its directory with mode 0700 and the file with mode 0600 (written atomically).
  - Runs on the controller through its action plugin, in the worker, without a round trip to the
    host. Never returns or shows a credential; use it on a task with C(no_log) true all the same.
  - A file that does not hold a mapping of accounts is refused, not overwritten.
version_added: "0.3.0"
author:
  - voipguard contributors
options:
  dest:
    description: The credentials file on the controller.
    type: path
    required: true
  credentials:
    description: The new credentials, account id -> {username, password}, as M(asterisk_secret_audit) returns them.
    type: dict
    required: true
  host:
    description: The host the credentials belong to, named in the file's header.
    type: str
    required: true
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Store the new credentials on the controller, keeping earlier ones
  voipguard_credentials_store:
    dest: "{{ playbook_dir }}/../.secrets/{{ inventory_hostname }}-sip-credentials.yml"
    credentials: "{{ rotation.credentials }}"
    host: "{{ inventory_hostname }}"
  no_log: true
"""

RETURN = r"""
dest:
  description: The credentials file.
  returned: always
  type: str
stored:
  description: How many accounts the file holds now (null when there was nothing new to store).
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule


def main():
    module = AnsibleModule(
        argument_spec=dict(dest=dict(type="path", required=True),
                           credentials=dict(type="dict", required=True, no_log=True),
                           host=dict(type="str", required=True)),
        supports_check_mode=True)
    module.fail_json(msg="voipguard_credentials_store runs on the controller through its action plugin "
                         "(action_plugins/, or the collection's plugins/action/).")


if __name__ == "__main__":
    main()
