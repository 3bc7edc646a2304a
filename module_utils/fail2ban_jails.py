# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""fail2ban's jails as fail2ban itself reads them, and which of them could ban an admin network.

fail2ban options override, they do not add up: the last file that sets a jail's ignoreip wins, and
`%(known/ignoreip)s` fails where no earlier file set it (fail2ban 1.1.0). So the admin networks
reach an operator's jail (Debian enables [sshd]) as one ignoreip: what fail2ban reads for it
without voipguard's own file, then the admin networks. fail2ban's own reader gives that value
(`fail2ban-client -c DIR -d` on a scratch copy of the configuration), and the running server
(`fail2ban-client get JAIL ignoreip`) proves that it took effect.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ast
import ipaddress
import os
import re
import shutil
import tempfile


def parse_dump(text):
    """{jail: [ignoreip entries]} from `fail2ban-client -d`: each jail it would start, in order."""
    jails = {}
    for line in text.splitlines():
        if not line.startswith("["):
            continue   # fail2ban's own warnings share the output
        try:
            command = ast.literal_eval(line)
        except (SyntaxError, ValueError):
            continue
        if not isinstance(command, list) or len(command) < 3:
            continue
        if command[0] == "add":
            jails.setdefault(command[1], [])
        elif command[0] == "set" and command[2] == "addignoreip":
            jails.setdefault(command[1], []).extend(str(entry) for entry in command[3:])
    return jails


def parse_jail_list(text):
    """The jail names of `fail2ban-client status` ("Jail list:\tsshd, voipguard-asterisk")."""
    match = re.search(r"Jail list:\s*(.*)", text)
    return [name.strip() for name in (match.group(1) if match else "").split(",") if name.strip()]


def parse_actions(text):
    """The action names of `fail2ban-client get JAIL actions` ("...actions:\nnftables, mail")."""
    _header, _sep, names = text.partition("actions:")
    return [name.strip() for name in names.split(",") if name.strip()]


# The actions of a jail that bans nothing: the phones' watch jail only alerts (an office behind
# NAT must not be banned), so which addresses it ignores does not matter for a lockout.
ALERT_ONLY_ACTIONS = frozenset(["voipguard-phone-alert"])


def bans_nothing(actions):
    return bool(actions) and set(actions) <= ALERT_ONLY_ACTIONS


def parse_ignoreip_status(text):
    """The entries of `fail2ban-client get JAIL ignoreip` ("|- 10.0.0.0/8", "`- ::1" lines)."""
    return [match.group(1) for match in re.finditer(r"^\s*[|`]-\s*(\S+)\s*$", text, re.M)]


def _network(entry):
    # fail2ban prints 0.0.0.0/0 and ::/0 as the bare address (its IPAddr drops a zero prefix).
    entry = {"0.0.0.0": "0.0.0.0/0", "::": "::/0"}.get(entry, entry)
    try:
        return ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return None    # a host name: fail2ban resolves it, we cannot say what it covers


def uncovered(networks, ignoreip):
    """The networks that no ignoreip entry holds whole."""
    entries = [net for net in map(_network, ignoreip) if net is not None]
    missing = []
    for network in networks:
        wanted = ipaddress.ip_network(network, strict=False)
        if not any(net.version == wanted.version and wanted.subnet_of(net) for net in entries):
            missing.append(network)
    return missing


def jails_without_own_file(module, config_dir, own_file):
    """{jail: ignoreip} as fail2ban reads config_dir with own_file (relative) left out, from a
    scratch copy whose symbolic links are copied as files: nothing under config_dir is touched.
    A configuration fail2ban could not start with fails here, before anything changes."""
    if os.path.isabs(own_file) or ".." in own_file.split("/"):
        module.fail_json(msg="own_file must be a path inside %s, not %s" % (config_dir, own_file))
    scratch = tempfile.mkdtemp(prefix="voipguard-fail2ban-")
    try:
        copy = os.path.join(scratch, "fail2ban")
        shutil.copytree(config_dir, copy, symlinks=False, ignore_dangling_symlinks=True)
        own = os.path.join(copy, own_file)
        if os.path.lexists(own):
            os.unlink(own)
        rc, out, err = module.run_command(["fail2ban-client", "-c", copy, "--test"])
        if rc == 0:
            rc, out, err = module.run_command(["fail2ban-client", "-c", copy, "-d"])
        if rc != 0:
            problem = (err or out).strip()[-2000:].replace(copy, config_dir)
            live_rc = module.run_command(["fail2ban-client", "-c", config_dir, "--test"])[0]
            if live_rc == 0:
                module.fail_json(msg="fail2ban reads %s only with %s: a file read after it refers to a "
                                 "value it sets (%%(known/...)s); set that value in the file itself. "
                                 "Nothing was changed. fail2ban said: %s" % (config_dir, own_file, problem))
            module.fail_json(msg="fail2ban cannot start with its configuration in %s (nothing was "
                             "changed): %s" % (config_dir, problem))
        return parse_dump(out)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def running_jails(ask):
    """({jail: ignoreip}, [jails that ban nothing]) of the running fail2ban server, for the module
    and the audit alike. ask(words) runs `fail2ban-client WORDS` and returns what it printed; what
    a failure means (a failed run, a control that does not apply) is the caller's."""
    jails, alert_only = {}, []
    for name in parse_jail_list(ask(["status"])):
        if bans_nothing(parse_actions(ask(["get", name, "actions"]))):
            alert_only.append(name)
        else:
            jails[name] = parse_ignoreip_status(ask(["get", name, "ignoreip"]))
    return jails, alert_only


def unprotected_jails(jails, networks):
    """{jail: [the networks it could ban]} of jails ({jail: ignoreip}), for those that could."""
    found = {}
    for name, ignoreip in jails.items():
        missing = uncovered(networks, ignoreip)
        if missing:
            found[name] = missing
    return found
