# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The dialplan's toll-fraud mistakes (rules DP001...), read from loaded configuration.

One judgement for the module library/asterisk_dialplan_audit.py, the toll_fraud_guard role
(outside-line inference, the phones' routes to trunks) and the audit's controls.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import bisect
import re
from collections import namedtuple

from ansible.module_utils.asterisk_conf import inherited_parts, iter_sections, last_value, resolve, resolve_section
from ansible.module_utils.channel_drivers import hide_inline_secrets

NOT_CONTEXTS = ("general", "globals")
RULES = {
    "DP001": ("high", "${EXTEN} passed to Dial() unfiltered in a pattern that matches any "
                      "character; wrap it in ${FILTER(0-9+,${EXTEN})} or use a strict pattern"),
    "DP002": ("critical", "caller ID reaches a shell command (%s): command injection"),
    "DP003": ("medium", "the [demo] context is present; remove it"),
    "DP004": ("critical", "toll route (Dial to trunk%s from pattern %s) reachable without "
                          "authentication in context [%s]"),
    "DP005": ("high", "context [%s], reachable without authentication, hands the extensions it lacks to "
                      "switch %s: dialplan nobody can read, its calls unchecked"),
}
CALLERID_RE = re.compile(r"CALLERID\s*\(|\$\{CALLERID(NUM|NAME)\}", re.I)


def split_args(text, separator=",", maxsplit=-1):
    """Split application arguments on top-level commas (parentheses, ${ } and $[ ] nest), or on
    another separator, at most maxsplit times (str.split's meaning)."""
    parts, depth, current = [], 0, []
    for ch in text:
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth = max(0, depth - 1)
        if ch == separator and depth == 0 and len(parts) != maxsplit:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def split_app(text):
    """'Dial(PJSIP/x,30)' -> ('dial', 'PJSIP/x,30'). Unbalanced or bare names keep all text."""
    match = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\)?)?\s*$", text, re.S)
    if not match:
        return "", text
    args = match.group(2) or ""
    if args.endswith(")"):
        args = args[:-1]
    return match.group(1).lower(), args


def unfiltered_exten(args):
    """True when ${EXTEN...} appears outside any FILTER( ) call."""
    stack = []
    i = 0
    while i < len(args):
        match = re.match(r"([A-Za-z_][A-Za-z0-9_]*)\(", args[i:])
        if match:
            stack.append(match.group(1).upper())
            i += match.end()
            continue
        if args[i] == "(":
            stack.append("")
        elif args[i] == ")" and stack:
            stack.pop()
        elif args.startswith("${EXTEN", i) and args[i + 7:i + 8] in ("}", ":"):
            if "FILTER" not in stack:
                return True
        i += 1
    return False


def is_wide_pattern(pattern):
    """Pattern that matches arbitrary characters or any-length numbers (_X., _+X., _00!)."""
    return pattern.startswith("_") and ("." in pattern or "!" in pattern)


# Names may hold dashes: AEL's samples use ${OUTBOUND-TRUNK}.
_VARIABLE = re.compile(r"\$\{([A-Za-z0-9_-]+)\}")
# Asterisk reads these from the channel before any global of the same name.
_CHANNEL_BUILTINS = ("EXTEN", "CONTEXT", "PRIORITY", "CHANNEL", "UNIQUEID")


def dialplan_globals(configs):
    """{name (lower case): [values]} of the dialplan's [globals] as Asterisk has them: the running
    Asterisk's (its listing in configs, asterisk_live.running_dialplan), else those of every
    [globals] section of the files in turn, as pbx_config.c sets them (a later one's value wins)."""
    running = [config for config in configs if getattr(config, "running", False) and config.find("globals")]
    if running:  # (read unless 'dialplan show globals' did not answer)
        return resolve(running, "globals")
    merged = {}
    for section in iter_sections(configs):
        if section.name.lower() == "globals":
            for name, values in resolve_section(configs, section).items():
                merged.setdefault(name, []).extend(values)
    return merged


def expand_globals(text, globals_):
    """text with each ${NAME} that [globals] sets replaced by its value, as Asterisk substitutes
    it when the application runs: with TRUNK = carrier, Dial(PJSIP/${EXTEN}@${TRUNK}) dials the
    carrier, and with AREA = 0531, Dial(PJSIP/${AREA}${EXTEN}@carrier) puts 0531 before the
    number. A value naming another global is followed (three levels). Other variables stay: the
    files do not show what a channel or Set(GLOBAL(...)) sets at run time."""
    def value(match):
        name = match.group(1)
        if name.upper() in _CHANNEL_BUILTINS:
            return match.group(0)
        return last_value(globals_, name, match.group(0))

    for _ in range(3):
        expanded = _VARIABLE.sub(value, text)
        if expanded == text:
            break
        text = expanded
    return text


# A dial string's target as chan_pjsip's request() reads it: TECH/endpoint or TECH/user@endpoint
# (the first '@' of the first field), either followed by /uri.
_DIAL_TARGET = re.compile(r"(\w+)/([^/]*)(/.*)?$")


