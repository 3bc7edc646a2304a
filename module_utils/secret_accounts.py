# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The credentials of an Asterisk configuration, and their judgement: one implementation for the
module asterisk_secret_audit (which rotates the weak ones) and the audit's secret controls.

Accounts come from pjsip.conf (auth sections), pjsip_wizard.conf (inbound_auth/outbound_auth of
wizards that accept or send auth) and manager.conf (AMI users), read through asterisk_conf's
loader, wherever their sections live. A secret lives only in memory, on its Account.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import posixpath

from ansible.module_utils.asterisk_conf import ast_true, defining_section, last_value, resolve
from ansible.module_utils.pjsip_sections import WIZARD_AUTHS, wizard_auth_name
from ansible.module_utils.secret_policy import REASON_REUSED, SecretDigester, evaluate, find_reused


class Account(object):
    """One credential found in the configuration (the secret lives only here, in memory)."""

    def __init__(self, kind, obj, account_id, username, direction, secret, section, key,
                 where, hashed=False, endpoints=(), names=()):
        self.kind = kind
        self.object = obj
        self.id = account_id
        self.username = username
        self.direction = direction
        self.secret = secret
        self.section = section  # Section to write a new secret into
        self.key = key  # option name that holds the secret there
        self.file, self.line = where
        self.hashed = hashed
        self.endpoints = list(endpoints)  # (endpoint name, [aor names]) using it inbound
        self.names = [n for n in names if n]
        self.finding = None

    def public(self):
        return dict(object=self.object, id=self.id, kind=self.kind, username=self.username)


# -- reading ----------------------------------------------------------------------------------


def _split_list(values):
    out = []
    for value in values or []:
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out


def _concrete_sections(configs):
    for config in configs:
        for section in config.sections:
            if section.header is not None and not section.is_template and not section.is_addition:
                yield section


def _option_lineno(section, key):
    lines = [line for line in section.lines if line.kind == "option" and line.key.lower() == key]
    return lines[-1].lineno if lines else None


def _locate(section, key, configs):
    """(section to write a new value into, (file, line) of the effective value)."""
    holder = defining_section(configs, section, key)
    if holder is None:
        return section, (section.config.filename, section.lineno)
    where = (holder.config.filename, _option_lineno(holder, key.lower()) or holder.lineno)
    # A template is shared: the account gets its own override instead.
    owned = holder is section or holder.continues is section or (
        holder.is_addition and holder.name.lower() == section.name.lower())
    return (holder if owned else section), where


def is_manager_file(path):
    return posixpath.basename(path).lower().startswith("manager")


def _pjsip_references(pjsip_groups):
    """{auth name: [(endpoint, [aors])]} for inbound use, and the set of outbound auth names."""
    inbound, outbound = {}, set()
    for configs in pjsip_groups:
        for section in _concrete_sections(configs):
            kind = (section.type or "").lower()
            if kind not in ("endpoint", "registration"):
                continue
            effective = resolve(configs, section.name, type=kind)
            for auth in _split_list(effective.get("outbound_auth")):
                outbound.add(auth.lower())
            if kind == "endpoint":
                aors = _split_list(effective.get("aors"))
                for auth in _split_list(effective.get("auth")):
                    inbound.setdefault(auth.lower(), []).append((section.name, aors))
    return inbound, outbound


def collect_accounts(groups):
    """Every credential of the loaded files, as Account objects."""
    accounts = []
    pjsip_groups = [configs for path, configs in groups if not is_manager_file(path)]
    inbound_refs, outbound_refs = _pjsip_references(pjsip_groups)
    for path, configs in groups:
        if is_manager_file(path):
            accounts.extend(_ami_accounts(configs))
        else:
            accounts.extend(_auth_accounts(configs, inbound_refs, outbound_refs))
            accounts.extend(_wizard_accounts(configs))
    return accounts


def _auth_accounts(configs, inbound_refs, outbound_refs):
    for section in _concrete_sections(configs):
        if (section.type or "").lower() != "auth":
            continue
        effective = resolve(configs, section.name, type="auth")
        auth_type = (last_value(effective, "auth_type") or "").lower()
        if auth_type == "google_oauth":
            continue  # a refresh token for Google Voice, not a SIP secret
        secret = last_value(effective, "password")
        hashed = auth_type == "md5" or (not secret and bool(
            last_value(effective, "md5_cred") or last_value(effective, "password_digest")))
        username = last_value(effective, "username") or section.name
        users = inbound_refs.get(section.name.lower(), [])
        direction = "outbound" if section.name.lower() in outbound_refs and not users else "inbound"
        target, where = _locate(section, "password", configs)
        names = [username, section.name] + [endpoint for endpoint, _ in users]
        yield Account("pjsip_auth", section.name, section.name, username, direction,
                      None if hashed else (secret or ""), target, "password", where,
                      hashed=hashed, endpoints=users, names=names)


