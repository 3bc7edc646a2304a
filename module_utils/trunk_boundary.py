# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The trunk leg as the money boundary: plan the loop through the PBX's own SIP transport.

Every INVITE res_pjsip sends for a trunk endpoint goes to the endpoint's outbound_proxy, whatever
made the channel (a phone's Dial, a transfer, a forward, a Local channel, AMI or CLI Originate, a
call file, DISA, ARI): chan_pjsip sets up every outgoing dialog from the endpoint's options, not
from the dialplan. Pointed at this PBX's own UDP
transport, the INVITE comes back in, is identified by its source address and port as the endpoint
voipguard-egress, and runs the guard's check in dialplan context voipguard-egress before a copy
of the trunk endpoint without the loop (voipguard-trunk-<endpoint>) dials the carrier. The trunk's
name travels as the user part of the proxy URI, which stays in the Route header.

With the boundary instance (instance_port), the copy no longer dials the carrier itself: its
outbound_proxy is a second Asterisk on this host (user voipguard-boundary, port instance_port),
which alone holds the trunk's real copy and judges every number again with the same verdict
tables before it dials the carrier. The host firewall then stops the main Asterisk from sending
an INVITE to a carrier's address at all, so a channel addressed to the carrier past the loop (the
copy dialed by name, a request URI on any endpoint) meets the judgement or the firewall.