def trunk_targets(args, trunks):
    """[(trunk, target)] for each '&' target of a Dial() that calls one of the trunks, its endpoint
    named exactly (carrier-fax is not carrier), with a number (user@endpoint) or a URI (endpoint/uri);
    without trunks, each that so calls any endpoint, named by it. Each target is a channel of its
    own: the number a trunk gets is its own target's."""
    found = []
    dial_string = split_args(args)[0] if args else ""
    for target in dial_string.split("&"):
        target = target.strip()
        if _LOCAL_CHANNEL.match(target):
            continue  # a call into this dialplan (local_channels), not to a peer
        match = _DIAL_TARGET.match(target)
        if not match or not ("@" in match.group(2) or match.group(3)):
            continue
        endpoint = match.group(2).split("@", 1)[-1].strip()
        if endpoint and (endpoint in trunks if trunks else True):
            found.append((endpoint, target))
    return found


class _Extension(object):
    def __init__(self, pattern):
        self.pattern = pattern
        self.regex_checked = False


# A context's switches: Asterisk asks the switch (Lua/, Realtime/, DUNDi/, IAX2/...) for an
# extension the context lacks, and the switch runs dialplan that no file or listing shows.
_SWITCH_KEYS = ("switch", "lswitch", "eswitch")


class _InheritedPart(object):
    """A part of a template as the context that inherits it reads it: the context's name, the
    template's file and lines (where a finding on them points)."""

    def __init__(self, part, name):
        self.part = part
        self.name = name

    def __getattr__(self, attribute):
        return getattr(self.part, attribute)


def parse_dialplan(configs):
    """Yield (section, line, extension_pattern, app, args) for every exten/same line, plus
    context includes as (section, line, None, 'include', target) and switches as (section, line,
    None, 'switch', 'Lua/')."""
    files = [config for config in configs if not getattr(config, "running", False)]
    for config in configs:
        for section in config.sections:
            # A template ([tpl](!)) is no context (config.c's ast_category_browse skips it); what
            # inherits it runs its lines first, as config.c copied them.
            if section.name.lower() in NOT_CONTEXTS or section.is_template:
                continue
            current = None
            inherited = [(_InheritedPart(part, section.name), line) for part in (
                inherited_parts(files, section) if section.templates else ()) for line in part.lines]
            for owner, line in inherited + [(section, line) for line in section.lines]:
                if line.kind != "option":
                    continue
                key = line.key.lower()
                if key == "include":
                    yield owner, line, None, "include", line.value.strip()
                    continue
                if key in _SWITCH_KEYS:
                    yield owner, line, None, "switch", line.value.strip()
                    continue
                if key == "exten":
                    fields = line.value.split(",", 2)
                    if len(fields) < 3:
                        continue
                    current = _Extension(fields[0].split("/")[0].strip())
                    application = fields[2]
                elif key == "same" and current is not None:
                    fields = line.value.split(",", 1)
                    if len(fields) < 2:
                        continue
                    application = fields[1]
                else:
                    continue
                app, args = split_app(application)
                yield owner, line, current, app, args


# Applications that run another: Exec(Dial(...)), TryExec(Dial(...)), ExecIf(expr?Dial(...):...).
_RUNS_ANOTHER = ("exec", "tryexec", "execif")


def executed_apps(app, args):
    """[(app, args)] that Exec(), TryExec() or ExecIf() runs, split as app_exec.c splits them:
    ExecIf(expr?Dial(...)[:Playback(...)]) either branch, the old ExecIf(expr,Dial,args) its
    second field; [] for any other application."""
    if app in ("exec", "tryexec"):
        return [split_app(args)]
    if app != "execif":
        return []
    comma, question = args.find(","), args.find("?")
    if question < 0 or 0 <= comma < question:
        fields = split_args(args, ",", 2)
        return [(fields[1].strip().lower(), fields[2] if len(fields) > 2 else "")] if len(fields) > 1 else []
    return [split_app(branch) for branch in conditional_branches(args)]


def applications_run(app, args):
    """[(app, args)]: the application, and each one it runs (executed_apps), however nested."""
    run = [(app, args)]
    for inner_app, inner_args in executed_apps(app, args):
        if inner_app:
            run.extend(applications_run(inner_app, inner_args))
    return run


def context_includes(entries, globals_=None):
    """{context (lower case): [contexts it includes]} from parse_dialplan's entries, each include
    read as pbx_config.c reads it: [globals] substituted, then the context's name up to a '|' or
    ',' (include => intl|08:00-18:00|mon-fri|*|* includes intl, at those times)."""
    includes = {}
    for section, _line, _extension, app, args in entries:
        if app == "include":
            target = re.split(r"[|,]", expand_globals(args, globals_ or {}), 1)[0].strip()
            includes.setdefault(section.name.lower(), []).append(target)
    return includes


def reachable(includes, start):
    seen = []
    todo = list(start)
    while todo:
        name = todo.pop(0)
        if name.lower() in (s.lower() for s in seen):
            continue
        seen.append(name)
        todo.extend(includes.get(name.lower(), []))
    return seen


