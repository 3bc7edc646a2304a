# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Judge the operator's variables before a run changes anything. Pure functions: no Ansible.

Each check takes the variable's name and value and returns a list of problems, each naming the
variable (and the item, for lists), so that a typo in the inventory stops the run with a
message that says where it is. Networks and addresses are judged by Python's ipaddress, the
way nftables and Asterisk's ACLs will read them: a regular expression lets 10.0.0.300/24 or
/33 through.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import logging
import re

try:
    import apprise
    HAS_APPRISE = True
except ImportError:  # the controller's venv has it (requirements.txt); judged by form without
    HAS_APPRISE = False

# A PJSIP section name as it can stand in a header, an endpoint= line and the dialplan.
_NAME = re.compile(r"^[^\s\[\](),;=#\\\"']{1,80}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")

KINDS = ("networks", "network", "address", "addresses", "port", "ports", "name", "names",
         "country", "countries", "path", "alert_url", "alert_urls", "seconds", "port_range")
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://\S+$")


def _text(value):
    return value if isinstance(value, str) else None


def _as_list(variable, value):
    if isinstance(value, (list, tuple)):
        return list(value), []
    return [], ["%s must be a list, not %s" % (variable, type(value).__name__)]


def check_network(variable, value):
    text = _text(value)
    try:
        if text is None or not text.strip():
            raise ValueError("not a string")
        network = ipaddress.ip_network(text.strip(), strict=False)
    except ValueError as exc:
        return ["%s: %r is not an IP network (address/prefix): %s" % (variable, value, exc)]
    if "/" in text and not text.split("/", 1)[1].strip().isdigit():
        # nft's grammar takes a prefix length after the '/', and fail2ban's ignoreip no hostmask.
        return ["%s: %r: write the prefix length (%s), not a netmask: nftables and fail2ban read no "
                "netmask" % (variable, value, network.with_prefixlen)]
    return _ipv4_mapped(variable, value, network.network_address)


def check_address(variable, value):
    text = _text(value)
    try:
        if text is None:
            raise ValueError("not a string")
        address = ipaddress.ip_address(text.strip())
    except ValueError as exc:
        return ["%s: %r is not an IP address: %s" % (variable, value, exc)]
    return _ipv4_mapped(variable, value, address)


def _ipv4_mapped(variable, value, address):
    """An IPv4-mapped IPv6 address (::ffff:198.51.100.7) matches no packet: IPv4 packets carry the
    IPv4 address, which an ip6 rule never sees (and fail2ban's ignoreip does not cover)."""
    mapped = getattr(address, "ipv4_mapped", None)
    if mapped is None:
        return []
    return ["%s: %r is an IPv4-mapped IPv6 address, which no IPv4 packet carries: write the IPv4 "
            "address (%s)" % (variable, value, mapped)]


def check_port(variable, value):
    if isinstance(value, bool) or not str(value).isdigit() or not 1 <= int(value) <= 65535:
        return ["%s: %r is not a port (1 to 65535)" % (variable, value)]
    return []