def _wizard_accounts(configs):
    for section in _concrete_sections(configs):
        if (section.type or "").lower() != "wizard":
            continue
        effective = resolve(configs, section.name, type="wizard")
        for direction in sorted(WIZARD_AUTHS):
            switch, prefix, _suffix = WIZARD_AUTHS[direction]
            if not ast_true(last_value(effective, switch)):
                continue  # Asterisk creates (or keeps) this auth only when the switch is on
            key = prefix + "password"
            auth_type = (last_value(effective, prefix + "auth_type") or "").lower()
            secret = last_value(effective, key)
            hashed = auth_type == "md5" or (not secret and bool(last_value(effective, prefix + "md5_cred")))
            username = last_value(effective, prefix + "username") or ""
            target, where = _locate(section, key, configs)
            endpoints = [(section.name, [section.name])] if direction == "inbound" else []
            yield Account("wizard", section.name, wizard_auth_name(section.name, direction), username, direction,
                          None if hashed else (secret or ""), target, key, where,
                          hashed=hashed, endpoints=endpoints, names=[username, section.name])


def _ami_accounts(configs):
    for section in _concrete_sections(configs):
        if section.name.lower() == "general":
            continue
        effective = resolve(configs, section.name)
        target, where = _locate(section, "secret", configs)
        yield Account("ami", section.name, "ami:" + section.name, section.name, "inbound",
                      last_value(effective, "secret") or "", target, "secret", where,
                      names=[section.name])


# -- judging ----------------------------------------------------------------------------------

def audit_accounts(accounts, policy):
    """Judge every account; returns the findings (and keeps each on its account)."""
    digester = SecretDigester()
    reused = find_reused(dict((a.id, digester.digest(a.secret) if a.secret else None)
                              for a in accounts))
    findings = []
    for account in accounts:
        if account.hashed:
            verdict = dict(reasons=[], entropy_bits=None, passed=True)
        else:
            verdict = evaluate(account.secret, account.names, policy)
        others = reused.get(account.id, [])
        if others and policy.forbid_reuse:
            verdict["reasons"].append(REASON_REUSED)
            verdict["passed"] = False
        account.finding = dict(
            file=account.file, line=account.line, object=account.object, id=account.id,
            kind=account.kind, direction=account.direction, username=account.username,
            reasons=verdict["reasons"], reused_with=others, entropy_bits=verdict["entropy_bits"],
            hashed=account.hashed, passed=verdict["passed"])
        findings.append(account.finding)
    return findings


def with_live_pjsip_auths(accounts, live_auths, users_of=None):
    """The accounts as the running res_pjsip has them: a PJSIP auth it loaded (a wizard's
    <name>-iauth or -oauth too) is judged by its loaded secret, not the files'; one that no file
    defines (realtime, a file outside /etc/asterisk) becomes an account of its own; one the files
    define but Asterisk did not load is left out (it answers nobody).

    live_auths: {name: {username, password, md5_cred, password_digest}}; users_of: {auth name:
    {endpoints using it}} of the loaded endpoints."""
    users_of = users_of or {}
    by_id = dict((a.id, a) for a in accounts if a.kind in ("pjsip_auth", "wizard"))
    out = [a for a in accounts if a.kind not in ("pjsip_auth", "wizard")]
    for name, loaded in sorted(live_auths.items()):
        hashed = not loaded.get("password") and bool(loaded.get("md5_cred") or loaded.get("password_digest"))
        users = sorted(users_of.get(name, ()))
        account = by_id.get(name)
        if account is None:
            username = loaded.get("username") or name
            account = Account("pjsip_auth", name, name, username, "inbound", None, None, "password",
                              ("the running Asterisk", None), endpoints=[(u, []) for u in users],
                              names=[name, username] + users)
        account.secret = None if hashed else (loaded.get("password") or "")
        account.hashed = hashed
        account.names = sorted(set(account.names) | set(users) | set([loaded.get("username") or name]))
        out.append(account)
    return out
