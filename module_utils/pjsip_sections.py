# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PJSIP objects as asterisk_config_info reads them: which sections res_pjsip makes objects of,
where each endpoint is defined, and the context it dials in.

A section is a dict of asterisk_config_info's ``sections``: name, type, file, is_template,
is_addition, effective ({option: [values]}, templates resolved). The toll-fraud guard's policy,
its trunk boundary and its reading of the outside-line digit all ask here, so they cannot
disagree on what an endpoint is or where it lives.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import difflib

from ansible.module_utils.asterisk_conf import ast_true, last_value


# A wizard's endpoint options are written endpoint/<option> (res_pjsip_config_wizard).
WIZARD_ENDPOINT_PREFIX = "endpoint/"
# Endpoints voipguard defines itself (the trunk boundary's egress and copies): never phones, never
# guarded.
OWN_ENDPOINT_PREFIX = "voipguard-"


def concrete(sections, section_type):
    """The sections of one type that become objects: not templates, not (+) additions. The type is
    the section's effective one: config.c merges a (+) addition into the section before
    res_sorcery_config reads its type, so "[1001](+)\ntype=endpoint" makes 1001 an endpoint."""
    def object_type(section):
        types = (section.get("effective") or {}).get("type")
        return str(types[-1] if types else section.get("type") or "").lower()

    return [s for s in sections or () if object_type(s) == section_type
            and not s.get("is_template") and not s.get("is_addition")]


def _definition(section, section_type, option_prefix, include_root):
    option = option_prefix + "context"
    values = (section.get("effective") or {}).get(option)
    # Set empty ("context ="), an endpoint has no context: it can dial nothing, and stays so.
    return dict(section, section_type=section_type, option=option, option_prefix=option_prefix,
                include_root=include_root, context=str(values[-1]) if values else "default")


# Object types whose sections the guard, its trunk boundary or the audit read.
OBJECT_TYPES = ("endpoint", "aor", "auth", "identify", "registration", "transport")


def duplicate_objects(pjsip_sections, pjsip_wizard=None):
    """["endpoint 1001: pjsip.conf:3 and pjsip.d/more.conf:1", ...] for each name that two concrete
    sections of one type define (names compare exactly, as sorcery's do). res_sorcery_config then
    refuses every object of that type in the file and keeps what it had loaded before; of two
    wizards of one name, res_pjsip_config_wizard makes the objects of the last one read. Either way
    the files do not say what Asterisk runs."""
    found = []
    for kind, sections in [(kind, pjsip_sections) for kind in OBJECT_TYPES] + [
            ("wizard", (pjsip_wizard or {}).get("sections"))]:
        places = {}
        for section in concrete(sections, kind):
            places.setdefault(section["name"], []).append("%s:%s" % (section.get("file"), section.get("lineno")))
        found.extend("%s %s: %s" % (kind, name, " and ".join(where))
                     for name, where in sorted(places.items()) if len(where) > 1)
    return found


def endpoint_definitions(pjsip_sections, pjsip_wizard=None):
    """{endpoint: its defining section} for every endpoint res_pjsip makes from the files: the
    endpoint sections of pjsip.conf's include set (the option that sets its context: "context"),
    and the wizards of pjsip_wizard.conf (asterisk_config_info's result for it, whose wizards
    res_pjsip_config_wizard makes endpoints of: "endpoint/context"). Each is a copy of its
    section with section_type, option, context (the effective one, "default" without, "" set empty),
    option_prefix (what a change of an endpoint option is written with in that section: "" in
    pjsip.conf, "endpoint/" in a wizard) and include_root added: the file a change of the section
    is read through (pjsip_wizard.conf's for a wizard, whose template may sit in another file of
    its include set; None in pjsip.conf's).
    A pjsip.conf endpoint wins over a wizard of the same name; of two sections of one name, the
    first read."""
    defined = {}
    for section in concrete(pjsip_sections, "endpoint"):
        defined.setdefault(section["name"], _definition(section, "endpoint", "", None))
    wizard_root = ((pjsip_wizard or {}).get("files") or [None])[0]
    for section in concrete((pjsip_wizard or {}).get("sections"), "wizard"):
        defined.setdefault(section["name"], _definition(section, "wizard", WIZARD_ENDPOINT_PREFIX, wizard_root))
    return defined


def not_defined(endpoint, definitions):
    """Why an endpoint named in a variable is not there, or None when the files define it
    (definitions: endpoint_definitions' or trunk_definitions' result): "is not defined in ...",
    with the endpoints a typo most likely meant (never this toolkit's own)."""
    if endpoint in definitions:
        return None
    near = difflib.get_close_matches(
        endpoint, sorted(n for n in definitions if not n.startswith(OWN_ENDPOINT_PREFIX)))
    return "is not defined in pjsip.conf, its includes or pjsip_wizard.conf%s" % (
        "; did you mean %s?" % " or ".join(near) if near else "")


def lines_to_take_out(values, is_ours, wanted):
    """How an option gets the operator's value ``wanted`` back from this toolkit's lines, given the
    option's effective values (templates first): our values (``is_ours``) to take out when the
    others already end with ``wanted`` (a template's, a GUI's generated line), or None when
    ``wanted`` must be written back in their place. Written into the object's own section while
    a template gives it, it would hide the operator's next change of the template."""
    ours = [value for value in values if is_ours(value)]
    left = [value for value in values if not is_ours(value)]
    return ours if ours and left and left[-1] == wanted else None


def endpoint_contexts(pjsip_sections, pjsip_wizard=None, definitions=None):
    """{endpoint: the context it dials in} of endpoint_definitions (or of the ``definitions`` it
    already gave)."""
    if definitions is None:
        definitions = endpoint_definitions(pjsip_sections, pjsip_wizard)
    return dict((name, definition["context"]) for name, definition in definitions.items())