def audit(configs, unauthenticated_contexts=(), trunk_endpoints=()):
    """Return (findings, contexts, reachable contexts) for loaded dialplan files."""
    findings = []
    contexts = []

    def add(rule, section, line, extension, *fmt):
        severity, message = RULES[rule]
        findings.append(dict(
            rule=rule, severity=severity, file=section.config.filename,
            line=line.lineno if line is not None else section.lineno,
            context=section.name, extension=extension.pattern if extension else None,
            message=message % fmt if fmt else message,
            text=hide_inline_secrets((line.raw if line is not None else section.header.raw).strip())))

    entries = list(parse_dialplan(configs))
    dialplan = TrunkDials(configs, entries, trunk_endpoints)
    globals_ = dialplan.globals_
    demo = []
    for config in configs:
        for section in config.sections:
            if section.header is not None and section.name.lower() not in NOT_CONTEXTS and not section.is_template:
                if section.name not in contexts:
                    contexts.append(section.name)
                if section.name.lower() == "demo":
                    demo.append(section)
    if demo:
        # Once, and where a file defines it if one does (pbx_lua's switch puts it in the listing too).
        add("DP003", min(demo, key=lambda section: getattr(section.config, "running", False)), None, None)
    unauth = reachable(dialplan.includes, ["default"] + list(unauthenticated_contexts))
    unauth_lower = [c.lower() for c in unauth]
    # A switch gets the number of a jump too (DP004's jumps are followed by trunk_dials).
    switch_reached = set(c.lower() for c in reachable(onward_contexts(entries, globals_, dialplan.includes),
                                                      ["default"] + list(unauthenticated_contexts)))

    for section, line, extension, app, args in entries:
        if app == "switch" and section.name.lower() in switch_reached:
            add("DP005", section, line, None, section.name, args)
        if app in ("include", "switch") or extension is None:
            continue
        run = [(run_app, expand_globals(run_args, globals_) if run_app == "dial" else run_args)
               for run_app, run_args in applications_run(app, args)]
        if "REGEX(" in args.upper() and "${EXTEN" in args:
            extension.regex_checked = True
        if is_wide_pattern(extension.pattern) and not extension.regex_checked and any(
                run_app == "dial" and unfiltered_exten(run_args) for run_app, run_args in run):
            add("DP001", section, line, extension)
        shell_args = []
        for run_app, run_args in run:
            if run_app in ("system", "trysystem"):
                shell_args.append((run_app, run_args))
            elif run_app == "mixmonitor":
                parts = split_args(run_args)
                if len(parts) >= 3:
                    shell_args.append(("MixMonitor command", ",".join(parts[2:])))
        for match in re.finditer(r"\$\{SHELL\(", args, re.I):
            shell_args.append(("SHELL()", args[match.end():]))
        for where, text in shell_args:
            if CALLERID_RE.search(text):
                add("DP002", section, line, extension, where)
                break
        if section.name.lower() in unauth_lower and is_wide_pattern(extension.pattern):
            trunks = [found.trunk for found in dialplan.trunk_dials(
                app, args, section.name, extension=extension.pattern)]
            if trunks:
                add("DP004", section, line, extension, " " + trunks[0], extension.pattern, section.name)
    return findings, contexts, unauth


# -- the outside-line digit ----------------------------------------------------------------------

# ${EXTEN}, ${EXTEN:offset} or ${EXTEN:offset:length}: the dialed number a route sends on, from
# which digit (a route's strip), and the extension a jump hands on (with_extension).
_EXTEN_REFERENCE = re.compile(r"\$\{EXTEN(?::(-?\d+))?(?::(-?\d+))?\}")
# Digits a route puts before the number: FreePBX's "prepend" (0531${EXTEN}, 1212${EXTEN}).
# In a dial string (PJSIP/0531${EXTEN}@carrier, PJSIP/carrier/sip:0531${EXTEN}@...) or alone,
# and before the number's FILTER() (0531${FILTER(0-9,${EXTEN:1})}).
_PREPEND = re.compile(r"(?:^|[/:])\s*(\+?[0-9]+)\$\{(?:FILTER\([^,()]*,\s*\$\{)?EXTEN[:}]")


def literal_prefix(pattern):
    """Leading literal digits of an extension pattern: _9X. -> '9', _00. -> '00', _[89]. -> ''."""
    if not pattern.startswith("_"):
        return re.match(r"[0-9]*", pattern).group(0)
    return re.match(r"[0-9]*", pattern[1:]).group(0)


def dropped_digits(number):
    """How many leading digits of the dialed number a dial string drops (${EXTEN:1} -> 1), or None
    when it does not send ${EXTEN} on from a digit of its start (no ${EXTEN}, or ${EXTEN:-4})."""
    reference = _EXTEN_REFERENCE.search(number)
    offset = int(reference.group(1) or 0) if reference else -1
    return offset if offset >= 0 else None


def trunk_routes(configs, phone_contexts, trunk_endpoints, entries=None):
    """Every Dial() to a trunk that a phone's context reaches (its includes followed): dicts with
    context, pattern, strip (leading digits ${EXTEN:n} drops; None when the dialed number is not
    ${EXTEN}, so the route cannot be read), prepend (digits put before it, or ""), landing (the
    literal extension a jump lands on to dial it, see TrunkDial), file and line. ``entries``:
    parse_dialplan's of configs, when the caller has them already."""
    entries = list(parse_dialplan(configs)) if entries is None else entries
    dialplan = TrunkDials(configs, entries, trunk_endpoints)
    wanted = set(name.lower() for name in reachable(dialplan.includes, list(phone_contexts)))
    subroutines = set(subroutine_key(gosub_call(args, section.name)[0])
                      for section, line, extension, app, args in entries
                      if app == "gosub" and extension is not None and section.name.lower() in wanted)
    routes = []
    for section, line, extension, app, args in entries:
        if extension is None or section.name.lower() not in wanted:
            continue
        if (section.name.lower(), extension.pattern.lower()) in subroutines and _ARGUMENT.search(args):
            continue  # a subroutine's body, read with each caller's arguments
        for found in dialplan.trunk_dials(app, args, section.name, extension=extension.pattern):
            prepend = _PREPEND.search(found.number)
            routes.append(dict(context=section.name, pattern=extension.pattern, file=section.config.filename,
                               line=line.lineno, strip=dropped_digits(found.number),
                               prepend=prepend.group(1) if prepend else "", landing=found.landing))
    return routes


