# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Channel drivers that call other hosts past the trunk boundary.

The trunk boundary (trunk_boundary) loops the PJSIP trunks of voipguard_trunks. A call that
another channel driver places never passes it: ``Dial(IAX2/203.0.113.5/00263...)``, an IAX2
peer of a provider, a DAHDI line, or an AMI Originate of any of them costs whatever the far end
charges, with no check, limit or alert. Debian's Asterisk loads chan_iax2 and chan_motif by
default (modules.conf ``autoload = yes``), used or not.

So each such driver the running Asterisk has loaded is either unused, and switched off (a
``noload`` in modules.conf, and unloaded), or in use (peers, registrations, connections, calls
in progress), and then refused: the run stops naming what uses it, unless the operator keeps the
driver knowingly. A dialplan line that dials it is named, not a use: switched off, such a dial
fails instead of reaching a host nobody checks. What the running Asterisk shows
is the truth here, not the files: an IAX2 peer from realtime counts as much as one in iax.conf.
One reading (read_drivers) for the role (library/asterisk_channel_drivers_info.py) and the audit.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.module_utils.asterisk_live import context_header

# Channel type as ``core show channeltypes`` names it -> the module that provides it.
DRIVERS_PAST_THE_BOUNDARY = {
    "IAX2": "chan_iax2.so",
    "DAHDI": "chan_dahdi.so",
    "OOH323": "chan_ooh323.so",
    "MGCP": "chan_mgcp.so",
    "Motif": "chan_motif.so",
}

# CLI listings that show a driver in use: (command, pattern whose group 1 counts objects, what).
# A driver with none here (DAHDI's lines, an H.323 or MGCP gateway) counts as in use when loaded:
# whether its lines reach a carrier cannot be read from here.
_IN_USE_LISTINGS = {
    "IAX2": [("iax2 show peers", r"^(\d+) iax2 peers", "IAX2 peers"),
             ("iax2 show registry", r"^(\d+) IAX2 registrations", "IAX2 registrations")],
    "Motif": [("xmpp show connections", r"Number of clients:\s*(\d+)", "XMPP connections")],
}

_CHANNELTYPE_LINE = re.compile(r"^(\S+)\s{2,}")


def loaded_drivers(channeltypes_text):
    """The channel types of DRIVERS_PAST_THE_BOUNDARY that ``core show channeltypes`` lists."""
    types = set()
    for line in (channeltypes_text or "").splitlines():
        match = _CHANNELTYPE_LINE.match(line)
        if match:
            types.add(match.group(1))
    return sorted(t for t in DRIVERS_PAST_THE_BOUNDARY if t in types)


def commands_for(driver):
    """The CLI commands whose output in_use_reasons() reads for a loaded driver."""
    return [command for command, _pattern, _what in _IN_USE_LISTINGS.get(driver, ())] + [
        "core show channels concise"]


def in_use_reasons(driver, outputs):
    """Why a loaded driver counts as in use ([] when nothing uses it), from the running Asterisk:
    outputs maps each of commands_for(driver) to its output (None when Asterisk did not answer,
    which counts as in use: what cannot be read is not switched off)."""
    listings = _IN_USE_LISTINGS.get(driver)
    if listings is None:
        return ["its lines or gateways are not judged here"]
    reasons = []
    for command in commands_for(driver):
        if outputs.get(command) is None:
            reasons.append("Asterisk did not answer %r" % command)
    for command, pattern, what in listings:
        match = re.search(pattern, outputs.get(command) or "", re.M)
        if match and int(match.group(1)):
            reasons.append("%s %s (%s)" % (match.group(1), what, command))
    calls = [line.split("!", 1)[0] for line in (outputs.get("core show channels concise") or "").splitlines()
             if line.lower().startswith(driver.lower() + "/")]
    if calls:
        reasons.append("%d call%s in progress (%s)" % (len(calls), "" if len(calls) == 1 else "s", calls[0]))
    return reasons


# IAX2/<user>:<secret>@<host>/...: a dial string may carry the far end's password; never shown.
# The technology may be a variable's (${OUTTECH}/user:secret@host).
_INLINE_SECRET = re.compile(r"(?:\b[A-Za-z0-9]+|\$\{[^{}]*\})/[^:/@\s]*:[^@\s]+@")


def hide_inline_secrets(text):
    """text with the password of each TECH/user:secret@host dial string replaced by ********: from
    the first ':' outside ${...}, since PJSIP/${EXTEN:1}@carrier holds a substring's colon, and
    PJSIP/carrier/sip:${EXTEN}@host a URI's, no password."""
    def hidden(match):
        userinfo, depth = match.group(0)[:-1], 0
        for index, char in enumerate(userinfo):
            depth += (char == "{") - (char == "}")
            if char == ":" and depth <= 0:
                if re.search(r"(?:^|/)(?:sips?|tel)$", userinfo[:index], re.I):
                    return match.group(0)  # a URI's scheme (PJSIP/carrier/sip:number@host), no password
                return userinfo[:index + 1] + "********@"
        return match.group(0)

    return _INLINE_SECRET.sub(hidden, text)


def dialplan_dials(driver, dialplan_text):
    """["context <name>: <priority line>"] for each line of ``dialplan show`` that names the
    driver's technology (IAX2/...). Not a use that stops the run: Debian's own demo dialplan
    (extensions.ael) dials IAX2/guest@misery.digium.com, a server long gone; the run says what
    stops working once the driver is off (a peerless IAX2/<host>/<number> dial, say)."""
    found, context = [], None
    pattern = re.compile(r"\b%s/" % re.escape(driver), re.I)
    for line in (dialplan_text or "").splitlines():
        header = context_header(line)
        if header:
            context = header
        elif pattern.search(line):
            shown = hide_inline_secrets(" ".join(line.split()))
            found.append("context %s: %s" % (context, shown))
    return found


def judge(loaded, reasons, kept=()):
    """(modules to switch off, {module: refusal}, kept modules): each loaded driver (loaded_drivers)
    that nothing uses is switched off, one in use is refused with its reasons ({driver:
    in_use_reasons}), unless its module is in ``kept``."""
    switch_off, refused, keeping = [], {}, []
    for driver in loaded:
        module = DRIVERS_PAST_THE_BOUNDARY[driver]
        if module in kept:
            keeping.append(module)
        elif reasons.get(driver):
            refused[module] = "%s (%s) is in use: %s" % (driver, module, "; ".join(reasons[driver]))
        else:
            switch_off.append(module)
    return switch_off, refused, keeping


def read_drivers(cli, kept=()):
    """The judgement of a running Asterisk, asked through cli(command) -> text or None:
    {"loaded": [types], "in_use": {type: [reasons]}, "switch_off": [modules], "refused":
    {module: message}, "kept": [modules], "dialed": {module: [dialplan lines]}}; None when Asterisk
    does not answer."""
    listing = cli("core show channeltypes")
    if listing is None:
        return None
    loaded = loaded_drivers(listing)
    in_use = dict((driver, in_use_reasons(driver, dict((c, cli(c)) for c in commands_for(driver))))
                  for driver in loaded)
    switch_off, refused, keeping = judge(loaded, in_use, kept)
    dialplan = cli("dialplan show") if loaded else ""
    dialed = dict((DRIVERS_PAST_THE_BOUNDARY[driver], dialplan_dials(driver, dialplan)) for driver in loaded)
    return dict(loaded=loaded, in_use=in_use, switch_off=switch_off, refused=refused, kept=keeping,
                dialed=dict((module, lines) for module, lines in dialed.items() if lines))
