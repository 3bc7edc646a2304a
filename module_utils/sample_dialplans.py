# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Dialplan engines loaded with nothing but the package's sample dialplan.

Debian's Asterisk loads pbx_ael and pbx_lua (modules.conf ``autoload = yes``), and its
asterisk-config package installs their sample dialplans, extensions.ael and extensions.lua. Left
as installed they are demos, and they put dialplan into the running Asterisk that no
extensions.conf shows: AEL's trunk routes (ael-trunkint dials ``${OUTBOUND-TRUNK}`` with the
number from ``_9011.``), and a ``Lua/`` switch in every context extensions.lua names (default,
public, local, demo), also in one extensions.conf defines; the sample's ``local`` dials
``DAHDI/1/<number>``. So an engine whose file is the package's own, byte for byte, is switched
off (asterisk_hardening, tasks/sample_dialplans.yml), unless a call is in its dialplan now. An
edited file is the operator's dialplan: the engine stays, and its contexts are read from
``dialplan show`` (asterisk_live.running_dialplan).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

from ansible.module_utils.asterisk_live import listed_dialplan

# The engine's module -> the dialplan file it loads from the configuration directory.
SAMPLE_DIALPLANS = {"pbx_ael.so": "extensions.ael", "pbx_lua.so": "extensions.lua"}
# Where Debian's asterisk package keeps a copy of each sample (/usr/share/asterisk/conf/samples).
SAMPLES_DIR = "/usr/share/asterisk/conf/samples"

_MODULE_LINE = re.compile(r"^(\S+\.so)\s.*\s\d+\s+Running\s")  # its use count, then "Running" (not "Not Running")
# dpkg-query -W -f='${Conffiles}\n': " /etc/asterisk/extensions.lua 758bd937... [obsolete]"
_CONFFILE_LINE = re.compile(r"^\s*(/\S+)\s+([0-9a-f]{32})\b")


def loaded_engines(module_listing):
    """The modules of SAMPLE_DIALPLANS that ``module show like pbx_`` lists as running."""
    running = set(m.group(1) for m in (_MODULE_LINE.match(line) for line in (module_listing or "").splitlines()) if m)
    return sorted(module for module in SAMPLE_DIALPLANS if module in running)


def packaged_digests(conffiles_text):
    """{path: md5} from ``dpkg-query -W -f='${Conffiles}\\n' asterisk-config``."""
    return dict(m.groups() for m in (_CONFFILE_LINE.match(line) for line in (conffiles_text or "").splitlines()) if m)


def digest(data):
    """The md5 dpkg records of a conffile (a checksum of what was installed, not a secret's)."""
    return hashlib.md5(data).hexdigest()  # nosec B324 - dpkg's own checksum, compared, not trusted


def is_unedited_sample(data, path, packaged, sample=None):
    """Whether a dialplan file (its bytes) is the package's own: the md5 dpkg recorded for it
    (packaged_digests), or byte for byte the sample copy the package keeps. A file that is not
    there (None) is no sample: nothing says what the engine loads."""
    if data is None:
        return False
    return packaged.get(path) == digest(data) or (sample is not None and data == sample)


def engine_contexts(module, dialplan_listing):
    """The running contexts the engine serves, from ``dialplan show``: those pbx_ael created, or
    those with a switch pbx_lua registered."""
    registrar = module[:-len(".so")]
    return set(context for context, creator, kind, _fields, origin in listed_dialplan(dialplan_listing)
               if (kind == "context" and creator == registrar) or (kind == "switch" and origin == registrar))


def calls_in(contexts, channels_concise):
    """The channels of ``core show channels concise`` (Channel!Context!Exten!...) in the contexts."""
    calls = []
    for line in (channels_concise or "").splitlines():
        fields = line.split("!")
        if len(fields) > 1 and fields[1] in contexts:
            calls.append(fields[0])
    return calls


def judge_samples(loaded, unedited, dialplan_listing, channels_concise):
    """(modules to switch off, {module: why it is held}) of the loaded engines whose file is
    unedited ({module: bool}): one a call is in now is held until a later run (what cannot be read
    counts as a call: None listings); an edited one is neither."""
    switch_off, held = [], {}
    for module in loaded:
        if not unedited.get(module):
            continue
        if dialplan_listing is None or channels_concise is None:
            held[module] = "%s loads the sample %s, and Asterisk did not say whether a call is in it" % (
                module, SAMPLE_DIALPLANS[module])
            continue
        calls = calls_in(engine_contexts(module, dialplan_listing), channels_concise)
        if calls:
            held[module] = "%s loads the sample %s, and %d call%s in its dialplan now (%s)" % (
                module, SAMPLE_DIALPLANS[module], len(calls), " is" if len(calls) == 1 else "s are", calls[0])
        else:
            switch_off.append(module)
    return switch_off, held


def read_samples(cli, read, conffiles_text, config_dir="/etc/asterisk"):
    """The judgement of a running Asterisk (cli(command) -> text or None) and its files
    (read(path) -> bytes or None; conffiles_text: dpkg-query's Conffiles of asterisk-config):
    {"sample_dialplans": {module: path} of each loaded engine whose file is unedited,
    "switch_off": [modules], "held": {module: why}}."""
    loaded = loaded_engines(cli("module show like pbx_"))
    packaged = packaged_digests(conffiles_text)
    files = dict((module, "%s/%s" % (config_dir.rstrip("/"), SAMPLE_DIALPLANS[module])) for module in loaded)
    unedited = dict((module, is_unedited_sample(read(path), path, packaged,
                                                read("%s/%s.sample" % (SAMPLES_DIR, SAMPLE_DIALPLANS[module]))))
                    for module, path in files.items())
    asking = any(unedited.values())
    switch_off, held = judge_samples(
        loaded, unedited, cli("dialplan show") if asking else "", cli("core show channels concise") if asking else "")
    return dict(sample_dialplans=dict((module, files[module]) for module in loaded if unedited[module]),
                switch_off=switch_off, held=held)