def phone_switches(configs, phone_contexts, entries=None):
    """["[context] switch => Lua/ (file:line)"] for each switch in a context the phones reach (its
    includes followed, and the jumps that carry the dialed number on: number_jumps): a number those
    contexts lack goes to dialplan no file or listing shows (pbx_lua's code, a realtime table,
    another server's), so the routes read from them are not all there are. ``entries`` as
    trunk_routes'."""
    entries = list(parse_dialplan(configs)) if entries is None else entries
    wanted = set(name.lower() for name in reachable(onward_contexts(entries, dialplan_globals(configs)),
                                                    list(phone_contexts)))
    return ["[%s] switch => %s (%s:%s)" % (section.name, args, section.config.filename, line.lineno)
            for section, line, _extension, app, args in entries if app == "switch" and section.name.lower() in wanted]


def onward_contexts(entries, globals_=None, includes=None):
    """{context (lower case): [contexts]} a number dialed in it goes on to: its includes, and its
    number_jumps. What a switch in any of them gets is a dialed number. ``includes``: the entries'
    context_includes, when the caller has them already (left as they are)."""
    onward = dict((name, list(targets)) for name, targets in
                  (context_includes(entries, globals_) if includes is None else includes).items())
    for context, targets in number_jumps(entries, globals_).items():
        onward.setdefault(context, []).extend(targets)
    return onward


def number_jumps(entries, globals_=None):
    """{context (lower case): [contexts]} that a Goto(), a GotoIf() branch or a Dial() of a Local
    channel in it (Exec()'s too) sends the dialed number on to: a jump whose extension has
    ${EXTEN} in it ([globals] substituted). A jump to a fixed extension (Goto(ivr,s,1)) carries no
    number on; one to a context that a variable names cannot be followed."""
    jumps = {}
    for section, _line, extension, app, args in entries:
        if extension is None:
            continue
        for inner_app, inner_args in applications_run(app, args):
            inner_args = expand_globals(inner_args, globals_ or {})
            if inner_app == "goto":
                targets = [goto_target(inner_args, section.name)]
            elif inner_app == "gotoif":
                targets = [goto_target(branch, section.name) for branch in conditional_branches(inner_args)]
            elif inner_app == "dial":
                targets = local_channels(split_args(inner_args)[0])
            else:
                continue
            jumps.setdefault(section.name.lower(), []).extend(
                target[0] for target in targets if target and "${EXTEN" in target[1] and "${" not in target[0])
    return jumps


# How deep a Gosub is followed into the subroutines it calls (sub-out calling sub-dial-trunk...).
SUBROUTINE_DEPTH = 3
# How many Gotos one after another are followed (a route jumping to an outbound context that
# jumps to the trunk's own...).
JUMP_DEPTH = 3

# The applications whose reading can reach a trunk (TrunkDials.trunk_dials).
_TRUNK_APPS = ("dial", "gosub", "goto", "gotoif") + _RUNS_ANOTHER

# One trunk dial: the trunk endpoint, the number it is dialed with (the dial string, e.g.
# 'PJSIP/${EXTEN:1}@carrier', or FreePBX's number argument), and landing: the literal extension a
# Goto lands on to dial it ('112' for Goto(outbound,${EXTEN:1},1) reaching [outbound] exten => 112),
# or None. A landing's dial is one number of its own: it tells nothing of the outside line.
TrunkDial = namedtuple("TrunkDial", "trunk number landing")