The loop's own values follow the operator's lines where the trunk is defined (their lines stay, in
place and in the copy; switched off, only the loop's go): the trunk's aors name an aor of the loop's
own (voipguard-loop-<endpoint>, this PBX's address), so the operator's aor is the copy's alone and
is qualified by the copy, straight to the carrier. Shared with the trunk, its OPTIONS took the loop
and this Asterisk answered them: a carrier gone dark stayed "Avail", and a call to it waited 30 s
for its timeout instead of failing at once (lab), which a second trunk's failover needs.
A trunk on a TCP or TLS transport loops over a UDP transport of the PBX too: the loop appends
``transport =`` (empty) to the trunk endpoint, and the copy keeps the operator's transport. Set to
the UDP transport instead, the trunk would send its in-dialog requests of the carrier's inbound
calls (the PBX's BYE) over UDP to the carrier's TLS port, where they are lost (lab: the
carrier's channel stayed up); with none, res_pjsip sends them where the carrier's Contact says,
over the connection the call came in on. A trunk with SDES-SRTP
(media_encryption = sdes) makes the egress endpoint accept SRTP and RTP.

Cost: one more channel pair and one more SIP/RTP hop over loopback per outgoing trunk call
(two with the boundary instance).
Limits: the loop needs a UDP transport the PBX listens on; a trunk on a WebSocket transport, with
a sips: contact (res_pjsip sends a sips: request over TLS on every hop, and sends nothing over the
loop) or with DTLS-SRTP is refused; with the boundary instance, trunks on UDP without media
encryption only. The PBX must identify by IP first (endpoint_identifier_order), or the looped
INVITE could be taken for the phone whose name is in its From header; and no identify of the
operator's may match the address the loop comes from (res_pjsip tries identifies in no fixed order).

A trunk that pjsip_wizard.conf makes is looped in its wizard section (endpoint/outbound_proxy),
and its copy names the aor and auths the wizard makes (res_pjsip_config_wizard's handle_endpoint:
aors = the wizard's name, outbound_auth = <name>-oauth); the boundary instance holds the aor the
wizard makes (handle_aor) and its outbound auth (copied on the host by asterisk_auth_copy).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import os
import re

from ansible.module_utils.asterisk_conf import ast_true, last_value, placeholder_type
from ansible.module_utils.pjsip_sections import (
    OWN_ENDPOINT_PREFIX, concrete, lines_to_take_out, not_defined, trunk_definitions, wizard_aor_options,
    wizard_identifies)

EGRESS_ENDPOINT = "voipguard-egress"
EGRESS_CONTEXT = "voipguard-egress"
COPY_PREFIX = "voipguard-trunk-"
# The boundary instance: its user and configuration, the endpoint the main Asterisk's INVITEs
# arrive as, and its contexts.
INSTANCE_USER = "voipguard-boundary"
INSTANCE_CONFIG_DIR = "/etc/voipguard-boundary"
INSTANCE_UNIT = "voipguard-boundary.service"
# The notifier that sends the instance's refusals to people (toll_fraud_guard tasks/alerts.yml).
INSTANCE_NOTIFIER_UNIT = "voipguard-boundary-alert-notifier.service"
INSTANCE_MAIN_ENDPOINT = "voipguard-main"
INSTANCE_CONTEXT = "voipguard-boundary"
INSTANCE_REFUSE_CONTEXT = "voipguard-boundary-refuse"
INSTANCE_TRANSPORT = "voipguard-carriers"
# A transport's options that the carriers see (NAT): carried to the instance's transport. Not
# external_signaling_port: the instance's Contact must name its own port, or the carrier's BYE for
# a call the instance placed would reach the main Asterisk, which knows no such dialog.
_TRANSPORT_NAT_KEYS = ("external_media_address", "external_signaling_address", "local_net")
# Options of the trunk endpoint that the copy must not carry: the loop itself, the group the role
# counts trunk channels in (counted once, on the looped leg), and the auth a carrier's inbound
# calls are challenged with (the copy takes no call in; with it, asterisk_hardening took the copy
# for a phone and gave it a phone's ACL, which the next write of the copy took away again).
_NOT_COPIED = ("type", "outbound_proxy", "auth")
_OWN_SET_VAR = re.compile(r"^\s*GROUP\(voipguard-trunk\)\s*=")
# What a looped trunk's endpoint may be called: the Route user the egress reads (FILTER() in the
# guard's dialplan keeps these characters and no others).
LOOPABLE_ENDPOINT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,80}$")
_LOOP_PROXY = re.compile(r"^sip:([^@;]+)@(\[[^\]]+\]|[^:;]+):(\d+);lr$")
# The copy's proxy to the boundary instance: marked, so that it is never taken for the operator's.
_INSTANCE_PROXY = re.compile(r"^sip:([^@;]+)@127\.0\.0\.1:(\d+);lr;voipguard$")


# The loop's own value of a TCP or TLS trunk's transport, appended after the operator's line: none,
# so that res_pjsip sends to the loop's UDP proxy, and in-dialog requests where the carrier says.
NO_TRANSPORT = ""
# The trunk's own aor for the loop (its INVITEs go to this PBX whatever the contact says), so that
# the operator's aor is referenced by the copy alone and qualified through it.
LOOP_AOR_PREFIX = "voipguard-loop-"
# Transports a trunk may use, by the loop they get (protocol as pjsip.conf spells it).
_LOOPED_AS_IS = ("udp",)
_LOOPED_WITHOUT_TRANSPORT = ("tcp", "tls")


class BoundaryError(ValueError):
    """The trunk boundary cannot be set up as asked; the message names what to fix."""


def trunk_group_set_var(trunk_name):
    """The set_var value that puts a capped trunk's channels in a group of their own, which the
    guard's dialplan counts (GROUP_COUNT(<name>@voipguard-trunk))."""
    return "GROUP(voipguard-trunk)=%s" % trunk_name


def is_trunk_group_set_var(value):
    """Whether a set_var value is one trunk_group_set_var() wrote, not the operator's."""
    return bool(_OWN_SET_VAR.match(value or ""))


def unloopable_trunk(name, endpoint, definitions):
    """Why a trunk of voipguard_trunks cannot be looped, or None: its endpoint is defined by
    neither pjsip.conf, its includes nor pjsip_wizard.conf (definitions: pjsip_sections'
    endpoint_definitions or trunk_definitions; the endpoints a typo most likely meant are named),
    or its name cannot travel as the loop's Route user and be matched in the dialplan.
    name: the trunk's name in voipguard_trunks, or None."""
    which = "trunk %s: endpoint %s" % (name, endpoint) if name else "trunk endpoint %s" % endpoint
    missing = not_defined(endpoint, definitions)
    if missing:
        return "%s %s" % (which, missing)
    if not LOOPABLE_ENDPOINT_NAME.match(endpoint):
        return ("%s has characters the loop cannot carry: its name is the user of a SIP URI and is "
                "matched in the dialplan, which take letters, digits, '-', '_' and '.' only" % which)
    definition = definitions[endpoint]
    if definition.get("section_type") == "wizard" and last_value(definition.get("effective") or {}, "outbound_proxy"):
        # res_pjsip_config_wizard's handle_endpoint sets the wizard's own outbound_proxy after
        # its endpoint/ options: the loop's endpoint/outbound_proxy would never be in force.
        return ("%s: its wizard in pjsip_wizard.conf sets outbound_proxy for all its objects, which "
                "overrides the loop's endpoint/outbound_proxy; write it as endpoint/outbound_proxy, "
                "aor/outbound_proxy and registration/outbound_proxy instead (the loop keeps the "
                "endpoint's for the carrier)" % which)
    return None


def loop_proxy(trunk_endpoint, host, port):
    """The outbound_proxy that loops a trunk's INVITEs through this PBX (value, unescaped)."""
    return "sip:%s@%s:%d;lr" % (trunk_endpoint, host, port)


def instance_proxy(trunk_endpoint, port):
    """The copy's outbound_proxy to the boundary instance on this host (value, unescaped)."""
    return "sip:%s@127.0.0.1:%d;lr;voipguard" % (trunk_endpoint, port)


def is_instance_proxy(value):
    return bool(_INSTANCE_PROXY.match(value or ""))


def is_loop_proxy(endpoint, value, addresses=()):
    """Whether an outbound_proxy of this endpoint is the loop's own: the loop names the trunk's
    endpoint as the proxy URI's user, which an operator's proxy to an SBC or a carrier does not
    (even one with a user part, sip:proxy@sbc.example.net:5060;lr), or (the endpoint renamed since)
    it points at one of this PBX's own UDP transports (addresses: "host:port" as loop_addresses()
    gives them), where no operator's proxy does."""
    match = _LOOP_PROXY.match(value or "")
    return bool(match) and (match.group(1) == endpoint or "%s:%s" % match.group(2, 3) in addresses)


def transport_address(transport_effective):
    """(host, port) the loop sends to for a UDP transport's bind; 0.0.0.0/:: become loopback."""
    bind = last_value(transport_effective, "bind", "0.0.0.0")
    match = re.match(r"^\[([^\]]+)\](?::(\d+))?$", bind) or re.match(r"^([^:]+)(?::(\d+))?$", bind)
    if not match:
        raise BoundaryError("transport bind %r is not an address[:port] the loop can use" % bind)
    host, port = match.group(1), int(match.group(2) or 5060)
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "[::1]"
    elif ":" in host:
        host = "[%s]" % host
    return host, port


def _protocol(transport_effective):
    """A transport's protocol as pjsip.conf spells it (udp when none is given)."""
    return last_value(transport_effective, "protocol", "udp").lower()


def operator_proxy(endpoint, trunk_effective, previous_copy_effective=None, previous_instance_effective=None,
                   addresses=()):
    """The operator's own outbound_proxy for a trunk endpoint ("" for none). The loop replaces it
    on the trunk, so it is the trunk's when that is not the loop (is_loop_proxy, with this PBX's
    addresses), else the one the copy written last time holds (without a copy, the trunk's lines
    under the loop's); with the boundary instance the copy forwards to the instance, and it is the
    one the instance's copy of the trunk holds (its pjsip.conf, written last time)."""
    def looped(value):
        return is_loop_proxy(endpoint, value, addresses)
    proxy = last_value(trunk_effective, "outbound_proxy", "")
    if looped(proxy) and previous_copy_effective is None:
        # No copy to read it from (the endpoint renamed since its loop was written): the lines
        # the loop's line overrides, a template's say.
        left = [value for value in trunk_effective.get("outbound_proxy") or () if not looped(value)]
        proxy = left[-1] if left else ""
    elif looped(proxy):
        proxy = last_value(previous_copy_effective, "outbound_proxy", "")
    if is_instance_proxy(proxy):
        proxy = last_value(previous_instance_effective or {}, "outbound_proxy", "")
    return "" if looped(proxy) or is_instance_proxy(proxy) else proxy


def loop_aor(trunk_endpoint):
    return LOOP_AOR_PREFIX + trunk_endpoint


def _is_loop_value(key, value):
    """Whether an option value of a trunk endpoint is one the loop appended (not the operator's)."""
    return (key == "transport" and value == NO_TRANSPORT) or (key == "aors" and value.startswith(LOOP_AOR_PREFIX))


def without_loop_values(trunk_effective):
    """The trunk's effective options as the operator wrote them: without the values the loop
    appends after theirs (its aor, a TCP or TLS trunk's empty transport)."""
    effective = {}
    for key, values in trunk_effective.items():
        kept = [value for value in values or () if not _is_loop_value(key, value)]
        if values and not kept:
            continue  # the loop's lines alone: the operator wrote none
        effective[key] = kept if values else values
    return effective


def operator_transport(trunk_effective):
    """The transport the operator gave a trunk ("" for none), the loop's own left out."""
    return last_value(without_loop_values(trunk_effective), "transport", "")


def loop_line_changes(trunk_effective, key, value):
    """[(state, values)] that make the loop's ``key = value`` line (appended where the trunk is
    defined) what the trunk runs with, or, with value None, take every such line out: [] when it
    already is so; ("absent", ...) then ("present", ...) moves it after a line the operator added
    since, which would win."""
    values = list(trunk_effective.get(key) or ())
    ours = [v for v in values if _is_loop_value(key, v)]
    if value is None:
        return [("absent", ours)] if ours else []
    if ours == [value] and values[-1] == value:
        return []
    return ([("absent", ours)] if ours else []) + [("present", [value])]


def copy_options(endpoint, trunk_effective, previous_copy_effective=None, previous_instance_effective=None,
                 addresses=()):
    """Option lines (key, value) of the trunk endpoint's copy: the trunk as the operator wrote it
    (templates resolved), without the loop (its outbound_proxy, its own values:
    without_loop_values), with the operator's own outbound_proxy (operator_proxy)."""
    trunk_effective = without_loop_values(trunk_effective)
    lines = [("type", "endpoint")]
    proxy = operator_proxy(endpoint, trunk_effective, previous_copy_effective, previous_instance_effective,
                           addresses)
    # Codec lines keep their order among themselves: disallow=all before allow wipes nothing.
    codec_keys = [k for k in trunk_effective if k in ("disallow", "allow")]
    for key in sorted(codec_keys, key=lambda k: 0 if k == "disallow" else 1):
        lines.extend((key, value) for value in trunk_effective[key])
    for key in sorted(trunk_effective):
        if key in _NOT_COPIED or key in codec_keys:
            continue
        for value in trunk_effective[key]:
            if key == "set_var" and is_trunk_group_set_var(value):
                continue
            lines.append((key, value))
    if proxy:
        lines.append(("outbound_proxy", proxy))
    return lines


# With the boundary instance the firewall drops every INVITE the main Asterisk sends to a carrier,
# in-dialog ones too: the kernel refuses the send, the re-INVITE fails at once, and the call goes on
# without what it asked for (a hold passed through leaves the caller in silence, a switch to T.38
# fails the fax). So in a carrier's inbound call the main Asterisk must send none: the trunk
# endpoint (and its copies, so that they stay equal to it) gets media anchored here (no
# direct-media re-INVITE), hold played here (none passed through) and no connected-line update (a
# re-INVITE where the carrier does not allow UPDATE). T.38 is not switched off silently: the run
# stops instead.
IN_DIALOG_INVITES_OFF = (("direct_media", "no"), ("moh_passthrough", "no"), ("send_connected_line", "no"))
T38_OFF = ("t38_udptl", "no")
# res_pjsip's own defaults of those options (pjsip_configuration.c), for a wizard that sets none.
IN_DIALOG_DEFAULTS = {"direct_media": "yes", "moh_passthrough": "no", "send_connected_line": "yes"}


# The guard's own PJSIP file (tasks/endpoints.yml), included last by pjsip.conf.
OWN_FILE = "pjsip_voipguard.conf"


def without_own_additions(trunk_effective, endpoint, sections):
    """The trunk's effective options as the operator's files make them: without the values the
    guard's own addition [endpoint](+type=endpoint) in OWN_FILE adds (IN_DIALOG_INVITES_OFF, while
    the boundary instance is on). Read with them, the run that switches the instance off copied
    them into the trunk's copy, and the next run took them out again."""
    effective = dict((key, list(values)) for key, values in trunk_effective.items())
    for section in sections:
        if (section.get("is_addition") and section.get("name") == endpoint
                and os.path.basename(section.get("file") or "") == OWN_FILE):
            for option in section.get("options") or ():
                values = effective.get(option["key"]) or []
                if option["value"] in values:
                    del values[len(values) - 1 - values[::-1].index(option["value"])]
                if not values:
                    effective.pop(option["key"], None)
    return effective


def without_in_dialog_invites(trunk_effective):
    """The trunk's effective options as the main Asterisk runs them with the boundary instance:
    the options of IN_DIALOG_INVITES_OFF set to their value (pjsip_voipguard.conf adds them to the
    trunk endpoint), whatever the operator wrote."""
    effective = dict(trunk_effective)
    effective.update((key, [value]) for key, value in IN_DIALOG_INVITES_OFF)
    return effective


def in_dialog_invites(shown):
    """Why the main Asterisk would send a carrier an INVITE in the carrier's inbound call, from the
    trunk endpoint's options as the running Asterisk shows them ({option: value}): [] when it
    sends none. An option it does not show counts as a reason: not understood, not waved through."""
    reasons = []
    for key, wanted in IN_DIALOG_INVITES_OFF + (T38_OFF,):
        if key not in shown:
            reasons.append("%s not shown" % key)
        elif ast_true(shown[key]) != ast_true(wanted):
            reasons.append("%s is %s" % (key, shown[key]))
    return reasons


def _keys_differing(lines, effective):
    """Keys whose values in the written option lines and in the effective options differ, sorted."""
    expected = {}
    for key, value in lines:
        expected.setdefault(key, []).append(value)
    actual = dict((key, list(values)) for key, values in effective.items() if values)
    return sorted(key for key in set(expected) | set(actual) if expected.get(key) != actual.get(key))


def copy_drift(endpoint, trunk_effective, copy_effective):
    """Keys on which the trunk endpoint's copy no longer says what the trunk says: the trunk was changed
    (by hand, or by a GUI's Apply Config) after the role wrote the copy, so calls to the carrier
    still go out with the old options. Sorted; [] when the copy is current."""
    # With the boundary instance the copy's proxy is the instance, by design, and it sends no
    # in-dialog INVITE, as the trunk.
    own_proxy = last_value(copy_effective, "outbound_proxy", "")
    if not is_instance_proxy(own_proxy):
        return _keys_differing(copy_options(endpoint, trunk_effective, copy_effective), copy_effective)
    lines = copy_options(endpoint, without_in_dialog_invites(trunk_effective), copy_effective)
    lines = [(key, value) for key, value in lines if key != "outbound_proxy"] + [("outbound_proxy", own_proxy)]
    return _keys_differing(lines, copy_effective)


def _where(section):
    """Where a change of the trunk endpoint's options is written (from its trunk_definitions
    entry): its defining section's file, type, the prefix of its endpoint options, and the
    include root a wizard's templates are read from (None for pjsip.conf's include set)."""
    return dict((key, section.get(key)) for key in ("file", "section_type", "option_prefix", "include_root"))


def loop_addresses(sections):
    """"host:port" of every UDP transport of the sections, as the loop's proxy names it."""
    addresses = []
    for section in concrete(sections, "transport"):
        if _protocol(section["effective"]) in _LOOPED_AS_IS:
            try:
                addresses.append("%s:%d" % transport_address(section["effective"]))
            except BoundaryError:
                continue  # a bind the loop cannot use is no loop's address either
    return addresses


def loops_to_undo(sections, trunks, still_looped=(), instance_sections=None, definitions=None):
    """Endpoints that still loop and that this run does not loop: every looped trunk while the
    boundary is switched off, and, while it is on, an endpoint taken out of voipguard_trunks since
    the run that looped it (left looped, its calls would reach an egress that has no copy of it).
    [{name, endpoint, file, section_type, option_prefix, include_root, proxy, loop_lines}]
    (_where), sorted by endpoint; name the trunk's name in ``trunks`` ([{name, endpoint}]), else
    the endpoint's; proxy the operator's own outbound_proxy ("" for none), read from the copy, or
    from the boundary instance's copy (instance_sections: its pjsip.conf) when the copy forwards to
    the instance; loop_lines the loop's own lines to take out [(option, "absent", values)], the
    loop's outbound_proxy among them when the operator's other lines give theirs once it goes
    (else the proxy is written back: proxy_written_back()). still_looped: the endpoints this run
    loops.
    definitions: pjsip_sections.trunk_definitions of the sections and pjsip_wizard.conf, whose
    wizards may be trunks (by default, of the sections alone)."""
    if definitions is None:
        definitions = trunk_definitions(sections)
    names = dict((trunk["endpoint"], trunk["name"]) for trunk in trunks)
    own = loop_addresses(sections)
    endpoints = dict((s["name"], s) for s in concrete(sections, "endpoint"))
    instance_endpoints = dict((s["name"], s) for s in concrete(instance_sections or [], "endpoint"))
    undo = []
    for endpoint, section in sorted(definitions.items()):
        if endpoint in still_looped or not is_loop_proxy(
                endpoint, last_value(section["endpoint_options"], "outbound_proxy", ""), own):
            continue
        copy = endpoints.get(COPY_PREFIX + endpoint) or {}
        instance_copy = instance_endpoints.get(endpoint) or {}
        proxy = operator_proxy(endpoint, section["endpoint_options"], copy.get("effective"),
                               instance_copy.get("effective"), own)
        loop_lines = [(key, state, values) for key in ("aors", "transport")
                      for state, values in loop_line_changes(section["endpoint_options"], key, None)]
        # The loop's proxy line simply goes where other lines give the operator's proxy (their
        # template's, say); otherwise (the loop replaced the operator's own line, or there was
        # none) it is set back, or taken out.
        ours = lines_to_take_out(section["endpoint_options"].get("outbound_proxy") or [],
                                 lambda value: is_loop_proxy(endpoint, value, own), proxy)
        if ours is not None:
            loop_lines.append(("outbound_proxy", "absent", ours))
        undo.append(dict(_where(section), name=names.get(endpoint, endpoint), endpoint=endpoint, proxy=proxy,
                         loop_lines=loop_lines))
    return undo


def proxy_written_back(undo):
    """Whether undoing a loop (a loops_to_undo() entry) writes the operator's proxy back into the
    trunk's section: unless only the loop's line goes, and the operator's other lines give it."""
    return not any(option == "outbound_proxy" for option, _, _ in undo.get("loop_lines") or ())


def _names(effective, key):
    """The names a comma-separated option lists (aors, outbound_auth), over all its lines."""
    return [name.strip() for value in effective.get(key) or () for name in value.split(",") if name.strip()]


def instance_copy_options(trunk_effective, lines):
    """Option lines of the boundary instance's copy of a trunk, from the trunk's copy_options:
    sent from the instance's own transport, never taking a call in (no inbound auth, a context
    that refuses), media through the instance."""
    return [(key, value) for key, value in lines
            if key not in ("transport", "context", "direct_media", "aors", "auth")] + [
        ("transport", INSTANCE_TRANSPORT), ("context", INSTANCE_REFUSE_CONTEXT),
        ("direct_media", "no"), ("aors", ",".join(_names(without_loop_values(trunk_effective), "aors")))]


def instance_copy_drift(endpoint, trunk_effective, copy_effective, instance_copy_effective):
    """Keys on which the boundary instance's copy of a trunk (its pjsip.conf) no longer says what
    the trunk says, as copy_drift() for the main Asterisk's copy; [] when it is current."""
    trunk_effective = without_in_dialog_invites(trunk_effective)
    return _keys_differing(instance_copy_options(
        trunk_effective, copy_options(endpoint, trunk_effective, copy_effective, instance_copy_effective)),
        instance_copy_effective)


def _instance_trunk(trunk, effective, lines, aors, transport_effective):
    """What the boundary instance holds for one trunk: the trunk's copy as the operator wrote it
    (sent from the instance's own transport, never taking calls in, through the operator's own
    outbound_proxy when the trunk has one) and the aors it dials."""
    # The carrier's calls never come in here: no inbound auth. The outbound auth the carrier
    # challenges for is copied on the host (asterisk_auth_copy), never through the plan.
    auths = _names(effective, "outbound_auth")
    aor_names = _names(effective, "aors")
    missing = [name for name in aor_names if name not in aors]
    if not aor_names or missing:
        raise BoundaryError("trunk %s: the boundary instance dials the trunk's aor, and %s" % (
            trunk["name"], "aor %s is not defined" % ", ".join(missing) if missing else "it has none"))
    return {
        "name": trunk["name"],
        "endpoint": trunk["endpoint"],
        "options": instance_copy_options(effective, lines),
        "auths": auths,
        "aors": [{"name": name, "options": [("type", "aor")] + [
            (key, value) for key in sorted(aors[name]) if key != "type"
            for value in aors[name][key]]} for name in aor_names],
        "nat": [(key, value) for key in _TRANSPORT_NAT_KEYS
                for value in (transport_effective or {}).get(key) or ()],
    }


def plan(sections, trunks, instance_port=None, instance_sections=None, definitions=None,
         running_identifies_text=None):
    """The loop for every trunk: what the role writes, from asterisk_config_info's sections.

    sections: [{name, type, is_template, is_addition, file, effective: {key: [values]}}]
    trunks: [{name, endpoint}] (voipguard_trunks).
    instance_port: the boundary instance's UDP port, or None without the instance.
    instance_sections: the boundary instance's pjsip.conf as an earlier run wrote it ([] for none),
    where the operator's own outbound_proxy of a trunk is kept while the copy forwards to it.
    definitions: pjsip_sections.trunk_definitions of the sections and pjsip_wizard.conf (by default,
    of the sections alone): a trunk may be a wizard there (its loop is written as
    endpoint/outbound_proxy in the wizard).
    running_identifies_text: the running Asterisk's ``pjsip show identifies`` (None: not read), where
    realtime's identifies and the addresses of host names in a match are seen.
    Returns {"egress": {"endpoint", "context", "matches": ["host:port"], "srtp": bool},
             "trunks": [{"name", "endpoint", "file", "section_type", "option_prefix", "include_root",
                         "proxy", "copy_endpoint", "copy_options",
                         "loop_aor": {"name", "contact"}, or None for a wizard's trunk,
                         "loop_lines": [(option, "absent" | "present", values)] (loop_line_changes),
                         "in_dialog_off": [(key, value)], empty without the instance,
                         "placeholder": the type of the section before that addition, or None}],
             "instance": None, or {"user", "config_dir", "port", "main_endpoint", "context", "refuse_context",
                                   "transport", "main_matches": ["host:port"],
                                   "trunks": [{"name", "endpoint", "options", "auths", "aors", "nat"}]}}.
    Raises BoundaryError when the loop cannot work on this configuration.
    """
    unreadable = unreadable_identifies(running_identifies_text)
    if unreadable:
        raise BoundaryError(unreadable)
    globals_ = concrete(sections, "global")
    order = last_value(globals_[-1]["effective"], "endpoint_identifier_order", "") if globals_ else ""
    identifiers = [part.strip() for part in order.split(",") if part.strip()]
    if identifiers and identifiers[0] != "ip":
        raise BoundaryError(
            "pjsip.conf [global] endpoint_identifier_order = %s: the trunk boundary needs 'ip' "
            "first, or a looped INVITE could be identified as the phone named in its From header"
            % order)
    transports = dict((s["name"], s) for s in concrete(sections, "transport"))
    udp = [name for name in transports if _protocol(transports[name]["effective"]) in _LOOPED_AS_IS]
    own = loop_addresses(sections)
    endpoints = dict((s["name"], s) for s in concrete(sections, "endpoint"))
    if definitions is None:
        definitions = trunk_definitions(sections)
    defined_aors = dict((s["name"], s["effective"]) for s in concrete(sections, "aor"))
    previous = dict((name[len(COPY_PREFIX):], s) for name, s in endpoints.items()
                    if name.startswith(COPY_PREFIX))
    instance_previous = dict((s["name"], s) for s in concrete(instance_sections or [], "endpoint"))
    result = {"egress": {"endpoint": EGRESS_ENDPOINT, "context": EGRESS_CONTEXT, "matches": [], "srtp": False},
              "trunks": [], "instance": None}
    instance = {"user": INSTANCE_USER, "config_dir": INSTANCE_CONFIG_DIR,
                "port": instance_port, "main_endpoint": INSTANCE_MAIN_ENDPOINT, "context": INSTANCE_CONTEXT,
                "refuse_context": INSTANCE_REFUSE_CONTEXT, "transport": INSTANCE_TRANSPORT,
                "main_matches": [], "trunks": []}
    for trunk in trunks:
        name, endpoint = trunk["name"], trunk["endpoint"]
        problem = unloopable_trunk(name, endpoint, definitions)
        if problem:
            raise BoundaryError(problem)
        section = definitions[endpoint]
        in_wizard = section["section_type"] == "wizard"
        effective = without_loop_values(without_own_additions(section["endpoint_options"], endpoint, sections))
        aors = dict(defined_aors, **{endpoint: wizard_aor_options(section["effective"])}) if in_wizard \
            else defined_aors
        transport, clear_transport = _loop_transport(name, effective, transports, udp, in_wizard, instance_port)
        _refuse_what_the_loop_cannot_carry(name, effective, aors, instance_port)
        if last_value(effective, "media_encryption", "no").lower() == "sdes":
            result["egress"]["srtp"] = True
        host, port = transport_address(transports[transport]["effective"])
        match = "%s:%d" % (host, port)
        if match not in result["egress"]["matches"]:
            result["egress"]["matches"].append(match)
        in_dialog_off = []
        if instance_port:
            if ast_true(last_value(effective, *T38_OFF)):
                raise BoundaryError(
                    "trunk %s has t38_udptl = yes: with the boundary instance the main Asterisk may send "
                    "the carrier no INVITE, and the T.38 re-INVITE of an inbound fax would be dropped, "
                    "failing the fax; set t38_udptl = no on the trunk, or leave "
                    "voipguard_trunk_boundary_instance off" % name)
            if in_wizard:
                # pjsip.conf cannot add to an object the wizard makes, and the run does not rewrite
                # the operator's wizard for the instance (switched off, nothing would say what it held).
                missing = ["endpoint/%s = %s" % (key, value) for key, value in IN_DIALOG_INVITES_OFF
                           if ast_true(last_value(effective, key, IN_DIALOG_DEFAULTS[key])) != ast_true(value)]
                if missing:
                    raise BoundaryError(
                        "trunk %s is made by pjsip_wizard.conf (wizard %s in %s): with the boundary instance "
                        "the main Asterisk may send the carrier no INVITE, so the trunk must send none in "
                        "the carrier's inbound calls; set %s in the wizard, or leave "
                        "voipguard_trunk_boundary_instance off" % (name, endpoint, section.get("file"), ", ".join(missing)))
            else:
                in_dialog_off = list(IN_DIALOG_INVITES_OFF)
            effective = without_in_dialog_invites(effective)
        lines = copy_options(endpoint, effective, (previous.get(endpoint) or {}).get("effective"),
                             (instance_previous.get(endpoint) or {}).get("effective"), own)
        if instance_port:
            instance["trunks"].append(_instance_trunk(
                trunk, effective, lines, aors, transports[transport]["effective"]))
            # The copy in the main Asterisk only forwards to the instance, which dials the carrier.
            lines = [(key, value) for key, value in lines if key != "outbound_proxy"]
            lines.append(("outbound_proxy", instance_proxy(endpoint, instance_port)))
        result["trunks"].append(dict(_where(section), **{
            "name": name,
            "endpoint": endpoint,
            "proxy": loop_proxy(endpoint, host, port),
            # Appended where it is defined, after the operator's lines: the loop's own aor (not in a
            # wizard, which sets the aors of the endpoint it makes itself), a TCP or TLS trunk's
            # empty transport (NO_TRANSPORT).
            "loop_aor": None if in_wizard else {"name": loop_aor(endpoint), "contact": "sip:%s:%d" % (host, port)},
            "loop_lines": [(key, state, values) for key, value in (
                ("aors", None if in_wizard else loop_aor(endpoint)),
                ("transport", NO_TRANSPORT if clear_transport else None))
                for state, values in loop_line_changes(section["endpoint_options"], key, value)],
            "copy_endpoint": COPY_PREFIX + endpoint,
            "copy_options": lines,
            # Added to the trunk endpoint itself ([endpoint](+type=endpoint)), with the instance,
            # after a placeholder of its name that the addition goes to once the trunk is deleted.
            "in_dialog_off": in_dialog_off,
            "placeholder": placeholder_type("type=endpoint") if in_dialog_off else None,
        }))
    _refuse_identifies_of_the_loop(sections, result["egress"]["matches"], definitions, running_identifies_text)
    if instance_port:
        if instance_port in [int(m.rsplit(":", 1)[1]) for m in result["egress"]["matches"]]:
            raise BoundaryError("the boundary instance's port %d is the PBX's own SIP port" % instance_port)
        # The main Asterisk's INVITEs come from the same transports as the loop's.
        instance["main_matches"] = list(result["egress"]["matches"])
        result["instance"] = instance
    return result


def identify_match_covers(entry, address):
    """Whether one entry of an identify's match (an address, a network as a.b.c.d/bits or
    a.b.c.d/mask, either with :port, [IPv6]:port, or a host name) covers ``address`` ("host:port"
    as the egress matches it). A host name other than localhost is not resolved here (the
    controller's resolver is not the PBX's): it counts as covering nothing. The running Asterisk
    shows it resolved (running_identifies), and that reading is judged too."""
    entry = entry.strip()
    host, port = address.rsplit(":", 1)
    wanted = ipaddress.ip_address(host.strip("[]"))
    match = (re.match(r"^\[([^\]]+)\](?::(\d+))?(?:/(.+))?$", entry)
             or re.match(r"^([^:/]+)(?::(\d+))?(?:/(.+))?$", entry)
             or re.match(r"^([0-9A-Fa-f:]+)()(?:/(.+))?$", entry))
    if not match:
        return False
    name, entry_port, mask = match.group(1), match.group(2), match.group(3)
    if entry_port and int(entry_port) != int(port):
        return False
    names = ["127.0.0.1", "::1"] if name.lower() == "localhost" else [name]
    for candidate in names:
        try:
            network = ipaddress.ip_network("%s/%s" % (candidate, mask) if mask else candidate, strict=False)
        except ValueError:
            continue
        if network.version == wanted.version and wanted in network:
            return True
    return False


def identify_match_entries(values):
    """The entries of an identify's ``match`` values, each option line a comma-separated list."""
    return [entry.strip() for value in values or () for entry in value.split(",") if entry.strip()]


def identify_takes(entries, address):
    """The entry by which an identify's match entries take ``address`` ("host:port"), None when
    they do not. res_pjsip applies them as an access list (ast_apply_ha): the last entry that
    covers the address decides, and an entry written "!..." excludes what it covers."""
    deciding = None
    for entry in entries:
        entry = entry.strip()
        excluding = entry.startswith("!")
        if identify_match_covers(entry[1:] if excluding else entry, address):
            deciding = None if excluding else entry
    return deciding


def identifies_taking_the_loop(identifies, addresses):
    """[(identify, endpoint, match entry, address)] for each operator's identify whose match takes
    an address the trunk boundary's looped INVITEs come from (``addresses``, "host:port" as the
    egress matches them). identifies: [(name, endpoint, [match values])]. The looped INVITEs must
    be identified as the egress; such an identify takes some of them in no fixed order
    (res_pjsip tries the identifies unsorted): in the lab such a call went into the other
    endpoint's context, dialed the trunk again, and looped until Asterisk ran out of open files."""
    found = []
    for name, endpoint, values in identifies:
        if name.startswith(OWN_ENDPOINT_PREFIX) or (endpoint or "").startswith(OWN_ENDPOINT_PREFIX):
            continue
        entries = identify_match_entries(values)
        for address in addresses:
            entry = identify_takes(entries, address)
            if entry is not None:
                found.append((name, endpoint, entry, address))
    return found


def running_identifies(text):
    """[(identify, endpoint, [match entries])] from ``pjsip show identifies``: what the running
    Asterisk matches, from the files, the wizards and realtime alike, each host name resolved as it
    was when Asterisk loaded it. An entry reads "address/bits" or "address:port/bits", "!" first
    where it excludes (res_pjsip_endpoint_identifier_ip.c, cli_print_body)."""
    found = []
    for line in (text or "").splitlines():
        line = line.strip()
        if "<" in line:  # the listing's header
            continue
        identify = re.match(r"^Identify:\s+(\S+)/(\S+)$", line)
        if identify:
            found.append((identify.group(1), identify.group(2), []))
            continue
        match = re.match(r"^Match:\s+(\S+)$", line)
        if match and found:
            found[-1][2].append(match.group(1))
    return found


def unreadable_identifies(text):
    """Why ``pjsip show identifies`` (text; None: not read) shows that the trunk boundary cannot
    work, or cannot be read as a listing; None when it reads as one. The looped INVITEs are
    identified as the egress by their address alone: without res_pjsip_endpoint_identifier_ip.so
    every one of them goes to the endpoint its From header names, and every trunk call fails (the
    lab: a 401 each), or worse."""
    if text is None or running_identifies(text) or text.strip() in ("", "No objects found."):
        return None
    if text.strip().startswith("No such command"):
        return ("the running Asterisk identifies no endpoint by address (res_pjsip_endpoint_identifier_ip.so "
                "is not loaded): the trunk boundary's looped INVITEs would reach no guard, and every trunk "
                "call would fail; load it (modules.conf), or switch the trunk boundary off "
                "(toll_fraud_guard_trunk_boundary_enabled: false)")
    return ("cannot read the running Asterisk's identifies (pjsip show identifies), which the trunk boundary "
            "is judged by: %s" % " ".join(text.split())[:200])


def running_loop_addresses(identifies):
    """The "host:port" addresses the running egress identify (of running_identifies) takes the
    looped INVITEs from; [] when the trunk boundary is not loaded. The role writes each with its port."""
    addresses = []
    for name, _endpoint, entries in identifies:
        if name != EGRESS_ENDPOINT:
            continue
        for entry in entries:
            address = entry.rsplit("/", 1)[0]
            if not entry.startswith("!") and re.match(r"^(\[[^\]]+\]|[^:\[\]]+):\d+$", address):
                addresses.append(address)
    return addresses


def describe_loop_identify(found):
    """One reason for an identifies_taking_the_loop() entry, as the audit and the run's last check say it."""
    name, endpoint, entry, address = found
    return ("identify %s (endpoint %s) matches %s, where the looped INVITEs come from (%s): calls to it can be "
            "taken by %s and loop instead of reaching the carrier" % (name, endpoint, entry, address, endpoint))


def unidentified_loop_fault(running=True):
    """The reason when trunk calls loop and nothing identifies the looped INVITEs as the egress;
    running=False: read from the files, the running Asterisk not answering."""
    where = ("the running Asterisk identifies no INVITE as %s (pjsip show identifies lists no match of "
             "an address and port for it, or no identify at all: res_pjsip_endpoint_identifier_ip.so not "
             "loaded, say)" if running else "the files define no identify of %s") % EGRESS_ENDPOINT
    return where + ": the looped trunk calls reach no guard, and fail or go to another endpoint"


def running_loop_identify_faults(identifies_text, looped=False):
    """Why looped INVITEs may not reach the running egress (describe_loop_identify of each
    operator's running identify that takes an address its identify matches); [] when none does.
    identifies_text: ``pjsip show identifies``. looped: the trunks' calls loop (the trunk boundary
    is on and there are trunks): then a listing without the egress's own match, which includes
    one this module cannot read, is a fault too (unidentified_loop_fault), not a pass."""
    identifies = running_identifies(identifies_text)
    addresses = running_loop_addresses(identifies)
    if looped and not addresses:
        return [unidentified_loop_fault()]
    return [describe_loop_identify(found) for found in identifies_taking_the_loop(identifies, addresses)]


def _refuse_identifies_of_the_loop(sections, addresses, definitions=None, running=None):
    """identifies_taking_the_loop() of the sections' identifies, of those the wizards among
    ``definitions`` make (remote_hosts, identify/match) and of the ``running`` ones (``pjsip show
    identifies``: realtime's too, host names resolved), refused with the reason. Raised by the
    policy step, after the roles before the guard wrote (the play's rescue puts that back)."""
    wizards = [(name, section.get("effective") or {}) for name, section in sorted((definitions or {}).items())
               if section.get("section_type") == "wizard"]
    taking = identifies_taking_the_loop(
        [(s["name"], last_value(s["effective"], "endpoint", ""), s["effective"].get("match"))
         for s in concrete(sections, "identify")] + wizard_identifies(wizards) + running_identifies(running),
        addresses)
    if taking:
        name, endpoint, entry, address = taking[0]
        raise BoundaryError(
            "identify %s (endpoint %s) matches %s, the address the trunk boundary's looped INVITEs come "
            "from (%s): res_pjsip would give some of them to %s instead of the guard, and such a call "
            "loops until the PBX runs out of resources; narrow its match (to the other application's "
            "own port, say), or bind the PBX's SIP transport to another address"
            % (name, endpoint, entry, address, endpoint))


def _loop_transport(name, effective, transports, udp, in_wizard, instance_port):
    """(the UDP transport the trunk's INVITEs loop through, whether the loop clears the trunk's own
    transport): its own when it is UDP; a TCP or TLS trunk loops through the PBX's first UDP
    transport with its own transport cleared (NO_TRANSPORT), which the copy keeps."""
    transport = operator_transport(effective)
    if not transport:
        if not udp:
            raise BoundaryError("the trunk boundary needs a UDP transport in pjsip.conf; none found")
        return sorted(udp)[0], False
    if transport not in transports:
        raise BoundaryError("trunk %s: transport %s is not defined" % (name, transport))
    protocol = _protocol(transports[transport]["effective"])
    if protocol in _LOOPED_AS_IS:
        return transport, False
    if protocol not in _LOOPED_WITHOUT_TRANSPORT:
        raise BoundaryError("trunk %s uses transport %s (%s): the trunk boundary loops trunks on UDP, TCP "
                            "and TLS transports" % (name, transport, protocol))
    if instance_port:
        raise BoundaryError("trunk %s uses transport %s (%s): the boundary instance dials carriers over UDP "
                            "only; leave voipguard_trunk_boundary_instance off for this PBX (the loop alone "
                            "takes TCP and TLS trunks)" % (name, transport, protocol))
    if in_wizard:
        raise BoundaryError("trunk %s is made by pjsip_wizard.conf with transport %s (%s): the loop clears a "
                            "TCP or TLS trunk's transport, and in a wizard that would move its registration "
                            "off it too; define the trunk in pjsip.conf" % (name, transport, protocol))
    if not udp:
        raise BoundaryError("trunk %s uses transport %s (%s), and the loop needs a UDP transport in pjsip.conf; "
                            "none found" % (name, transport, protocol))
    return sorted(udp)[0], True


def _refuse_what_the_loop_cannot_carry(name, effective, aors, instance_port):
    """Raise BoundaryError for a trunk whose calls the loop would not carry, not understood, so not
    waved through: a sips: contact (res_pjsip sends nothing over the UDP hop), DTLS-SRTP (the egress
    endpoint has no certificate), and media encryption through the boundary instance."""
    for aor in _names(effective, "aors"):
        for contact in (aors.get(aor) or {}).get("contact") or ():
            if contact.strip().lower().startswith("sips:"):
                raise BoundaryError(
                    "trunk %s: aor %s has contact %s; res_pjsip sends a sips: request over TLS on every hop, "
                    "so none would pass the loop's UDP hop and no call would leave; write it "
                    "sip:<host>:<port>\\;transport=tls" % (name, aor, contact.split(";")[0]))
    encryption = last_value(effective, "media_encryption", "no").lower()
    if encryption == "dtls":
        raise BoundaryError("trunk %s has media_encryption = dtls: the loop carries RTP and SDES-SRTP only"
                            % name)
    if encryption not in ("no", "") and instance_port:
        raise BoundaryError("trunk %s has media_encryption = %s: the boundary instance carries RTP only; leave "
                            "voipguard_trunk_boundary_instance off for this PBX" % (name, encryption))


# The output chain's rule (nftables_firewall) that drops the main Asterisk's INVITEs to a trunk:
# "INVITE" at the start of the UDP payload.
INVITE_PAYLOAD = "0x494e56495445"


def past_the_loop_reasons(trunk_endpoints, copy_proxies, instance_endpoints, output_chain):
    """Why a channel addressed to a carrier past the loop (the trunk's copy dialed by name, a
    request URI to the carrier's address on any endpoint) could reach it unjudged; [] when the
    boundary instance gates every such channel. The audit's reading of the live PBX:
    copy_proxies: {trunk endpoint: the running copy's outbound_proxy, or None when not loaded};
    instance_endpoints: endpoint names the running instance has loaded, None when it does not
    answer; output_chain: ``nft list chain inet voipguard output`` ("" when there is none)."""
    reasons = []
    for endpoint in sorted(trunk_endpoints):
        proxy = copy_proxies.get(endpoint)
        if not is_instance_proxy(proxy):
            reasons.append("trunk %s: its copy %s%s dials the carrier itself, so the copy dialed by name "
                           "reaches the carrier unjudged" % (endpoint, COPY_PREFIX, endpoint))
    if instance_endpoints is None:
        reasons.append("the trunk boundary instance (%s) does not answer" % INSTANCE_UNIT)
    else:
        missing = sorted(set(trunk_endpoints) - set(instance_endpoints))
        if missing:
            reasons.append("the trunk boundary instance has not loaded trunk %s" % ", ".join(missing))
    drops = [line for line in (output_chain or "").splitlines()
             if INVITE_PAYLOAD in line and "skuid" in line and "@trunks_v" in line and " drop" in line]
    if not drops:
        reasons.append("no firewall rule drops the main Asterisk's INVITEs to the trunks' addresses, so a "
                       "request URI to a carrier's address on any endpoint reaches it unjudged")
    return reasons
