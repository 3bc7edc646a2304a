# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare what the running Asterisk has loaded with the configuration on disk.

A file that was hardened but never reloaded protects nothing: the running Asterisk keeps the
old endpoints, passwords and AMI settings. These functions read the running state through the
Asterisk CLI (``cli(command) -> text or None``, supplied by the caller: ``asterisk -rx`` in the
module, the audit's SSH connection in the audit) and the disk state through asterisk_conf, and
list every difference. One implementation for the module (which reloads on drift) and the
audit's drift control.

No secret ever leaves: passwords are compared by secret_policy's keyed digests (random key per call),
and a drift line only says that an auth's password differs.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.asterisk_conf import ast_true, iter_sections, last_value, parse, resolve
from ansible.module_utils.secret_policy import SecretDigester
from ansible.module_utils.pjsip_sections import OWN_ENDPOINT_PREFIX

# dial_policy.GUARD_CONTEXT_PREFIX; not imported: this module runs on the PBX, where the policy's
# numbering (phonenumbers) is not installed. A unit test keeps the two equal.
GUARD_CONTEXT_PREFIX = "voipguard-guard-"

# What each area's drift is cured by (Asterisk CLI commands; reload, never restart).
RELOADS = {
    "pjsip": "module reload res_pjsip.so",
    "manager": "manager reload",
    "dialplan": "dialplan reload",
}

# The id stops at the "/" before the caller id (which may hold blanks) or at a blank.
_ENDPOINT_LINE = re.compile(r"^\s*Endpoint:\s+([^\s/]+)")
_AUTH_LINE = re.compile(r"^\s*Auth:\s+([^\s/]+)")
_AOR_LINE = re.compile(r"^\s*Aor:\s+([^\s<]\S*)\s+(\d+)\s*$")
_PARAM_LINE = re.compile(r"^\s*(\S+)\s+:\s?(.*)$")
_CONTEXT_LINE = re.compile(r"^\[ Context '([^']+)' created by '([^']+)' \]")
_BIND_LINE = re.compile(r"^\s*TCP Bindaddress:\s+(\S+)")
_ACL_RULE = re.compile(r"^\s*\d+:\s+(allow|deny)\s+-\s+(\S+)")
_ENABLED_LINE = re.compile(r"^\s*Manager \(AMI\):\s+(\S+)")
_DEFAULT_AMI_PORT = "5038"


def module_cli(module, binary, config=None):
    """cli(command) -> text, or None when Asterisk does not answer, through ``asterisk -rx`` run
    by an AnsibleModule: the modules' side of the ``cli`` the functions below take. ``config``:
    another Asterisk's asterisk.conf (``-C``), whose control socket it names."""
    def run(command):
        rc, out, _ = module.run_command([binary] + (["-C", config] if config else []) + ["-rx", command],
                                        environ_update={"LANG": "C"})
        return out if rc == 0 and "Unable to connect to remote asterisk" not in out else None
    return run


def asked_once(cli):
    """cli, each command's answer kept: a module that reads one listing for two judgements asks once."""
    answers = {}

    def ask(command):
        if command not in answers:
            answers[command] = cli(command)
        return answers[command]
    return ask


def parse_endpoint_names(text):
    """Names from ``pjsip show endpoints``."""
    names = []
    for line in (text or "").splitlines():
        match = _ENDPOINT_LINE.match(line)
        if match and not match.group(1).startswith("<"):
            names.append(match.group(1))
    return names


def parse_aor_limits(text):
    """{aor: max_contacts} from ``pjsip show aors`` (or the Aor lines of ``pjsip show endpoints``)."""
    out = {}
    for line in (text or "").splitlines():
        match = _AOR_LINE.match(line)
        if match:
            out[match.group(1)] = int(match.group(2))
    return out


def parse_auth_names(text):
    """Names from ``pjsip show auths``."""
    return [m.group(1) for m in (_AUTH_LINE.match(line) for line in (text or "").splitlines())
            if m and not m.group(1).startswith("<")]


def parse_parameters(text):
    """{parameter: value} from ``pjsip show endpoint X`` / ``pjsip show auth X``."""
    out = {}
    started = False
    for line in (text or "").splitlines():
        if line.strip().startswith("ParameterName"):
            started = True
            continue
        match = _PARAM_LINE.match(line) if started else None
        if match and not match.group(1).startswith("="):
            out[match.group(1).lower()] = match.group(2).strip()
    return out


def parse_manager_users(text):
    """Usernames from ``manager show users``."""
    lines = [line.strip() for line in (text or "").splitlines()]
    if "username" not in lines:
        return []
    users = []
    for line in lines[lines.index("username") + 1:]:
        if not line or set(line) == {"-"}:
            if users:
                break
            continue
        if line.endswith("manager users configured."):
            break
        users.append(line)
    return users


def parse_manager_user(text):
    """``manager show user NAME`` -> {'write': set of classes, 'read': set, 'acl': [(allow|deny,
    network)]}; None when the output names no user."""
    user = {"write": set(), "read": set(), "acl": []}
    found = False
    for line in (text or "").splitlines():
        key, _, value = line.partition(":")
        key = key.strip().lower()
        if key == "username":
            found = True
        elif key in ("write perm", "read perm"):
            user[key.split()[0]] = set(p.strip().lower() for p in value.split(",") if p.strip())
        else:
            match = _ACL_RULE.match(line)
            if match:
                user["acl"].append((match.group(1), match.group(2)))
    return user if found else None


def parse_manager_settings(text):
    """{'enabled': bool, 'bind': 'addr:port' or None} from ``manager show settings``."""
    enabled, bind = None, None
    for line in (text or "").splitlines():
        match = _ENABLED_LINE.match(line)
        if match:
            enabled = ast_true(match.group(1))
        match = _BIND_LINE.match(line)
        if match:
            bind = match.group(1)
    return {"enabled": enabled, "bind": bind}


def parse_dialplan_contexts(text):
    """Every context of the running dialplan, from ``dialplan show``, whoever created it."""
    return sorted(set(m.group(1) for m in (_CONTEXT_LINE.match(line) for line in (text or "").splitlines()) if m))


def parse_config_contexts(text):
    """Contexts loaded from extensions.conf (pbx_config), from ``dialplan show``."""
    return sorted(set(m.group(1) for m in (_CONTEXT_LINE.match(line) for line in (text or "").splitlines())
                      if m and m.group(2) == "pbx_config"))



# The lines of ``dialplan show`` (pbx.c, show_dialplan_helper): an extension's first priority,
# "  '_9X.' =>  1. Dial(...)  [extensions.conf:12]" ("'s' (CID match '123') =>" with a caller-ID
# match), each later one "     [label]   2. App(data)  [pbx_ael]", and "  Include =>  'ctx'  [registrar]",
# "  Alt. Switch =>  'Lua/'  [registrar]". Where a line comes from closes it: file:line for what
# a file defined (pbx_config), a registrar for the rest.
_LISTED_EXTENSION = re.compile(r"^  '(?P<name>[^']*)'(?: \(CID match '(?P<cid>[^']*)'\))? =>\s*(?P<rest>.*)$")
_LISTED_PRIORITY = re.compile(r"^(?:\[(?P<label>[^\]]*)\]\s+)?(?P<priority>\d+)\. (?P<application>.*)$")
_LISTED_ITEM = re.compile(r"^  (?P<kind>Include|Alt\. Switch) =>\s+'(?P<value>.*)'$")
_LISTED_WHERE = re.compile(r"^(?P<body>.*?)\s+\[(?P<where>[^\[\]]*)\]\s*$")
_FROM_A_FILE = re.compile(r":\d+$")
_GLOBAL_LINE = re.compile(r"^   (?P<name>[^=\s]+)=(?P<value>.*)$")
# show_dialplan_helper prints a priority into a buffer of 1024 bytes: a longer one is cut short.
_LISTED_PRIORITY_SIZE = 1023
# The running dialplan as two configurations the dialplan reading takes (dialplan_audit).
RUNNING_DIALPLAN = "asterisk -rx 'dialplan show'"
RUNNING_GLOBALS = "asterisk -rx 'dialplan show globals'"
# What a priority cut short is read as: a switch, whose dialing nobody can read.
CUT_SHORT = "a priority 'dialplan show' cuts short at %d characters" % _LISTED_PRIORITY_SIZE


def context_header(line):
    """The context a ``dialplan show`` line opens ("[ Context 'demo' created by 'pbx_config' ]"), or None."""
    header = _CONTEXT_LINE.match(line)
    return header.group(1) if header else None


def listed_dialplan(listing):
    """Each line of ``dialplan show``, read: (context, its creator, kind, fields, origin). kind is
    'context' (its header), 'priority' (fields: extension, priority, label, application; a
    priority cut short at _LISTED_PRIORITY_SIZE has application None), 'include' or 'switch'
    (fields: the context or switch), or None for any other line (a hint, an ignore pattern, a
    blank, the count at the end); origin is file:line for what a file defined, else the registrar."""
    context, creator, extension = None, None, None
    for line in (listing or "").splitlines():
        header = _CONTEXT_LINE.match(line)
        if header:
            context, creator, extension = header.group(1), header.group(2), None
            yield context, creator, "context", (), None
            continue
        where = _LISTED_WHERE.match(line) if context is not None else None
        if not where:
            yield context, creator, None, (), None
            continue
        body, origin = where.group("body"), where.group("where")
        first = _LISTED_EXTENSION.match(body)
        if first:
            extension = first.group("name") + ("/" + first.group("cid") if first.group("cid") else "")
            body = first.group("rest")
        item = _LISTED_ITEM.match(body)
        priority = _LISTED_PRIORITY.match(body.strip())
        if item:
            kind = "include" if item.group("kind") == "Include" else "switch"
            yield context, creator, kind, (item.group("value"),), origin
        elif priority and extension is not None:
            application = priority.group("application") if len(body.strip()) < _LISTED_PRIORITY_SIZE else None
            yield context, creator, "priority", (extension, priority.group("priority"), priority.group("label"),
                                                 application), origin
        else:
            yield context, creator, None, (), origin


def running_dialplan(listing, globals_listing=None, left_out=()):
    """What the running dialplan holds beyond extensions.conf and the files it includes, from
    ``dialplan show`` (and ``dialplan show globals``): the contexts, extensions, includes and
    switches that pbx_ael (extensions.ael), pbx_lua (extensions.lua: a 'Lua/' switch in each of
    its contexts, even one extensions.conf defines), res_parking or any other module registered,
    as configurations in extensions.conf's own syntax for dialplan_audit to read. Its lines keep
    the numbers of the listing's (what a finding names). Configurations: [globals] with the
    running values first (they win over the files', as Asterisk substitutes them; left out when
    ``globals_listing`` is None), then the dialplan. A priority the listing cuts short reads as a switch (CUT_SHORT): not understood.
    ``left_out``: modules (pbx_lua.so) whose lines are not read: a run switches them off."""
    left_out = set(module[:-len(".so")] if module.endswith(".so") else module for module in left_out)
    out, header, written = [], None, None
    for context, _creator, kind, fields, origin in listed_dialplan(listing):
        out.append("")
        if kind == "context":
            header, written = len(out) - 1, None
            continue
        if kind is None:
            continue
        if origin == "pbx_config" or _FROM_A_FILE.search(origin) or origin in left_out:
            written = None  # read from the files themselves, or soon gone
            continue
        if kind in ("include", "switch"):
            out[-1], written = "%s => %s" % (kind, fields[0]), None
        elif fields[3] is None:
            out[-1], written = "switch => %s" % CUT_SHORT, None
        else:
            extension, priority, label, application = fields
            step = "%s%s,%s" % (priority, "(%s)" % label if label else "", application)
            # 'same' keeps one extension one (an earlier priority's REGEX() check counts).
            out[-1] = "same => " + step if written == extension else "exten => %s,%s" % (extension, step)
            written = extension
        if header is not None:
            out[header], header = "[%s]" % context, None
    configs = [parse("\n".join(out) + "\n", RUNNING_DIALPLAN)]
    if globals_listing is not None:  # unread, the files' [globals] stand
        configs.insert(0, parse("[globals]\n" + "".join(
            "%s = %s\n" % (m.group("name"), m.group("value").replace(";", "\\;"))
            for m in (_GLOBAL_LINE.match(line) for line in globals_listing.splitlines()) if m), RUNNING_GLOBALS))
    for config in configs:
        config.running = True  # what a finding prefers a file's line to (dialplan_audit.audit's DP003)
    return configs


def read_running_dialplan(cli, left_out=()):
    """running_dialplan() of the Asterisk cli(command) asks; None when it does not answer."""
    listing = cli("dialplan show")
    return None if listing is None else running_dialplan(listing, cli("dialplan show globals"), left_out)


def realtime_objects(sorcery_configs):
    """PJSIP object types sorcery.conf maps to realtime: their objects are not in the files."""
    kinds = set()
    for section in iter_sections(sorcery_configs):
        if section.name.lower() == "res_pjsip":
            for key, value in section.options:
                if "realtime" in value.lower():
                    kinds.add(key.split("/")[0].strip().lower())
    return kinds


def defined_endpoints(pjsip, wizard=()):
    """The endpoints the PJSIP files define: the concrete endpoint sections of pjsip.conf (with its
    includes), and one per wizard of pjsip_wizard.conf (res_pjsip_config_wizard makes an endpoint
    of every ``type = wizard`` section). Realtime endpoints are in no file. One list for the
    reload's judgement (asterisk_reload) and the drift (here)."""
    return sorted(set([s.name for s in iter_sections(pjsip, "endpoint")]
                      + [s.name for s in iter_sections(wizard, "wizard")]))


def endpoints_outside_files(listing, file_endpoints):
    """Names the running Asterisk lists (``pjsip show endpoints``) that no pjsip.conf section
    defines (pjsip_wizard.conf, realtime), voipguard's own aside: phones the audit (VOIP-TF-001)
    and asterisk_guard_coverage (at the end of every harden.yml run) judge by their running context."""
    defined = set(file_endpoints)
    return sorted(name for name in parse_endpoint_names(listing)
                  if name not in defined and not name.startswith(OWN_ENDPOINT_PREFIX))


def phone_contexts(contexts, skip=()):
    """The operator's contexts the phones dial in, from {endpoint: context}: trunks and exempt
    endpoints (skip) and voipguard's own left out, and a guard context read as the operator's
    context behind it (where an earlier run pointed the phone)."""
    return sorted(set(
        context[len(GUARD_CONTEXT_PREFIX):] if context.startswith(GUARD_CONTEXT_PREFIX) else context
        for name, context in contexts.items()
        if name not in skip and not name.startswith(OWN_ENDPOINT_PREFIX)))


def unguarded_reasons(contexts, running_contexts, exempt=(), trunk_leg_checked=False):
    """Why each phone's calls could reach the dialplan without passing the guard, from
    {endpoint: its context} and the running dialplan's contexts: the audit's VOIP-TF-001 and
    asterisk_guard_coverage, one judgement. A phone the operator exempted from the guard
    (toll_fraud_guard_exempt_endpoints) passes only while trunk_leg_checked: the trunk boundary
    judges every call it sends to a trunk."""
    reasons = []
    for name, context in sorted(contexts.items()):
        if not context:
            continue  # set empty: no context, nothing it can dial (res_pjsip_session finds no extension)
        if name in exempt and not context.startswith(GUARD_CONTEXT_PREFIX):
            if not trunk_leg_checked:
                reasons.append("endpoint %s is exempted from the guard, and no trunk boundary checks "
                               "its calls to the trunk" % name)
        elif not context.startswith(GUARD_CONTEXT_PREFIX):
            reasons.append("endpoint %s dials in context %s, not through a guard" % (name, context))
        elif context not in running_contexts:
            reasons.append("endpoint %s uses guard context %s, missing from the running dialplan"
                           % (name, context))
    return reasons


def pjsip_drift(pjsip, wizard, cli, realtime=()):
    """Differences between the PJSIP files (pjsip.conf configs, pjsip_wizard.conf configs) and the
    running res_pjsip. [] when they agree; None entries never occur (lines are plain text)."""
    drift = []
    disk_endpoints = dict((s.name, resolve(pjsip, s.name, "endpoint"))
                          for s in iter_sections(pjsip, "endpoint"))
    defined = set(defined_endpoints(pjsip, wizard))
    listing = cli("pjsip show endpoints")
    if listing is None:
        return ["the running Asterisk does not answer 'pjsip show endpoints'"]
    live = set(parse_endpoint_names(listing))
    for name in sorted(set(disk_endpoints) - live):
        drift.append("endpoint %s is in the files but not loaded" % name)
    if "endpoint" not in realtime:
        for name in sorted(live - defined):
            drift.append("endpoint %s is loaded but in no file" % name)
    for name in sorted(set(disk_endpoints) & live):
        shown = parse_parameters(cli("pjsip show endpoint %s" % name))
        want = last_value(disk_endpoints[name], "context", "default")
        running = shown.get("context")
        if running is not None and running != want:
            drift.append("endpoint %s runs in context %s, the files say %s" % (name, running, want))
        # The trunk boundary is an outbound_proxy: a trunk that does not loop is money unguarded.
        want = last_value(disk_endpoints[name], "outbound_proxy", "")
        running = shown.get("outbound_proxy")
        if running is not None and running != want:
            drift.append("endpoint %s sends through outbound_proxy %s, the files say %s"
                         % (name, running or "(none)", want or "(none)"))
    digest = SecretDigester().digest
    disk_auths = dict((s.name, resolve(pjsip, s.name, "auth")) for s in iter_sections(pjsip, "auth"))
    live_auths = set(parse_auth_names(cli("pjsip show auths")))
    for name in sorted(disk_auths):
        if name not in live_auths:
            drift.append("auth %s is in the files but not loaded" % name)
            continue
        running = parse_parameters(cli("pjsip show auth %s" % name))
        for key in ("password", "md5_cred", "username"):
            want = last_value(disk_auths[name], key, "")
            if key == "username" and not want:
                continue  # Asterisk falls back to the section name; nothing to compare
            if digest(running.get(key) or "") != digest(want):
                drift.append("auth %s: the running %s differs from the files" % (name, key))
    return drift


def manager_drift(manager, cli):
    """Differences between manager.conf (with its includes) and the running AMI."""
    drift = []
    general = resolve(manager, "general")
    want_enabled = ast_true(last_value(general, "enabled", "no"))
    settings = parse_manager_settings(cli("manager show settings"))
    if settings["enabled"] is None:
        return ["the running Asterisk does not answer 'manager show settings'"]
    if settings["enabled"] != want_enabled:
        drift.append("the AMI is %s, manager.conf says enabled = %s"
                     % ("on" if settings["enabled"] else "off", last_value(general, "enabled", "no")))
    if want_enabled and settings["enabled"]:
        want_bind = "%s:%s" % (last_value(general, "bindaddr", "0.0.0.0"), last_value(general, "port", _DEFAULT_AMI_PORT))
        if settings["bind"] != want_bind:
            drift.append("the AMI listens on %s, manager.conf says %s" % (settings["bind"], want_bind))
    disk_users = set(s.name for s in iter_sections(manager) if s.name.lower() != "general")
    live_users = set(parse_manager_users(cli("manager show users")))
    if want_enabled and settings["enabled"]:
        for name in sorted(disk_users - live_users):
            drift.append("AMI user %s is in the files but not loaded" % name)
        for name in sorted(live_users - disk_users):
            drift.append("AMI user %s is loaded but in no file" % name)
    return drift


def dialplan_drift(extensions, cli, prefix):
    """Contexts named ``prefix``* in extensions.conf (with its includes) that the running
    dialplan lacks, or has without a file: the contexts voipguard owns."""
    disk = set(s.name for s in iter_sections(extensions) if s.name.startswith(prefix))
    listing = cli("dialplan show")
    if listing is None:
        return ["the running Asterisk does not answer 'dialplan show'"]
    live = set(c for c in parse_config_contexts(listing) if c.startswith(prefix))
    return (["dialplan context %s is in the files but not loaded" % c for c in sorted(disk - live)]
            + ["dialplan context %s is loaded but in no file" % c for c in sorted(live - disk)])


def drift_by_area(load_config, cli, context_prefix="voipguard-", areas=("pjsip", "manager", "dialplan")):
    """{area: [differences]} for the areas whose files exist. ``load_config(name)`` returns the
    parsed configs of one top-level file ([] when it does not exist)."""
    out = {}
    if "pjsip" in areas and load_config("pjsip.conf"):
        realtime = realtime_objects(load_config("sorcery.conf"))
        out["pjsip"] = pjsip_drift(load_config("pjsip.conf"), load_config("pjsip_wizard.conf"), cli, realtime)
    if "manager" in areas and load_config("manager.conf"):
        out["manager"] = manager_drift(load_config("manager.conf"), cli)
    if "dialplan" in areas and load_config("extensions.conf"):
        out["dialplan"] = dialplan_drift(load_config("extensions.conf"), cli, context_prefix)
    return out