# The auths res_pjsip_config_wizard makes of a wizard (handle_auths), by direction: the switch
# that makes it, the prefix of its options in the wizard, and the suffix of its name.
WIZARD_AUTHS = {"inbound": ("accepts_auth", "inbound_auth/", "-iauth"),
                "outbound": ("sends_auth", "outbound_auth/", "-oauth")}


def wizard_auth_name(wizard, direction):
    """The name of the auth res_pjsip_config_wizard makes of wizard ``wizard`` for ``direction``."""
    return wizard + WIZARD_AUTHS[direction][2]


def wizard_of_auth(name, direction):
    """The wizard whose ``direction`` auth is named ``name``, or None for a name no wizard gives."""
    suffix = WIZARD_AUTHS[direction][2]
    return name[:-len(suffix)] if name.endswith(suffix) and len(name) > len(suffix) else None


def wizard_endpoint_options(name, effective):
    """{option: [values]} of the endpoint res_pjsip_config_wizard makes of wizard ``name`` from its
    effective options (templates resolved; handle_endpoint): its endpoint/ options, then aors = the
    wizard's name, its own outbound_proxy (for all its objects), its transport, and the auths it
    makes when it sends or accepts them - what a pjsip.conf endpoint section would hold."""
    options = _prefixed(effective, WIZARD_ENDPOINT_PREFIX)
    # String fields: the value the wizard appends last is the one the endpoint keeps.
    options["aors"] = [name]
    if last_value(effective, "outbound_proxy"):
        options.setdefault("outbound_proxy", []).append(last_value(effective, "outbound_proxy"))
    if effective.get("transport"):
        options["transport"] = [effective["transport"][-1]]
    if ast_true(last_value(effective, WIZARD_AUTHS["outbound"][0])):
        options["outbound_auth"] = [wizard_auth_name(name, "outbound")]
    if ast_true(last_value(effective, WIZARD_AUTHS["inbound"][0])):
        options["auth"] = [wizard_auth_name(name, "inbound")]
    options["type"] = ["endpoint"]
    return options


def _prefixed(effective, prefix):
    """{option: [values]} of the effective options that start with prefix, the prefix taken off."""
    options = {}
    for key, values in effective.items():
        if key.startswith(prefix) and values:
            options.setdefault(key[len(prefix):], []).extend(values)
    return options


def wizard_aor_options(effective):
    """{option: [values]} of the aor res_pjsip_config_wizard makes of a wizard (handle_aor): its
    aor/ options, and unless one of them is a contact, a contact per remote host through
    contact_pattern (sip:${REMOTE_HOST} by default, none when it is set empty)."""
    options = _prefixed(effective, "aor/")
    if not options.get("contact"):
        pattern = last_value(effective, "contact_pattern")
        pattern = "sip:${REMOTE_HOST}" if pattern is None else pattern
        hosts = [host.strip() for host in (last_value(effective, "remote_hosts") or "").split(",") if host.strip()]
        if pattern and hosts:
            options["contact"] = [pattern.replace("${REMOTE_HOST}", host) for host in hosts]
    options["type"] = ["aor"]
    return options


def wizard_identify_options(effective):
    """{option: [values]} of the identify res_pjsip_config_wizard makes of a wizard (handle_identify,
    named <wizard>-identify, for its endpoint): its identify/ options, and unless one of them is a
    match, a match per remote host; None when the wizard accepts registrations (no identify) or
    names no remote host. A host's :port stays: Asterisk 22 shows remote_hosts = 127.0.0.1:5080
    as "Match: 127.0.0.1:5080/32" (lab; older wizards took the port off)."""
    if ast_true(last_value(effective, "accepts_registrations")):
        return None
    options = _prefixed(effective, "identify/")
    if not options.get("match"):
        hosts = [host.strip() for host in (last_value(effective, "remote_hosts") or "").split(",") if host.strip()]
        if not hosts:
            return None
        options["match"] = hosts
    options["type"] = ["identify"]
    return options


def wizard_identifies(wizards):
    """[(identify name, endpoint, [match values])] of the identifies the wizards make, as
    trunk_boundary.identifies_taking_the_loop takes them; wizards: [(name, effective options)]."""
    found = []
    for name, effective in wizards:
        options = wizard_identify_options(effective)
        if options is not None:
            found.append((name + "-identify", name, options["match"]))
    return found


def wizard_auth_options(effective, direction):
    """{option: [values]} of the auth res_pjsip_config_wizard makes of a wizard for ``direction``
    ("outbound": <name>-oauth when sends_auth; "inbound": <name>-iauth when accepts_auth) - its
    <direction>_auth/ options, auth_type userpass unless set (handle_auth); None when the wizard
    makes no such auth."""
    switch, prefix, _suffix = WIZARD_AUTHS[direction]
    if not ast_true(last_value(effective, switch)):
        return None
    options = _prefixed(effective, prefix)
    options.setdefault("auth_type", ["userpass"])
    options["type"] = ["auth"]
    return options


def trunk_definitions(pjsip_sections, pjsip_wizard=None):
    """{endpoint: its defining section} as endpoint_definitions, each with ``endpoint_options``
    added: the endpoint's effective options (a wizard's as wizard_endpoint_options makes them)."""
    defined = {}
    for name, section in endpoint_definitions(pjsip_sections, pjsip_wizard).items():
        effective = section.get("effective") or {}
        defined[name] = dict(section, endpoint_options=wizard_endpoint_options(name, effective)
                             if section["section_type"] == "wizard" else effective)
    return defined
