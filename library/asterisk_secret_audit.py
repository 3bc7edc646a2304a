#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: audit (and optionally rotate) the SIP and AMI secrets of an Asterisk PBX."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: asterisk_secret_audit
short_description: Audit and rotate the SIP and AMI secrets of an Asterisk PBX
description:
  - Finds every credential Asterisk accepts or sends and judges its strength with zxcvbn
    (bits = log2 of the estimated guesses), its length, whether it is a common password,
    whether it contains the username, extension or endpoint name, and whether another
    account uses the same secret.
  - Credentials audited are C(type=auth) objects of C(pjsip.conf) (with the password inherited
    from templates, across C(#include)), the C(inbound_auth/password) and
    C(outbound_auth/password) of C(pjsip_wizard.conf) sections whose C(accepts_auth) /
    C(sends_auth) is on, and the C(secret) of every C(manager.conf) (AMI) user.
  - Results never contain a secret, not even a part of it; reuse is found by comparing keyed
    digests that die with the run.
  - With I(mode=rotate), every failing secret is replaced by a generated one (letters and
    digits, I(generated_length) characters), in place, so comments and every other line stay
    byte for byte. A password inherited from a template is overridden in the account's own
    section. Credentials that Asterisk sends to somebody else (C(outbound_auth) of endpoints,
    registrations and wizard trunks) are never rotated, nor those named in I(rotate_exclude).
  - Before a rotation the module asks Asterisk (C(asterisk -rx 'pjsip show contacts')) which
    phones are registered with the affected accounts and returns them in C(cut_off_registered);
    those phones must be re-provisioned. A stopped Asterisk is tolerated.
  - A file that Asterisk would refuse makes the module fail with its file name, line number
    and reason, and no file is written.
version_added: "0.1.0"
author:
  - voipguard contributors
requirements:
  - zxcvbn (Debian package python3-zxcvbn, or PyPI zxcvbn) on the managed host
options:
  config_dir:
    description: Asterisk's configuration directory; relative C(#include) paths resolve here.
    type: path
    default: /etc/asterisk
  files:
    description:
      - Top-level files to audit, relative to I(config_dir). Files they C(#include) are followed.
      - Files whose name starts with C(manager) are read as AMI users; the others as PJSIP
        (C(type=auth) and C(type=wizard) sections).
      - A missing file is skipped and listed in C(files_missing).
    type: list
    elements: str
    default: [pjsip.conf, pjsip_wizard.conf, manager.conf]
  min_length:
    description: Minimum length of a secret.
    type: int
    default: 16
  min_entropy_bits:
    description:
      - Minimum strength as log2 of zxcvbn's guess estimate. 80 bits cannot be found by an
        online attack even at 1,000 guesses per second for decades.
    type: float
    default: 80
  forbid_dictionary:
    description: Fail secrets found in zxcvbn's list of 30,000 common passwords (also l33t or capitalised).
    type: bool
    default: true
  forbid_username:
    description: Fail secrets that equal or contain the username, the auth or endpoint name (the extension).
    type: bool
    default: true
  forbid_reuse:
    description: Fail secrets used by more than one account.
    type: bool
    default: true
  mode:
    description: C(audit) only reports; C(rotate) also replaces failing secrets.
    type: str
    choices: [audit, rotate]
    default: audit
  rotate_exclude:
    description:
      - Accounts never rotated, e.g. trunk credentials issued by the provider. Each entry is
        compared (case-insensitively) with the auth object name, the wizard section name,
        the AMI user name, the account id, and the names of the endpoints using the account.
    type: list
    elements: str
    default: []
  rotate_only:
    description:
      - Rotate only these accounts (same names as I(rotate_exclude)); empty means every failing
        one. Lets an operator rotate phone by phone, re-provisioning each in turn.
      - A name that matches no account fails the module in every mode, before anything rotates.
    type: list
    elements: str
    default: []
    version_added: "0.2.0"
  rotate_registered:
    description:
      - Also rotate inbound accounts whose endpoint has a phone registered right now. C(false)
        rotates only the endpoints nobody uses at the moment, so that no working phone is cut
        off; the registered ones are listed in C(not_rotated) with the reason C(registered).
        Needs a running Asterisk (C(pjsip show contacts)); the module fails when it cannot ask.
    type: bool
    default: true
    version_added: "0.2.0"
  generated_length:
    description:
      - Length of generated secrets (letters and digits, about 5.95 bits a character; 28 is
        about 167 bits). The module refuses a length whose secrets could not reach
        I(min_entropy_bits) with a 20 % margin (under 17 characters for 80 bits).
    type: int
    default: 28
  return_credentials:
    description:
      - Return the new credentials in C(credentials). Use it only on a task with C(no_log) true.
    type: bool
    default: false
  backup:
    description: Keep a timestamped copy of every file the rotation changes.
    type: bool
    default: false
notes:
  - Supports check mode (reports what would rotate, writes nothing, returns no credentials)
    and diff mode (every secret value shows as C(********) on both sides).
  - Writes are atomic and keep owner, group and mode; Asterisk must reload C(res_pjsip) and
    the manager afterwards.
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Audits and reports which secrets would be rotated; writes nothing.
  diff_mode:
    support: full
    details: The changed lines, secret values masked.
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Audit every SIP and AMI secret
  asterisk_secret_audit:
  register: secret_audit

- name: Rotate weak secrets except the provider's trunk credentials
  asterisk_secret_audit:
    mode: rotate
    rotate_exclude: [carrier]
    return_credentials: true
    backup: true
  no_log: true
  register: secret_rotation
"""

RETURN = r"""
findings:
  description: One entry per credential. Never contains a secret.
  returned: always
  type: list
  elements: dict
  contains:
    file: {description: File that holds the (effective) secret, type: str}
    line: {description: Its line number (the section header when there is no secret line), type: int}
    object: {description: Section name (auth object, wizard section or AMI user), type: str}
    id: {description: "Account id: auth name, C(NAME-iauth)/C(NAME-oauth) for wizards, C(ami:NAME)", type: str}
    kind: {description: "C(pjsip_auth), C(wizard) or C(ami)", type: str}
    direction: {description: "C(inbound) (phones log in with it) or C(outbound) (Asterisk sends it)", type: str}
    username: {description: The username of the credential, type: str}
    reasons:
      description: "Codes: empty, too_short, low_entropy, common_password, contains_name, reused"
      type: list
    reused_with: {description: Ids of the other accounts with the same secret, type: list}
    entropy_bits: {description: Rounded zxcvbn bits (null for hashed credentials), type: int}
    hashed: {description: Only a digest (md5_cred/password_digest) is stored; strength not measurable, type: bool}
    passed: {description: No reason to fail, type: bool}
  sample:
    - {file: /etc/asterisk/pjsip.conf, line: 29, object: "1001", id: "1001", kind: pjsip_auth,
       direction: inbound, username: "1001", reasons: [too_short, low_entropy, contains_name],
       reused_with: [], entropy_bits: 1, hashed: false, passed: false}
failed_objects:
  description: Ids of the failing accounts.
  returned: always
  type: list
  sample: ["1001", "ami:admin"]
rotated:
  description: Accounts whose secret was (in check mode, would be) replaced.
  returned: always
  type: list
  sample: [{object: "1001", id: "1001", kind: pjsip_auth, username: "1001"}]
not_rotated:
  description: Failing accounts left alone, with why (excluded, outbound, hashed).
  returned: always
  type: list
  sample: [{object: carrier, id: carrier, kind: pjsip_auth, username: pbx17, why: outbound}]
cut_off_registered:
  description: Registered contacts of endpoints whose inbound secret was rotated; re-provision these phones.
  returned: always
  type: list
  sample: [{object: "1001", endpoint: "1001", aor: "1001", contact: "sip:1001@198.51.100.30:5060", status: Avail}]
contacts_checked:
  description: Whether Asterisk answered C(pjsip show contacts) (false when it is not running).
  returned: always
  type: bool
credentials:
  description: "New credentials, id -> {username, password}. Only with I(return_credentials=true), never in check mode."
  returned: when return_credentials and something was rotated
  type: dict
files_missing:
  description: Files of I(files) that do not exist.
  returned: always
  type: list
backup_files:
  description: Backups made, file -> backup path.
  returned: when backup and changed
  type: dict
"""

import os
import re

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.asterisk_conf import AsteriskConfigError, load, mask_secrets
from ansible.module_utils.voipguard_files import read_or_none, read_text, write_atomically
from ansible.module_utils.pbx_distribution import gui_regenerates, gui_secret_fix
from ansible.module_utils.secret_accounts import audit_accounts, collect_accounts
from ansible.module_utils.secret_policy import (
    HAS_ZXCVBN, ZXCVBN_IMPORT_ERROR, PolicyError, SecretPolicy, generate_secret)

_CONTACT_LINE = re.compile(r"^\s*Contact:\s+([^/\s<]+)/(\S+)\s+\S+\s+(\S+)")


def load_config_files(config_dir, files):
    """[(top-level path, [ConfigFile, ...])] and the missing paths. Raises AsteriskConfigError."""
    groups, missing = [], []
    for name in files:
        path = name if os.path.isabs(name) else os.path.join(config_dir, name)
        if not os.path.isfile(path):
            missing.append(path)
            continue
        groups.append((path, load(path, follow_includes=True, config_dir=config_dir)))
    return groups, missing


def _names(account):
    """Every name an operator may give an account by (lower case): its object, its id, its endpoints."""
    names = set([account.object.lower(), account.id.lower()])
    names.update(endpoint.lower() for endpoint, _ in account.endpoints)
    return names


def _excluded(account, exclude):
    return bool(_names(account) & exclude)


def unknown_names(accounts, names):
    """The names (as given) that match no account by any of its names."""
    known = set()
    for account in accounts:
        known.update(_names(account))
    return [name for name in names or () if name.lower() not in known]


def _registered(account, registered_aors):
    return account.direction == "inbound" and any(
        aor.lower() in registered_aors for _, aors in account.endpoints for aor in aors)


def rotate_accounts(accounts, policy, rotate_exclude=(), rotate_only=(), registered_aors=None):
    """Replace the secret of every failing, rotatable account in the parsed files (in memory).
    ``rotate_only`` (names) narrows the rotation to those accounts; ``registered_aors`` (lower
    case), when given, keeps the accounts of endpoints with a phone registered now.
    Returns (rotated accounts, not_rotated entries, {id: {username, password}})."""
    exclude = set(name.lower() for name in rotate_exclude or [])
    only = set(name.lower() for name in rotate_only or [])
    rotated, not_rotated, credentials = [], [], {}
    for account in accounts:
        if account.finding is None or account.finding["passed"]:
            continue
        why = None
        if account.finding.get("fix"):
            why = "gui"  # the GUI would write its own secret back on the next Apply Config
        elif account.hashed:
            why = "hashed"
        elif account.direction == "outbound":
            why = "outbound"  # issued by the remote side: changing it here only breaks the trunk
        elif _excluded(account, exclude):
            why = "excluded"
        elif only and not _excluded(account, only):
            why = "not selected"
        elif registered_aors is not None and _registered(account, registered_aors):
            why = "registered"
        if why:
            entry = account.public()
            entry["why"] = why
            if why == "gui":
                entry["fix"] = account.finding["fix"]
            not_rotated.append(entry)
            continue
        new_secret = generate_secret(policy, account.names)
        account.section.set(account.key, new_secret)
        credentials[account.id] = dict(username=account.username, password=new_secret)
        rotated.append(account)
    return rotated, not_rotated, credentials


# -- output -----------------------------------------------------------------------------------

def changed_files(groups):
    """[(ConfigFile, masked before, masked after)] for every file the rotation changed."""
    out = []
    for _, configs in groups:
        for config in configs:
            if config.render() != config.original:
                out.append((config, mask_secrets(config.original, config.filename),
                            mask_secrets(config.render(), config.filename)))
    return out


def parse_contacts(output):
    """``pjsip show contacts`` output -> {aor (lower case): [(uri, status)]}."""
    contacts = {}
    for line in (output or "").splitlines():
        if "<Aor/ContactUri" in line:
            continue
        match = _CONTACT_LINE.match(line)
        if match:
            aor, uri, status = match.groups()
            contacts.setdefault(aor.lower(), []).append((uri, status))
    return contacts


def cut_off(rotated, contacts):
    """Contacts registered for endpoints whose inbound secret changed (names and URIs only)."""
    out = []
    for account in rotated:
        if account.direction != "inbound":
            continue
        for endpoint, aors in account.endpoints:
            for aor in aors:
                for uri, status in contacts.get(aor.lower(), []):
                    out.append(dict(object=account.object, id=account.id, endpoint=endpoint,
                                    aor=aor, contact=uri, status=status))
    return out


def run_audit(config_dir, files, policy, mode="audit", rotate_exclude=(), rotate_only=(), registered_aors=None):
    """Load, judge and (mode=rotate) rotate in memory. Returns (result dict, accounts, groups,
    credentials). Nothing is written; raises AsteriskConfigError for a malformed file."""
    groups, missing = load_config_files(config_dir, files)
    accounts = collect_accounts(groups)
    unknown = unknown_names(accounts, rotate_only)
    if unknown:
        # A typo here would otherwise rotate nothing and pass: say which names match no account.
        raise PolicyError("rotate_only names no account in the files: %s" % ", ".join(unknown))
    findings = audit_accounts(accounts, policy)
    for account in accounts:
        # A secret the GUI generated is the GUI's to change: name the place, never rewrite it.
        if not account.finding["passed"] and gui_regenerates(
                account.file, account.section.config.original, read_or_none):
            account.finding["fix"] = gui_secret_fix(account.finding)
    result = dict(findings=findings, files_missing=missing,
                  failed_objects=[f["id"] for f in findings if not f["passed"]],
                  rotated=[], not_rotated=[])
    credentials = {}
    rotated = []
    if mode == "rotate":
        rotated, result["not_rotated"], credentials = rotate_accounts(
            accounts, policy, rotate_exclude, rotate_only, registered_aors)
        result["rotated"] = [account.public() for account in rotated]
    result["_rotated_accounts"] = rotated
    return result, groups, credentials


# -- Ansible ------------------------------------------------------------------------------------

def query_contacts(module):
    """Registered contacts from the running Asterisk; (contacts, checked)."""
    binary = module.get_bin_path("asterisk")
    if binary is None:
        return {}, False
    rc, out, err = module.run_command([binary, "-rx", "pjsip show contacts"],
                                      environ_update={"LANG": "C"})
    text = (out or "") + (err or "")
    if rc != 0 or "Unable to connect to remote asterisk" in text or "No such command" in text:
        return {}, False
    return parse_contacts(out), True


def current_encoding(config):
    """The encoding the file on disk was read with, or None when it changed since it was read."""
    current, encoding = read_text(config.filename)
    return encoding if current == config.original else None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            config_dir=dict(type="path", default="/etc/asterisk"),
            files=dict(type="list", elements="str",
                       default=["pjsip.conf", "pjsip_wizard.conf", "manager.conf"]),
            min_length=dict(type="int", default=16),
            min_entropy_bits=dict(type="float", default=80),
            forbid_dictionary=dict(type="bool", default=True),
            forbid_username=dict(type="bool", default=True),
            forbid_reuse=dict(type="bool", default=True),
            mode=dict(type="str", choices=["audit", "rotate"], default="audit"),
            rotate_exclude=dict(type="list", elements="str", default=[]),
            rotate_only=dict(type="list", elements="str", default=[]),
            rotate_registered=dict(type="bool", default=True),
            generated_length=dict(type="int", default=28),
            return_credentials=dict(type="bool", default=False),
            backup=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    params = module.params
    if not HAS_ZXCVBN:
        module.fail_json(msg=missing_required_lib("zxcvbn (Debian: python3-zxcvbn)"),
                         exception=to_native(ZXCVBN_IMPORT_ERROR))
    registered_aors = None
    if params["mode"] == "rotate" and not params["rotate_registered"]:
        contacts, checked = query_contacts(module)
        if not checked:
            module.fail_json(msg="rotate_registered=false needs the running Asterisk to tell which phones "
                                 "are registered (pjsip show contacts), and it did not answer; nothing changed")
        # Any contact counts, reachable or not: a phone registered it and uses the secret.
        registered_aors = set(contacts)
    try:
        policy = SecretPolicy(min_length=params["min_length"],
                              min_entropy_bits=params["min_entropy_bits"],
                              forbid_dictionary=params["forbid_dictionary"],
                              forbid_username=params["forbid_username"],
                              forbid_reuse=params["forbid_reuse"],
                              generated_length=params["generated_length"])
        result, groups, credentials = run_audit(params["config_dir"], params["files"], policy,
                                                params["mode"], params["rotate_exclude"],
                                                params["rotate_only"], registered_aors)
    except AsteriskConfigError as exc:
        module.fail_json(msg=str(exc), filename=exc.filename, lineno=exc.lineno)
    except PolicyError as exc:
        module.fail_json(msg=str(exc))
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot read the configuration: %s" % to_native(exc))

    rotated = result.pop("_rotated_accounts")
    changes = changed_files(groups)
    result.update(changed=bool(changes), cut_off_registered=[], contacts_checked=False)
    if rotated:
        contacts, result["contacts_checked"] = query_contacts(module)
        result["cut_off_registered"] = cut_off(rotated, contacts)
    if module._diff:  # pylint: disable=protected-access
        result["diff"] = [dict(before=before, after=after, before_header=config.filename,
                               after_header=config.filename) for config, before, after in changes]
    if changes and not module.check_mode:
        encodings = [current_encoding(config) for config, _, _ in changes]
        moved = [config.filename for (config, _, _), enc in zip(changes, encodings) if enc is None]
        if moved:
            module.fail_json(msg="changed by someone else while being audited, nothing written: %s"
                             % ", ".join(moved))
        backups = {}
        for (config, _, _), encoding in zip(changes, encodings):
            if params["backup"]:
                backups[config.filename] = module.backup_local(config.filename)
            write_atomically(module, config.filename, config.render(), encoding)
        if backups:
            result["backup_files"] = backups
        if params["return_credentials"]:
            result["credentials"] = credentials
    module.exit_json(**result)


if __name__ == "__main__":
    main()
