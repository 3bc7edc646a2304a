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


def concrete(sections, section_type):
    """The sections of one type that become objects: not templates, not (+) additions."""
    return [s for s in sections or () if (s.get("type") or "").lower() == section_type
            and not s.get("is_template") and not s.get("is_addition")]


def _definition(section, section_type, option):
    values = (section.get("effective") or {}).get(option) or ["default"]
    return dict(section, section_type=section_type, option=option, context=str(values[-1] or "default"))


def endpoint_definitions(pjsip_sections, pjsip_wizard=None):
    """{endpoint: its defining section} for every endpoint res_pjsip makes from the files: the
    endpoint sections of pjsip.conf's include set (the option that sets its context: "context"),
    and the wizards of pjsip_wizard.conf (asterisk_config_info's result for it, whose wizards
    res_pjsip_config_wizard makes endpoints of: "endpoint/context"). Each is a copy of its
    section with section_type, option and context (the effective one, "default" without) added.
    A pjsip.conf endpoint wins over a wizard of the same name; of two sections of one name, the
    first read."""
    defined = {}
    for section in concrete(pjsip_sections, "endpoint"):
        defined.setdefault(section["name"], _definition(section, "endpoint", "context"))
    for section in concrete((pjsip_wizard or {}).get("sections"), "wizard"):
        defined.setdefault(section["name"], _definition(section, "wizard", "endpoint/context"))
    return defined


def endpoint_contexts(pjsip_sections, pjsip_wizard=None):
    """{endpoint: the context it dials in} of endpoint_definitions."""
    return dict((name, definition["context"])
                for name, definition in endpoint_definitions(pjsip_sections, pjsip_wizard).items())