def check_port_range(variable, value):
    """[first, last]: two ports, the first not above the last."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return ["%s: %r is not a port range [first, last]" % (variable, value)]
    problems = check_port(variable + "[0]", value[0]) + check_port(variable + "[1]", value[1])
    if not problems and int(value[0]) > int(value[1]):
        problems.append("%s: the first port %s is above the last %s" % (variable, value[0], value[1]))
    return problems


def check_seconds(variable, value):
    if isinstance(value, bool) or not str(value).strip().isdigit():
        return ["%s: %r is not a number of seconds (0 or more)" % (variable, value)]
    return []


def check_name(variable, value):
    if not isinstance(value, str) or not _NAME.match(value):
        return ["%s: %r is not an Asterisk object name (1 to 80 characters, no blanks, "
                "brackets, parentheses, commas, semicolons, '=', '#', quotes or backslashes)" % (variable, value)]
    return []


def check_country(variable, value):
    if not isinstance(value, str) or not _COUNTRY.match(value):
        return ["%s: %r is not an ISO 3166 country code (two capital letters, e.g. DE)" % (variable, value)]
    return []


def check_path(variable, value):
    if not isinstance(value, str) or not value.startswith("/") or "\n" in value:
        return ["%s: %r is not an absolute path" % (variable, value)]
    return []


def check_alert_url(variable, value):
    """An Apprise URL the alert notifier can send to, judged by Apprise itself. The URL holds
    tokens (secrets): a problem names the scheme only, and Apprise's own log is silenced."""
    match = _URL_SCHEME.match(value) if isinstance(value, str) else None
    if not match:
        return ["%s is not an Apprise URL (scheme://..., e.g. mailto://, slack://, json://)" % variable]
    if HAS_APPRISE:
        logging.getLogger("apprise").disabled = True
        if not apprise.Apprise().add(value):
            return ["%s: Apprise cannot send to this %s:// URL (unknown service or a part "
                    "missing; see https://github.com/caronc/apprise/wiki)" % (variable, match.group(1))]
    return []


_SINGLE = {"network": check_network, "address": check_address, "port": check_port,
           "name": check_name, "country": check_country, "path": check_path,
           "alert_url": check_alert_url, "seconds": check_seconds, "port_range": check_port_range}
_PLURAL = {"networks": "network", "addresses": "address", "ports": "port", "names": "name",
           "countries": "country", "alert_urls": "alert_url"}


def check(variable, kind, value, required=False):
    """Problems of one variable of a kind in KINDS; plural kinds take a list."""
    if value is None or (value == "" and kind not in _PLURAL) or value == []:
        return ["%s is required" % variable] if required else []
    if kind in _PLURAL:
        items, problems = _as_list(variable, value)
        for index, item in enumerate(items):
            problems.extend(_SINGLE[_PLURAL[kind]]("%s[%d]" % (variable, index), item))
        return problems
    if kind not in _SINGLE:
        raise ValueError("unknown kind %r" % kind)
    return _SINGLE[kind](variable, value)


def check_trunks(variable, trunks):
    """voipguard_trunks: a list of {name, endpoint, addresses}, each name and each endpoint once
    (the guard counts, caps and loops a trunk by its name, and an endpoint is one trunk)."""
    items, problems = _as_list(variable, trunks if trunks is not None else [])
    first = {}
    for index, trunk in enumerate(items):
        where = "%s[%d]" % (variable, index)
        if not isinstance(trunk, dict):
            problems.append("%s must be a mapping with name, endpoint and addresses" % where)
            continue
        for key in ("name", "endpoint"):
            found = check(where + "." + key, "name", trunk.get(key), required=True)
            problems.extend(found)
            if not found and (key, trunk[key]) in first:
                problems.append("%s.%s: %s is %s's %s already; each trunk once" % (
                    where, key, trunk[key], first[(key, trunk[key])], key))
            first.setdefault((key, trunk.get(key)), where)
        problems.extend(check(where + ".addresses", "networks", trunk.get("addresses"), required=True))
    return problems


def check_all(checks):
    """checks: [{variable, kind, value, required}] (kind 'trunks' for voipguard_trunks)."""
    problems = []
    for item in checks:
        if item.get("kind") == "trunks":
            problems.extend(check_trunks(item["variable"], item.get("value")))
        else:
            problems.extend(check(item["variable"], item["kind"], item.get("value"), bool(item.get("required"))))
    return problems


# voipguard_validate's options: the module (library/) and its action plugin (action_plugins/),
# which runs the same checks on the controller, read them from here.
VALIDATE_ARGUMENT_SPEC = dict(checks=dict(type="list", elements="dict", required=True, options=dict(
    variable=dict(type="str", required=True),
    kind=dict(type="str", required=True, choices=list(KINDS) + ["trunks"]),
    value=dict(type="raw"),
    required=dict(type="bool", default=False),
)))