class TrunkDials(object):
    """What the dialplan's Dial(), Gosub() and Goto() applications (and those Exec(), TryExec() or
    ExecIf() run) send to the trunks, read as Asterisk runs them: [globals] substituted, a Gosub's
    subroutine read with its arguments (subroutine_dials, FreePBX's macro-dialout-trunk), a Goto's
    target context read with the extension it jumps to (JUMP_DEPTH jumps; both branches of a GotoIf),
    where that extension can land (landing_dials), and a Local channel a Dial() calls
    (Local/${EXTEN:1}@outbound) read as such a jump."""

    def __init__(self, configs, entries, trunk_endpoints):
        self.globals_ = dialplan_globals(configs)
        self.trunk_endpoints = list(trunk_endpoints)
        self.bodies = subroutine_bodies(entries)
        # {context: [(pattern, body)]} of its '_' extensions' bodies, where a Gosub to an
        # extension no literal one names lands (subroutine_lines).
        self.pattern_bodies = {}
        for (name, pattern), body in self.bodies.items():
            if pattern.startswith("_"):
                self.pattern_bodies.setdefault(name, []).append((pattern, body))
        self.includes = context_includes(entries, self.globals_)
        # {context: [(pattern, app, args)]} of each line that can reach a trunk; the same of its
        # '_' patterns, and of its literal extensions by (context, extension as Asterisk stores
        # it), which a jump to one extension looks up.
        self.by_context, self.by_pattern, self.by_literal = {}, {}, {}
        for section, _line, extension, app, args in entries:
            if extension is not None and app in _TRUNK_APPS and not _ARGUMENT.search(args):
                line, name = (extension.pattern, app, args), section.name.lower()
                self.by_context.setdefault(name, []).append(line)
                if extension.pattern.startswith("_"):
                    self.by_pattern.setdefault(name, []).append(line)
                else:
                    self.by_literal.setdefault((name, literal_name(extension.pattern)), []).append(line)
        # What each jump finds, by landing_dials' arguments: a context of jumping extensions is
        # read once per jump, not once per path that reaches it.
        self.landings = {}
        # {context: (sorted literal starts, {literal start: [(index, line)]})}, lines_starting_as'.
        self.by_start = {}

    def trunk_dials(self, app, args, context, jumps=JUMP_DEPTH, depth=SUBROUTINE_DEPTH, extension=None,
                    running=None):
        """[TrunkDial] that one application called from context sends to a trunk, [] for any
        other application or none to a trunk. jumps: Gotos still followed; depth: subroutines still
        followed; extension: the pattern of the extension whose ${EXTEN} args read (the route's), so
        a literal one (exten => 1001) makes its jumps jumps to one extension, and a '_' one tells
        where a jump with ${EXTEN...} can land; running: the pattern of the extension that runs the
        application, when not that one (an extension a jump landed on)."""
        if app == "dial":
            args = expand_globals(args, self.globals_)
            found = [TrunkDial(trunk, target, None) for trunk, target in trunk_targets(args, self.trunk_endpoints)]
            if jumps > 0:
                for target in local_channels(split_args(args)[0]):
                    found.extend(self.jump(target, context, jumps, extension, running))
            return found
        if app == "gosub":
            call = gosub_call(expand_globals(args, self.globals_), context)
            found = freepbx_trunk_dial(call, self.globals_, self.trunk_endpoints)
            return [TrunkDial(found[0], found[1], None)] if found else self.subroutine_dials(call, depth, extension)
        if app == "gotoif" and jumps > 0:
            return [found for branch in conditional_branches(args)
                    for found in self.trunk_dials("goto", branch, context, jumps, depth, extension, running)]
        if app in _RUNS_ANOTHER:
            return [found for inner_app, inner_args in executed_apps(app, args)
                    for found in self.trunk_dials(inner_app, inner_args, context, jumps, depth, extension, running)]
        if app == "goto" and jumps > 0:
            target = goto_target(expand_globals(args, self.globals_), context)
            return self.jump(target, context, jumps, extension, running) if target else []
        return []

    def jump(self, target, context, jumps, extension, running):
        """landing_dials of a jump from context to target, (context, extension) in goto_target's
        form, each jump read once (self.landings). A literal extension's ${EXTEN} is itself
        (exten => 1001 jumping to ${EXTEN}): its jump goes to that one extension."""
        if extension and not extension.startswith("_"):
            target = (target[0], with_extension(target[1], extension))
        source = (context.lower(), running or extension)
        key = (target, jumps - 1, extension, source)
        if key not in self.landings:
            self.landings[key] = self.landing_dials(target, jumps - 1, extension, source)
        return self.landings[key]

    def landing_dials(self, target, jumps, extension=None, source=None):
        """[TrunkDial] that a Goto to target (goto_target's reading) sends to a trunk: each Dial(),
        Gosub() or Goto() of the target context (its includes followed) whose pattern the jump's
        extension can match, read with that extension as its ${EXTEN} (with_extension). A literal
        extension there (exten => 112) is only reached when the jump's extension is 112, so it
        runs with ${EXTEN} 112, as one that a jump to a literal extension matches. extension: the
        pattern of the route's ${EXTEN}, which tells what a jump with ${EXTEN:1} can match
        (jump_shape); source: (context, pattern) of the jumping extension, not read again where it
        lands (_9X. jumping with ${EXTEN:1} to its own context does not dial 99 numbers as a
        second outside line)."""
        context, jump = target
        literal_jump = "${" not in jump
        shape = None if literal_jump else jump_shape(jump, extension)
        found = []
        for name in reachable(self.includes, [context]):
            if literal_jump:
                lines = self.by_literal.get((name.lower(), literal_name(jump)), []) + [
                    line for line in self.by_pattern.get(name.lower(), ()) if lands_on(line[0], jump, shape)]
            elif shape is None:
                lines = self.by_context.get(name.lower(), ())
            else:
                lines = [line for line in self.lines_starting_as(name.lower(), shape)
                         if lands_on(line[0], jump, shape)]
            for pattern, app, args in lines:
                if (name.lower(), pattern) == source:
                    continue
                landing = jump if literal_jump else None if pattern.startswith("_") else pattern
                found.extend(dial._replace(landing=dial.landing or landing) for dial in self.trunk_dials(
                    app, with_extension(args, landing or jump), name, jumps, extension=extension, running=pattern))
        return found

    def lines_starting_as(self, context, shape):
        """The lines of context (by_context's, in their order) whose extension can meet shape as far
        as the literal characters both start with: one starts as the other does. A jump looks at
        these only, not at every extension of a big context."""
        if context not in self.by_start:
            starts = {}
            for index, line in enumerate(self.by_context.get(context, ())):
                starts.setdefault(literal_start(pattern_tokens(line[0])), []).append((index, line))
            self.by_start[context] = (sorted(starts), starts)
        keys, starts = self.by_start[context]
        start = literal_start(shape)
        found = [line for length in range(len(start) + 1) for line in starts.get(start[:length], ())]
        position = bisect.bisect_right(keys, start)
        while position < len(keys) and keys[position].startswith(start):
            found.extend(starts[keys[position]])
            position += 1
        return [line for _index, line in sorted(found)]

    def subroutine_dials(self, call, depth, extension=None):
        """[TrunkDial] that a Gosub call (gosub_call's reading) sends to a trunk: each Dial()
        to one in that subroutine (subroutine_lines), its ${ARGn} read as the call's arguments
        (Gosub(sub-out,s,1(${EXTEN:1})) to Dial(PJSIP/${ARG1}@carrier) dials ${EXTEN:1}), and each
        Gosub there read the same way, depth subroutines deep. extension: the route's pattern, as
        trunk_dials'."""
        target, arguments = call
        if target is None or depth < 1:
            return []

        def argument(found):
            number = int(found.group(1))
            return arguments[number - 1].strip() if 0 < number <= len(arguments) else ""

        found = []
        for context, app, args in self.subroutine_lines(target, extension):
            found.extend(self.trunk_dials(app, _ARGUMENT.sub(argument, args), context, jumps=0, depth=depth - 1))
        return found

    def subroutine_lines(self, target, extension):
        """[(context, app, args)] that a Gosub to target runs, [globals] substituted: the lines of
        the extension target names, where ${EXTEN} is that extension ("s"), not the dialed number;
        failing that, the lines of each '_' pattern there (its includes followed) that the
        extension can match, read as after a Goto there (with_extension):
        Gosub(dial-out,${EXTEN:1},1) to exten => _X.,1,Dial(PJSIP/${EXTEN}@carrier) dials
        ${EXTEN:1}, as Asterisk's app_stack.c runs the subroutine at the extension it jumps to."""
        if subroutine_key(target) in self.bodies:
            return [(target[0], app, expand_globals(args, self.globals_).replace("${EXTEN", "${SUBROUTINE_EXTEN"))
                    for app, args in self.bodies[subroutine_key(target)]]
        jump = target[1]
        if extension and not extension.startswith("_"):
            jump = with_extension(jump, extension)  # a literal route's ${EXTEN} is itself
        shape = None if "${" not in jump else jump_shape(jump, extension)
        lines = []
        for context in reachable(self.includes, [target[0]]):
            name = context.lower()
            for pattern, body in self.pattern_bodies.get(name, ()):
                if lands_on(pattern, jump, shape):
                    lines.extend((name, app, with_extension(expand_globals(args, self.globals_), jump))
                                 for app, args in body)
        return lines


def lands_on(pattern, jump, shape):
    """Whether a jump (Goto or Gosub) to extension jump lands on the extension pattern: a jump to
    a literal extension where pattern matches it, one with ${EXTEN} where pattern can meet its
    shape (jump_shape's reading; None: it can be anything). One reading for landing_dials and
    subroutine_lines."""
    if "${" not in jump:
        return extension_matches(pattern, jump)
    return shape is None or patterns_meet(pattern_tokens(pattern), shape)


_DIGITS = "0123456789"
_PATTERN_CLASSES = {"X": _DIGITS, "Z": _DIGITS[1:], "N": _DIGITS[2:]}


def literal_name(extension):
    """A literal extension's name as Asterisk stores and matches it: without the '-' and spaces
    written for the eye (555-1234 is 5551234)."""
    return extension.replace("-", "").replace(" ", "")


def pattern_tokens(pattern):
    """(characters, tail) of an extension as Asterisk's pbx.c matches it: characters holds the
    string of characters each position may be (after '_', X Z N in either case a digit 0-9, 1-9,
    2-9, [1-5a] one of a set, '-' and spaces nothing, the rest itself; a literal name each of
    its characters), tail is '.' (one or more characters more), '!' (none or more) or ''. Past a
    '.' or '!' a pattern is read as ending there: it matches what it matches and more."""
    if pattern in _PATTERN_TOKENS:
        return _PATTERN_TOKENS[pattern]
    characters, tail = [], ""
    if not pattern.startswith("_"):
        characters = list(literal_name(pattern))
    rest = pattern[1:] if pattern.startswith("_") else ""
    while rest:
        char = rest[0]
        if char == "[" and "]" in rest:
            characters.append(_set_characters(rest[1:rest.index("]")]))
            rest = rest[rest.index("]") + 1:]
            continue
        if char in ".!":
            tail = char
            break
        if char not in "- ":
            characters.append(_PATTERN_CLASSES.get(char.upper(), char))
        rest = rest[1:]
    _PATTERN_TOKENS[pattern] = (tuple(characters), tail)
    return _PATTERN_TOKENS[pattern]


_PATTERN_TOKENS = {}


def _set_characters(text):
    """The characters of a pattern's [set]: 1-5a is 12345a."""
    characters, index = [], 0
    while index < len(text):
        if index + 2 < len(text) and text[index + 1] == "-":
            characters.extend(chr(code) for code in range(ord(text[index]), ord(text[index + 2]) + 1))
            index += 3
        else:
            characters.append(text[index])
            index += 1
    return "".join(characters)


def literal_start(tokens):
    """The characters pattern_tokens' tokens start with, each the only one its position allows:
    _0531X. starts with 0531, _[89]X. with nothing."""
    start = []
    for characters in tokens[0]:
        if len(characters) != 1:
            break
        start.append(characters)
    return "".join(start)


def patterns_meet(first, second):
    """Whether one extension can match both patterns, each as pattern_tokens reads it: _X. and
    _0X. meet (0049...), _9X. and _0X. do not, nor _X. and s."""
    (characters, tail), (other_characters, other_tail) = first, second
    for one, other in zip(characters, other_characters):
        if not set(one) & set(other):
            return False
    if len(characters) > len(other_characters):
        return other_tail != ""
    if len(other_characters) > len(characters):
        return tail != ""
    return set((tail, other_tail)) != set((".", ""))


def jump_shape(jump, extension):
    """pattern_tokens of the extension a jump lands on ('${EXTEN:1}', '0531${EXTEN:1}'), when
    the route's own extension is the pattern extension: _9X. jumping with ${EXTEN:1} lands on
    what _X. matches. None when that cannot be told (no pattern, or a jump that is not digits
    and a part of ${EXTEN}): the jump may land on any extension."""
    parts = _DIGITS_AND_EXTEN.match(jump)
    if not parts or not extension or not extension.startswith("_"):
        return None
    characters, tail = pattern_tokens(extension)
    dropped = int(parts.group(2) or 0)
    if dropped > len(characters) and tail:
        characters, tail = (), "!"
    else:
        characters = characters[dropped:]
    return tuple(parts.group(1)) + characters, tail


def extension_matches(pattern, extension):
    """Whether a dialplan extension matches a literal extension as Asterisk's pbx.c matches it,
    both read by pattern_tokens (a name without '_' only itself, without its dashes): _X.
    matches 112, not s."""
    return patterns_meet(pattern_tokens(pattern), pattern_tokens(extension))


_LOCAL_CHANNEL = re.compile(r"^\s*Local/([^@&]+)@([^/&\s]+)", re.I)


def local_channels(dial_string):
    """(context in lower case, extension) of each Local channel a dial string calls
    (Dial(Local/${EXTEN:1}@outbound/n)): a call that starts over at that extension of that
    context, in a channel of its own, as a Goto would jump there."""
    return [(match.group(2).lower(), match.group(1).strip())
            for match in (_LOCAL_CHANNEL.match(target) for target in dial_string.split("&")) if match]


def conditional_branches(args):
    """The branches of GotoIf(condition?[label if true][:label if false]) and of
    ExecIf(condition?app(args)[:app(args)]), split where Asterisk splits them once ${...} and
    $[...] are substituted: not inside them."""
    parts = split_args(args, "?", 1)
    if len(parts) < 2:
        return []
    return [branch for branch in split_args(parts[1], ":", 1) if branch.strip()]


def goto_target(goto_args, context):
    """(context in lower case, extension) that Goto([[context,]extension,]priority) called from
    context jumps to, or None for a priority alone (the same extension)."""
    parts = [part.strip() for part in split_args(goto_args)]
    if len(parts) == 3:
        return parts[0].lower(), parts[1]
    if len(parts) == 2:
        return context.lower(), parts[0]
    return None


_DIGITS_AND_EXTEN = re.compile(r"^(\+?[0-9]*)\$\{EXTEN(?::(\d+))?\}$")


def substring(value, offset, length=None):
    """${VAR:offset:length} as Asterisk cuts it: a negative offset counts from the end, a negative
    length leaves that many characters off the end."""
    rest = value[max(0, len(value) + offset) if offset < 0 else offset:]
    if length is None:
        return rest
    return rest[:length] if length >= 0 else rest[:max(0, len(rest) + length)]


def with_extension(text, extension):
    """text as it runs after a Goto to extension (e.g. '${EXTEN:1}' or '0531${EXTEN:1}', the
    caller's ${EXTEN}, or a literal one such as '112'): its ${EXTEN} and ${EXTEN:m} read from it,
    so Goto(out,${EXTEN:1},1) to Dial(PJSIP/${EXTEN}@carrier) dials the caller's ${EXTEN:1}. What
    cannot be put so (a length or an offset from the end of the caller's) reads as a number that
    is not ${EXTEN}."""
    def composed(reference):
        offset = int(reference.group(1) or 0)
        length = int(reference.group(2)) if reference.group(2) else None
        if "${" not in extension:
            return substring(extension, offset, length)
        if length is not None or offset < 0:
            return "${GOTO_EXTEN}"
        if offset == 0:
            return extension
        parts = _DIGITS_AND_EXTEN.match(extension)
        if not parts:
            return "${GOTO_EXTEN}"
        digits, dropped = parts.group(1), int(parts.group(2) or 0)
        if offset <= len(digits):
            return digits[offset:] + ("${EXTEN:%d}" % dropped if dropped else "${EXTEN}")
        return "${EXTEN:%d}" % (dropped + offset - len(digits))

    return _EXTEN_REFERENCE.sub(composed, text)


_GOSUB = re.compile(r"^\s*([^()]*?)\s*(?:\((.*)\))?\s*$", re.S)
_ARGUMENT = re.compile(r"\$\{ARG([0-9]+)\}")


def gosub_call(gosub_args, context):
    """(target, arguments) of Gosub([[context,]exten,]priority(arguments)) called from context:
    target is (context in lower case, extension as written: ${EXTEN:1} stays itself; subroutine
    lookups lower it, subroutine_key), or None for a priority alone (the caller's own extension) or
    no such form; arguments are the call's arguments, split."""
    match = _GOSUB.match(gosub_args)
    if not match:
        return None, []
    target = [part.strip() for part in match.group(1).split(",")]
    arguments = split_args(match.group(2)) if match.group(2) is not None else []
    if len(target) == 3:
        return (target[0].lower(), target[1]), arguments
    if len(target) == 2:
        return (context.lower(), target[0]), arguments
    return None, arguments


def subroutine_key(target):
    """A gosub_call target as subroutine_bodies' keys have it: (context, extension) in lower case."""
    return None if target is None else (target[0], target[1].lower())


def subroutine_bodies(entries):
    """{(context, extension) in lower case: [(app, arguments) of each application there whose
    reading can reach a trunk (Dial(), Gosub(), ExecIf()...)]}, where a Gosub's subroutine is
    looked up."""
    bodies = {}
    for section, _line, extension, app, args in entries:
        if app in _TRUNK_APPS and extension is not None:
            bodies.setdefault((section.name.lower(), extension.pattern.lower()), []).append((app, args))
    return bodies


def local_area_code_prefixes(routes):
    """{digits a route puts before the number: ["[context] pattern (file:line)", ...]}, for the
    area code of local numbers (0531${EXTEN} from _ZXXXXXX: the carrier gets 0531 and the local
    number). Which of them is an area code is a question for libphonenumber, on the controller."""
    found = {}
    for route in routes or ():
        if route.get("prepend") and route.get("strip") is not None:
            found.setdefault(route["prepend"], []).append(route_where(route))
    return found


def route_where(route):
    """Where a route is, for the operator: "[context] pattern (file:line)"."""
    where = "[%s] %s" % (route["context"], route["pattern"])
    where = "%s (%s:%s)" % (where, route["file"], route.get("line")) if route.get("file") else where
    return "%s, landing on %s" % (where, route["landing"]) if route.get("landing") else where


# FreePBX's outbound routes (core functions.inc.php, outrt-N contexts) dial through
# Gosub(macro-dialout-trunk,s,1(<trunk id>,<number>,...)); the trunk's dial string is
# ${OUT_<id>}/<number>${OUT_<id>_SUFFIX} from [globals] (PJSIP: OUT_1=PJSIP, OUT_1_SUFFIX=@carrier),
# which the general reading of a subroutine cannot follow (its Dial() names ${OUT_${DIAL_TRUNK}}).
_FREEPBX_DIALOUT = ("macro-dialout-trunk", "s")


def freepbx_trunk_dial(call, globals_, trunk_endpoints):
    """(trunk, number) a FreePBX route's Gosub to macro-dialout-trunk (gosub_call's reading) sends
    to one of the trunks (e.g. ('carrier', '${EXTEN:1}')), or None when it is no such call."""
    target, arguments = call
    if subroutine_key(target) != _FREEPBX_DIALOUT or len(arguments) < 2:
        return None
    trunk_id = arguments[0].strip()
    suffix = last_value(globals_, "OUT_%s_SUFFIX" % trunk_id) or ""
    endpoint = suffix.strip().lstrip("@")
    wanted = [name.lower() for name in trunk_endpoints]
    if endpoint.lower() not in wanted if wanted else not endpoint:
        return None
    return endpoint, arguments[1]


def outside_line_read_as_dialed_too(routes, trunk_boundary):
    """Whether the phone's check also reads a number as dialed, outside line and all. Only
    without the trunk boundary (which judges the digits that reach the trunk, whatever route
    took them), and only where some routes strip the outside line and others dial the number as
    dialed: Asterisk's choice of route then decides which reading reaches the trunk."""
    if trunk_boundary:
        return False
    strips = set(bool(route["strip"]) for route in routes or () if route.get("strip") is not None)
    return strips == {True, False}


def infer_outside_line(routes, phone_contexts, switches=()):
    """(outside-line digits, None) read from the trunk routes, or (None, why) when the dialplan
    does not show it. A route that dials ${EXTEN:1} from _9X. strips the outside line 9; one
    that dials ${EXTEN} from _X. has none. Routes of both kinds agree with the digits (a number
    that starts with it is read without it, and both ways where outside_line_read_as_dialed_too
    says so); two different digits do not. A route of one extension that dials a number of its
    own (exten => 112,1,Dial(PJSIP/112@carrier), exten => 999,1,Goto(outbound,112,1)) tells
    nothing of the outside line and is left out. A switch the phones reach (phone_switches) dials
    what nobody can read: then the dialplan does not show the outside line."""
    if switches:
        return None, ("the phones' contexts hand the numbers they lack to a switch, whose routes no file or "
                      "'dialplan show' shows: %s" % "; ".join(switches))
    own_number = [route for route in routes or () if route["strip"] is None
                  and (route.get("landing") or not route["pattern"].startswith("_"))]
    routes = [route for route in routes or () if route not in own_number]
    if not routes:
        why = ("no Dial() to a trunk is seen from %s (routes through Macro, or variables that neither "
               "[globals] nor a Gosub's arguments set, cannot be read)"
               % ", ".join("[%s]" % c for c in phone_contexts))
        if own_number:
            why += "; only extensions that dial a number of their own: %s" % ", ".join(
                route_where(route) for route in own_number)
        return None, why
    digits, unclear = set(), []
    for route in routes:
        where = route_where(route)
        if route["strip"] is None:
            unclear.append("%s dials a number that is not ${EXTEN}" % where)
        elif route["strip"]:
            prefix = literal_prefix(route["pattern"])
            if len(prefix) < route["strip"]:
                unclear.append("%s drops %d digit(s) the pattern does not fix" % (where, route["strip"]))
            else:
                digits.add(prefix[:route["strip"]])
    if unclear:
        return None, "; ".join(unclear)
    if len(digits) > 1:
        return None, "routes drop different outside-line digits: %s" % ", ".join(sorted(digits))
    return (digits.pop() if digits else ""), None
