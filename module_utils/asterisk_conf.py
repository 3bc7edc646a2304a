# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read and edit Asterisk configuration files the way Asterisk reads them (main/config.c).

A generic ini editor breaks Asterisk files: sections share names (``[1001]`` endpoint, auth and
aor), templates ``[tpl](!)`` are inherited by ``[1001](tpl)``, keys repeat (``permit``, ``allow``,
``match``), ``=>`` is a separator too, ``;-- --;`` comments nest and ``#include`` pulls in globs.

The file is kept as its original lines. Edits rewrite or insert single lines, so comments and
every untouched line stay byte-for-byte, and ``parse(text).render() == text``.

Asterisk semantics reproduced here (main/config.c, process_text_line/config_text_file_load):
- ``;`` starts a comment unless escaped as ``\\;``; ``;--`` opens a nestable block comment
  that ``--;`` closes.
- ``[name]`` opens a section; ``[name](...)`` takes a comma list where ``!`` marks a template,
  ``+`` (optionally ``+filter``) appends to an earlier section of that name, and any other
  word inherits from the first earlier section of that name (template or not). Names
  (sections and keys) compare case-insensitively.
- ``key = value``, ``key => value`` and ``key += value`` (appends to the last value of key).
- ``#include`` / ``#tryinclude`` take a path or glob (with ``{a,b}``), relative to the Asterisk
  configuration directory (the top-level file's directory here); an ``#include`` that matches
  nothing makes Asterisk reject the whole file, ``#tryinclude`` does not. Options at the top
  of an included file continue the section that was current when it was included.

Where Asterisk silently ignores something that is almost certainly a mistake (text after
``]``, a stray ``--;``) this parser refuses it, so a hardening run never edits a file whose
meaning is unclear. Lines Asterisk skips with a warning (no ``=``, unknown directive) are kept
and reported in ``ConfigFile.warnings``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import ipaddress
import os
import re

from ansible.module_utils.voipguard_files import read_text

# voipguard's own files that add to the operator's objects ([name](+type=...)): toll_fraud_guard's
# pjsip_voipguard.conf adds to a trunk endpoint while the trunk boundary instance is on.
OWN_ADDITION_FILES = ("pjsip_voipguard.conf",)

# An addition to a category nobody defines any more (an extension deleted in a GUI, a trunk moved
# to pjsip_wizard.conf): Asterisk's config.c stops reading the file at its header (process_text_line
# returns -1), so every line after it in that file is lost, and goes on with the including file.
ORPHAN_ADDITION = "Category addition requested, but category"


def _own_addition_hint(section):
    if os.path.basename(section.config.filename) not in OWN_ADDITION_FILES:
        return ""
    return (" (voipguard's own file adds to %s, which the configuration no longer defines - moved to "
            "pjsip_wizard.conf, renamed or removed since the last run? Asterisk stops reading the file "
            "there; a run of the toolkit comments the addition out, or delete the section [%s](+...) "
            "from %s by hand)" % (section.name, section.name, section.config.filename))


def comment_out_section(text, lineno, note):
    """text with the section whose header is line ``lineno`` (1-based) commented out up to the
    next section header, after comment lines saying ``note`` (lines without ';'). Blank lines
    and comments stay as they are; nothing else changes."""
    lines = text.splitlines(True)
    index = lineno - 1
    if not 0 <= index < len(lines) or not lines[index].lstrip().startswith("["):
        raise ValueError("line %d is not a section header" % lineno)
    header = lines[index]
    newline = header[len(header.rstrip("\r\n")):] or "\n"
    end = index + 1
    while end < len(lines) and not lines[end].lstrip().startswith("["):
        end += 1
    body = [line if not line.strip() or line.lstrip().startswith(";") else ";" + line
            for line in lines[index:end]]
    return "".join(lines[:index] + ["; %s%s" % (part, newline) for part in note] + body + lines[end:])


def _past_orphan_additions(path, cut, config_dir=None, read=None, files=None, cut_files_fail=False):
    """(configs, {filename: new text}, [(filename, line, category)]): the include set of ``path``
    loaded again after each addition to a category nobody defines, its file's text replaced by
    ``cut(filename, text, line, category)``; that returning None, and any other error Asterisk
    would refuse, raises AsteriskConfigError as load() does. ``cut_files_fail``: each cut file
    still fails as Asterisk reads it (load()'s ``failing``), rather than being repaired."""
    texts = {}
    found = []
    read = read or _read

    def reading(name):
        return texts[name] if name in texts else read(name)

    for _attempt in range(1000):
        try:
            return load(path, config_dir=config_dir, read=reading, files=files,
                        failing=texts if cut_files_fail else ()), texts, found
        except AsteriskConfigError as exc:
            error = exc
            if cut_files_fail and exc.message.startswith(INCLUDE_LEVEL_EXCEEDED):
                # A plain #include refused for the level fails only the file that holds it (config.c's
                # process_text_line returns -1 there): cut there, it keeps its level too. Refused in
                # ``path`` itself, Asterisk refuses the whole configuration (cut returns None).
                new = cut(exc.filename, reading(exc.filename), exc.lineno, None)
                if new is None:
                    raise
                texts[exc.filename] = new
                continue
            if not exc.message.startswith(ORPHAN_ADDITION):
                raise
            text = reading(exc.filename)
            header = text.splitlines()[exc.lineno - 1].strip()
            category = header[1:header.index("]")] if "]" in header else header
            new = cut(exc.filename, text, exc.lineno, category)
            if new is None:
                raise
            texts[exc.filename] = new
            found.append((exc.filename, exc.lineno, category))
    raise error  # a thousand files cut, and still one more: give up as Asterisk would not


# voipguard's addition to an object it does not define is preceded by a section of the object's
# name that no PJSIP object type claims, but that the addition's filter (config.c matches it as a
# regular expression) does: config.c adds to the first section read that matches, so while the
# object is defined (read before) the addition goes to it, and once a GUI or the operator deletes
# it, to the placeholder. No orphan addition, so Asterisk neither stops reading the file (losing
# what follows the addition) nor keeps the include level it took (after nine such files every
# later include was skipped: the phones' guards read after them were off).
PLACEHOLDER_TYPE = "voipguard-placeholder-%s"
_PLACEHOLDER_NOTE = "; voipguard: where the addition below goes if [%s] is deleted"
_PLACEHOLDER_NOTE_START = "; voipguard: where the addition below goes "  # 0.3.0-dev wrote "once the GUI ..."
# The objects a GUI creates and deletes one by one (each checked on the lab's Asterisk 22). Not the
# singletons global and system: res_pjsip counts any [global] as its global object, and Asterisk
# refused pjsip.conf for a "duplicate object: 'global' of type 'global'".
PLACEHOLDER_KINDS = ("endpoint", "aor", "auth", "identify", "registration", "transport")
_TYPE_FILTER = re.compile(r"^type=(%s)$" % "|".join(PLACEHOLDER_KINDS))


def placeholder_type(addition_filter):
    """The placeholder's type for additions with filter ``addition_filter`` ("type=endpoint"), or
    None: not one of PLACEHOLDER_KINDS, or no plain type filter (a manager.conf user's addition:
    a placeholder there would be a user)."""
    match = _TYPE_FILTER.match(addition_filter or "")
    return PLACEHOLDER_TYPE % match.group(1) if match else None


def placeholders_for_additions(text, filename):
    """``text`` of object file ``filename`` with a placeholder section (see PLACEHOLDER_TYPE) before
    each ``[name](+type=...)`` addition that has none earlier in the file, and without the
    placeholders no addition after them needs any more."""
    config = parse(text, filename)
    lines, newline = config.lines, config.newline
    wanted, placeholders = {}, []
    for section in config.sections:
        if section.header is None:
            continue
        if section.is_addition:
            kind = placeholder_type(section.addition_filter)
            if kind is not None:
                wanted.setdefault((section.name.lower(), kind), section)
        elif (section.get("type") or "").startswith(PLACEHOLDER_TYPE % ""):  # ours, needed or not
            placeholders.append(section)
    edits = []  # (first line, end line, replacement), in no order yet
    for placeholder in placeholders:
        key = (placeholder.name.lower(), placeholder.get("type"))
        addition = wanted.get(key)
        if addition is not None and placeholder.span()[0] < addition.span()[0]:
            del wanted[key]
            continue
        first, end = placeholder.span()
        if first > 0 and lines[first - 1].raw.startswith(_PLACEHOLDER_NOTE_START):
            first -= 1
        while end < len(lines) and not lines[end].raw.strip():
            end += 1
        while end == len(lines) and first > 0 and not lines[first - 1].raw.strip():
            first -= 1  # the file's end: no blank line left behind
        edits.append((first, end, ""))
    for (_name, kind), addition in wanted.items():
        first = addition.span()[0]
        # Comment lines right above the header (no blank line between) describe it: they stay with it.
        while first > 0 and lines[first - 1].kind == "text" and lines[first - 1].raw.lstrip().startswith(";"):
            first -= 1
        edits.append((first, first, "%s%s[%s]%stype = %s%s%s" % (
            _PLACEHOLDER_NOTE % addition.name, newline, addition.name, newline, kind, newline, newline)))
    if not edits:
        return text
    raws = [line.raw for line in lines]
    if raws and not raws[-1].endswith("\n"):
        raws[-1] += newline
    for first, end, replacement in sorted(edits, reverse=True):
        raws[first:end] = [replacement] if replacement else []
    return "".join(raws)


def orphan_additions_commented_out(path, may_comment_out, config_dir=None, read=None, files=None):
    """The include set of ``path`` with every addition to a category nobody defines commented out,
    in the files ``may_comment_out(filename)`` allows: ({filename: new text}, [(filename, line,
    category)]), ({}, []) when there is none. Any other error Asterisk would refuse (and an orphan
    addition elsewhere) raises AsteriskConfigError, as load() does."""
    def comment_out(filename, text, lineno, category):
        if not may_comment_out(filename):
            return None
        return comment_out_section(text, lineno, [
            "voipguard: [%s] is defined nowhere any more (deleted in a GUI, renamed or moved?), and "
            "Asterisk stopped reading this file" % category,
            "at this addition to it, losing every line after it. The addition, kept as a comment:"])
    _configs, texts, found = _past_orphan_additions(path, comment_out, config_dir, read, files)
    return texts, found


def load_as_asterisk_reads(path, config_dir=None, read=None, files=None):
    """(configs, orphans): the include set of ``path`` as the running Asterisk has it, where load()
    raises at an addition to a category nobody defines: Asterisk stops reading that file there
    (and the files it would include below) and goes on with the file that included it.
    orphans: [(filename, line, category)] in reading order. In ``path`` itself the orphan makes
    Asterisk refuse the whole configuration (config.c returns CONFIG_STATUS_FILEINVALID to the
    module), and this raises as load() does."""
    def truncate(filename, text, lineno, _category):
        if os.path.normpath(filename) == os.path.normpath(path):
            return None
        return "".join(text.splitlines(True)[:lineno - 1])
    configs, _texts, found = _past_orphan_additions(path, truncate, config_dir, read, files, cut_files_fail=True)
    return configs, found


# Asterisk's default include depth limit (cfg->max_include_level).
MAX_INCLUDE_LEVEL = 10
INCLUDE_LEVEL_EXCEEDED = "maximum include level"

# Keys whose values are never shown (diffs, module results): the options of Asterisk 22's
# configuration files that hold a credential, by the last part of their name after '/' (a wizard's
# outbound_auth/password too), in any case: res_pjsip's auths (password, md5_cred,
# password_digest, oauth_secret, refresh_token), the manager's, ARI's and IAX2's secrets, xmpp.conf's
# oauth_secret, res_config_pgsql's and _mysql's dbpass, res_ldap's pass, hep.conf's
# capture_password, prometheus.conf's auth_password, rtp.conf's turnpassword, res_curl's
# ssl_keypasswd, websocket_client.conf's proxy_password, voicemail.conf's imappassword, imapsecret
# and authpassword (checked against the options their sources register).
_SECRET_NAME = r"(?:\w*password|\w*secret|\w*passwd|md5_cred|password_digest|refresh_token|(?:db)?pass)"
_SECRET_KEY = re.compile(r"^%s$" % _SECRET_NAME, re.IGNORECASE)
MASK = "********"
# A secret in a comment is still a secret (";password = 1001" left over from an edit, old
# credentials inside ";-- ... --;", "; old password = ..." after an option): from its '=' on.
_COMMENTED_SECRET = re.compile(r"^(.*?(?<!\w)[\w/]*?%s\s*=>?\s*)(\S.*?)(\s*)$" % _SECRET_NAME, re.IGNORECASE)
# IAX2's "register => user:secret@host" (iax.conf, and sip.conf's of older PBXs).
_REGISTER_SECRET = re.compile(r"^([^:@]*:)([^@]+)(@.*)$")

_WHITESPACE = " \t\r\n\v\f"


# Asterisk's own boolean words (main/utils.c, ast_true and ast_false), case-insensitive. A word
# in neither list (or no value) is neither: each caller says what Asterisk then assumes.
TRUE_WORDS = frozenset(["yes", "true", "y", "t", "1", "on"])
FALSE_WORDS = frozenset(["no", "false", "n", "f", "0", "off"])


def ast_true(value):
    """True when Asterisk reads the value as true (ast_true)."""
    return value is not None and str(value).strip().lower() in TRUE_WORDS


def ast_false(value):
    """True when Asterisk reads the value as false (ast_false)."""
    return value is not None and str(value).strip().lower() in FALSE_WORDS


class AsteriskConfigError(Exception):
    """A file Asterisk would refuse (or misread). str() is ``FILE:LINE: message``."""

    def __init__(self, message, filename="<string>", lineno=0):
        self.message = message
        self.filename = filename
        self.lineno = lineno
        super(AsteriskConfigError, self).__init__("%s:%s: %s" % (filename, lineno, message))


class Line(object):
    """One physical line. ``raw`` includes its line ending; ``kind`` says what Asterisk saw."""

    __slots__ = ("raw", "lineno", "kind", "key", "op", "value", "value_span", "sep",
                 "section", "directive", "argument")

    def __init__(self, raw, lineno=None, kind="text"):
        self.raw = raw
        self.lineno = lineno
        self.kind = kind  # text (blank/comment/ignored), header, option, directive, skipped (too long)
        self.key = None
        self.op = None  # "=", "=>" or "+="
        self.value = None
        self.value_span = None  # (start, end) of the value in raw, when contiguous
        self.sep = None  # raw text between key and value, e.g. " = "
        self.section = None  # header lines: their Section
        self.directive = None
        self.argument = None

    def __repr__(self):
        return "Line(%r, %r)" % (self.lineno, self.raw)


def _escape_value(value):
    return value.replace(";", "\\;")


def _strip_span(chars, start, end):
    while start < end and chars[start][0] in _WHITESPACE:
        start += 1
    while end > start and chars[end - 1][0] in _WHITESPACE:
        end -= 1
    return start, end


class _CommentState(object):
    def __init__(self):
        self.depth = 0
        self.opened_at = []


def _code_chars(raw, state, filename, lineno):
    """Return the non-comment characters of a line as [(char, index_in_raw)], like Asterisk.

    Escaped ``\\;`` yields ``;`` (the backslash dropped). ``state`` carries block comment depth.
    """
    out = []
    pos = 0  # Asterisk's new_buf: where the search for the next ';' starts

    def keep(start, end):
        out.extend((raw[k], k) for k in range(start, end))

    while True:
        j = raw.find(";", pos)
        if j < 0:
            if state.depth == 0:
                keep(pos, len(raw))
            return out
        if j > pos and raw[j - 1] == "\\":
            # Escaped semicolon: part of the value, without its backslash.
            if state.depth == 0:
                keep(pos, j - 1)
                out.append((";", j))
            pos = j + 1
        elif raw[j + 1:j + 3] == "--" and raw[j + 3:j + 4] != "-":
            if state.depth == 0:
                keep(pos, j)
            state.depth += 1
            state.opened_at.append(lineno)
            pos = j + 3
        elif j >= pos + 2 and raw[j - 2:j] == "--":
            if state.depth == 0:
                # Asterisk counts this as closing a comment never opened, then ignores the
                # rest of the file; refuse rather than guess.
                raise AsteriskConfigError("block comment end '--;' without a start", filename, lineno)
            state.depth -= 1
            state.opened_at.pop()
            pos = j + 1
        elif state.depth == 0:
            keep(pos, j)  # line comment: the rest of the line is a comment
            return out
        else:
            pos = j + 1


class Section(object):
    """One ``[name]`` block as written (or, with ``header`` None, options continuing a section
    of an including file). Keys compare case-insensitively, like ``ast_variable_retrieve``."""

    def __init__(self, config, name, header, lineno, is_template=False, templates=(),
                 is_addition=False, addition_filter=None, continues=None):
        self.config = config
        self.name = name
        self.header = header
        self.lineno = lineno
        self.is_template = is_template
        self.templates = list(templates)
        self.is_addition = is_addition
        self.addition_filter = addition_filter
        self.continues = continues

    def __repr__(self):
        return "Section(%r, type=%r, template=%r, line=%r)" % (
            self.name, self.type, self.is_template, self.lineno)

    # -- structure -------------------------------------------------------------------------
    def _bounds(self):
        lines = self.config.lines
        if self.header is None:
            start = 0
        else:
            # Remembered position, checked (edits shift lines), else searched again.
            cached = self.__dict__.get("_header_index")
            if cached is None or cached >= len(lines) or lines[cached] is not self.header:
                cached = _index(lines, self.header)
                self._header_index = cached  # pylint: disable=attribute-defined-outside-init
            start = cached + 1
        end = start
        while end < len(lines) and lines[end].kind != "header":
            end += 1
        return start, end

    def span(self):
        """(first, end) indexes into the file's lines of the section itself: its header (or the
        file's start) to its last option or directive. Comments and blank lines after that usually
        describe what follows, so they are not the section's."""
        start, end = self._bounds()
        last = start
        for index in range(start, end):
            if self.config.lines[index].kind in ("option", "directive"):
                last = index + 1
        return (start - 1 if self.header is not None else start), last

    def holds_include(self):
        """Whether an #include (or #exec) line stands among the section's options."""
        first, last = self.span()
        return any(self.config.lines[index].kind == "directive" for index in range(first, last))

    @property
    def lines(self):
        start, end = self._bounds()
        return self.config.lines[start:end]

    def _option_lines(self, key=None):
        wanted = None if key is None else key.lower()
        return [line for line in self.lines if line.kind == "option"
                and (wanted is None or line.key.lower() == wanted)]

    # -- reading ---------------------------------------------------------------------------
    @property
    def options(self):
        """Own options as written: [(key, value)], ``+=`` lines included as (key, value)."""
        return [(line.key, line.value) for line in self._option_lines()]

    def get_all(self, key):
        """Own values of key (in any case) in order, with ``+=`` applied as config.c does."""
        variables = []
        for line in self._option_lines(key):
            set_variable(variables, line)
        return [value for _name, value in variables]

    def get(self, key):
        values = self.get_all(key)
        return values[-1] if values else None

    @property
    def type(self):
        """The ``type`` value, own or inherited from templates; None if there is none."""
        own = self.get("type")
        if own is not None:
            return own
        # An included file that starts with options continues this section (config.c), so
        # "[1001]\n#include body.conf" may get its type there. A type= arriving through a (+)
        # addition is too odd to look for.
        continued = [value for value in (part.get("type") for part in _group_sections(self.config)
                                         if part.continues is self) if value is not None]
        if continued:
            return continued[-1]
        try:
            effective = _effective(self, _group_sections(self.config), set(), with_parts=False)
        except AsteriskConfigError:
            return None  # template in a file not loaded with this one: type unknown
        values = effective.get("type")
        return values[-1] if values else None

    # -- editing ---------------------------------------------------------------------------
    def _newline(self):
        return self.config.newline

    def _new_option_line(self, key, value):
        """A new ``key = value`` line in the style (separator, indent) of its neighbours:
        the same key in this section, else the section's last option, else the file's."""
        own = self._option_lines()
        same_key = [line for line in own if line.key.lower() == key.lower()]
        model = None
        for candidates in (same_key, own, [l for l in self.config.lines if l.kind == "option"]):
            usable = [line for line in candidates if line.sep is not None and line.op != "+="]
            if usable:
                model = usable[-1]
                break
        sep, indent = " = ", ""
        if model is not None:
            sep = model.sep.replace("=>", "=") if model.op == "=>" and model.key.lower() != key.lower() \
                else model.sep
            if not sep.endswith((" ", "\t")) and sep.startswith((" ", "\t")):
                sep += " "  # the model had an empty value
            indent = model.raw[:len(model.raw) - len(model.raw.lstrip(" \t"))]
        escaped = _escape_value(value)
        raw = "%s%s%s%s%s" % (indent, key, sep, escaped, self._newline())
        line = Line(raw, None, "option")
        line.key, line.value, line.sep = key, value, sep
        line.op = "=>" if "=>" in sep else "="
        start = len(indent) + len(key) + len(sep)
        line.value_span = (start, start + len(escaped))
        return line

    def _insert_position(self):
        """Index after the section's last option (before trailing comments and before an
        #include that follows its options, so new options stay visibly in the section)."""
        start, end = self._bounds()
        pos = start
        for i in range(start, end):
            if self.config.lines[i].kind == "option":
                pos = i + 1
        return pos

    def _insert(self, pos, new_lines):
        lines = self.config.lines
        if pos > 0 and not lines[pos - 1].raw.endswith("\n"):
            lines[pos - 1].raw += self._newline()
        # A line moved here may be the file's last, without a newline: every line followed by
        # another needs one, or the two would read as one.
        for index, line in enumerate(new_lines):
            if not line.raw.endswith("\n") and (index < len(new_lines) - 1 or pos < len(lines)):
                line.raw += self._newline()
        lines[pos:pos] = new_lines

    @staticmethod
    def _rewrite(line, value):
        if line.value == value and line.op != "+=":
            return False
        escaped = _escape_value(value)
        if line.value_span is not None and line.op != "+=":
            start, end = line.value_span
            prefix = line.raw[:start]
            if start == end and prefix and prefix[-1] not in " \t" and line.sep and line.sep[0] in " \t":
                escaped = " " + escaped
            rest = line.raw[end:]
            # A value ending in a backslash would escape a comment's ";" right after it.
            gap = " " if escaped.endswith("\\") and rest.startswith(";") else ""
            line.raw = prefix + escaped + gap + rest
            line.value_span = (start, start + len(escaped))
        else:
            ending = line.raw[len(line.raw.rstrip("\r\n")):]
            indent = line.raw[:len(line.raw) - len(line.raw.lstrip(" \t"))]
            sep = " = "
            line.raw = "%s%s%s%s%s" % (indent, line.key, sep, escaped, ending)
            line.sep = sep
            line.value_span = (len(indent) + len(line.key) + len(sep), len(line.raw) - len(ending))
        if line.op == "+=":
            line.op = "="
        line.value = value
        return True

    def set(self, key, value):
        """Make key have exactly one value: the first occurrence is rewritten in place, the
        others removed; appended after the section's last option if absent. Returns changed."""
        return self.set_all(key, [value])

    def set_all(self, key, values):
        """Make key's own values exactly ``values`` (order kept), at the place of its first
        occurrence. An empty list removes the key. Returns True when the text changed."""
        values = [str(v) for v in values]
        existing = self._option_lines(key)
        if [line.value for line in existing] == values and all(l.op != "+=" for l in existing):
            return False
        if not values:
            return self.remove(key)
        lines = self.config.lines
        if not existing:
            pos = self._insert_position()
            self._insert(pos, [self._new_option_line(key, v) for v in values])
            return True
        keep = existing[:len(values)]
        for line, value in zip(keep, values):
            self._rewrite(line, value)
        for line in existing[len(values):]:
            lines.remove(line)
        extra = values[len(keep):]
        if extra:
            pos = _index(lines, keep[-1]) + 1
            self._insert(pos, [self._new_option_line(key, v) for v in extra])
        return True

    def set_sequence(self, keys, pairs):
        """Make the lines of ``keys`` exactly ``pairs`` [(key, value)], in that order, at the
        place of the first of them (order matters for ACLs: deny then permit). Lines whose key
        matches keep their comments. Returns True when the text changed."""
        wanted_keys = set(k.lower() for k in keys)
        pairs = [(k, str(v)) for k, v in pairs]
        existing = [l for l in self._option_lines() if l.key.lower() in wanted_keys]
        if [(l.key.lower(), l.value, l.op) for l in existing] == [
                (k.lower(), v, "=") for k, v in pairs]:
            return False
        lines = self.config.lines
        pos = _index(lines, existing[0]) if existing else self._insert_position()
        for line in existing:
            lines.remove(line)
        new_lines = []
        reusable = list(existing)
        for key, value in pairs:
            if reusable and reusable[0].key.lower() == key.lower():
                line = reusable.pop(0)
                self._rewrite(line, value)
                new_lines.append(line)
            else:
                new_lines.append(self._new_option_line(key, value))
        self._insert(pos, new_lines)
        return True

    def add(self, key, value):
        """Append one more occurrence of key (for repeated keys). Returns True."""
        existing = self._option_lines(key)
        pos = _index(self.config.lines, existing[-1]) + 1 if existing else self._insert_position()
        self._insert(pos, [self._new_option_line(key, str(value))])
        return True

    def remove(self, key):
        """Remove every occurrence of key. Returns True when something was removed."""
        existing = self._option_lines(key)
        for line in existing:
            self.config.lines.remove(line)
        return bool(existing)


def _index(items, item):
    # Line and Section define no __eq__, so list.index compares identity (at C speed).
    return items.index(item)


class ConfigFile(object):
    """One configuration file: its lines, sections and include directives."""

    def __init__(self, filename="<string>"):
        self.filename = filename
        self.lines = []
        self.sections = []
        self.includes = []  # (directive, pattern, lineno)
        self.warnings = []  # (lineno, message) for lines Asterisk ignores with a warning
        self.newline = "\n"
        self.original = ""
        self.group = [self]  # files loaded together (load()), for template lookups
        # (ordinal in includes, index in group) of each file an include loaded: Asterisk reads an
        # included file at its #include line, so its sections come before the lines below it.
        self.included = []
        self.version = 0  # bumped by section additions/removals

    def __repr__(self):
        return "ConfigFile(%r, %d sections)" % (self.filename, len(self.sections))

    def render(self):
        return "".join(line.raw for line in self.lines)

    @property
    def changed(self):
        return self.render() != self.original

    def find(self, name, type=None):  # pylint: disable=redefined-builtin
        """Sections named ``name`` (case-insensitive), optionally of a type (own or inherited)."""
        wanted = name.lower()
        found = [s for s in self.sections if s.header is not None and s.name.lower() == wanted]
        if type is not None:
            found = [s for s in found if (s.type or "").lower() == type.lower()]
        return found

    def add_section(self, name, templates=(), is_template=False, addition=None):
        """Append ``[name]`` / ``[name](!,tpl)`` at the end of the file, after a blank line.
        ``addition``: a filter ("type=endpoint") or "" makes it ``[name](+type=endpoint)``."""
        if not name or "]" in name or "\n" in name:
            raise ValueError("invalid section name %r" % (name,))
        flags = (["!"] if is_template else []) + list(templates)
        if addition is not None:
            flags = ["+" + addition]
        header_text = "[%s]" % name + ("(%s)" % ",".join(flags) if flags else "")
        new = []
        if self.lines:
            if not self.lines[-1].raw.endswith("\n"):
                self.lines[-1].raw += self.newline
            if self.lines[-1].raw.strip():
                new.append(Line(self.newline))
        header = Line(header_text + self.newline, None, "header")
        section = Section(self, name, header, None, is_template, templates,
                          is_addition=addition is not None, addition_filter=addition or None)
        header.section = section
        new.append(header)
        self.lines.extend(new)
        self.sections.append(section)
        self.version += 1
        return section

    def remove_section(self, section):
        """Remove a section's header and options (and comments between them). Comments after
        its last option stay: they usually describe what follows."""
        if section not in self.sections:
            raise ValueError("section is not in this file")
        first, last = section.span()
        if section.holds_include():
            # Without its header, what the included file holds would read as the section above's.
            raise ValueError("[%s] holds an #include line: remove it by hand" % section.name)
        # Comment lines right above the header (no blank line between) describe it.
        while first > 0 and self.lines[first - 1].kind == "text" and \
                self.lines[first - 1].raw.lstrip().startswith(";"):
            first -= 1
        del self.lines[first:last]
        # Do not leave two blank lines where the section was.
        while (0 < first < len(self.lines) and not self.lines[first].raw.strip()
               and not self.lines[first - 1].raw.strip()):
            del self.lines[first]
        self.sections.remove(section)
        self.version += 1


def parse(text, filename="<string>", continues=None):
    """Parse one file's text (includes are recorded, not followed).

    ``continues``: the Section options before the first header belong to (load() passes the
    section current at the ``#include``); without it such options are an error, as in Asterisk.
    """
    config = ConfigFile(filename)
    config.original = text
    raw_lines = re.findall(r"[^\n]*\n|[^\n]+$", text)
    if raw_lines and raw_lines[0].endswith("\r\n"):
        config.newline = "\r\n"
    state = _CommentState()
    current = None
    skipped = lines_asterisk_skips(raw_lines)
    for number, raw in enumerate(raw_lines, start=1):
        line = Line(raw, number)
        config.lines.append(line)
        if number - 1 in skipped:
            line.kind = "skipped"
            config.warnings.append((number, skipped[number - 1]))
            continue
        chars = _code_chars(raw, state, filename, number)
        start, end = _strip_span(chars, 0, len(chars))
        if start == end:
            continue
        first = chars[start][0]
        if first == "[":
            section = _parse_header(config, line, chars, start, end)
            section._header_index = number - 1  # pylint: disable=protected-access
            config.sections.append(section)
            current = section
        elif first == "#":
            _parse_directive(config, line, chars, start, end)
        else:
            if current is None:
                if continues is None:
                    raise AsteriskConfigError(
                        "parse error: No category context (option before any [section])",
                        filename, number)
                current = Section(config, continues.name, None, number,
                                  continues.is_template, (), False, None, continues)
                config.sections.append(current)
            _parse_option(config, line, chars, start, end)
    if state.depth:
        raise AsteriskConfigError("unterminated block comment ';--'", filename, state.opened_at[0])
    return config


# config.c reads a file with fgets() into an 8192-byte buffer (not a LOW_MEMORY build).
READ_BUFFER = 8192


def lines_asterisk_skips(raw_lines):
    """{index: why} of the lines config.c never reads: a read that fills its buffer without
    reaching the newline (8191 bytes) is "too long", and the line is skipped to its end. So a line
    of 8191 bytes or more before its newline is skipped; one byte less is read (the lab's
    Asterisk 22: "Line N too long, skipping", and the next line read)."""
    full = READ_BUFFER - 1
    skipped = {}
    for index, raw in enumerate(raw_lines):
        content = raw[:-1] if raw.endswith("\n") else raw
        # Bytes as UTF-8 (a Latin-1 file's non-ASCII counts double); a short line needs no encoding.
        size = len(content) if len(content) * 4 < full else len(content.encode("utf-8", "surrogateescape"))
        if size >= full:
            skipped[index] = ("line of %d bytes: too long for Asterisk, which skips it (config.c reads "
                              "lines of up to %d bytes)" % (size, full - 1))
    return skipped


def _text(chars, start, end):
    return "".join(c for c, _ in chars[start:end])


def _parse_header(config, line, chars, start, end):
    filename, number = config.filename, line.lineno
    text = _text(chars, start, end)
    close = text.find("]")
    if close < 0:
        raise AsteriskConfigError("parse error: no closing ']' in section header", filename, number)
    name = text[1:close]
    if not name:
        raise AsteriskConfigError("empty section name", filename, number)
    rest = text[close + 1:]
    is_template, templates, is_addition, addition_filter = False, [], False, None
    if rest.startswith("("):
        paren = rest.find(")")
        if paren < 0:
            raise AsteriskConfigError("parse error: no closing ')' in section header", filename, number)
        for token in rest[1:paren].split(","):
            if token == "!":
                is_template = True
            elif token.startswith("+"):
                is_addition = True
                addition_filter = token[1:] or None
            elif not token:
                raise AsteriskConfigError(
                    "empty template name in section header [%s]" % name, filename, number)
            elif token != token.strip():
                raise AsteriskConfigError(
                    "template name %r has spaces around it (Asterisk looks up the name with "
                    "the spaces and fails)" % token, filename, number)
            else:
                templates.append(token)
        rest = rest[paren + 1:]
    if rest.strip():
        raise AsteriskConfigError(
            "unexpected text %r after section header [%s] (Asterisk ignores it; "
            "template lists must follow ']' directly, as in [name](!))" % (mask_inline_secret(rest.strip()), name),
            filename, number)
    line.kind = "header"
    section = Section(config, name, line, number, is_template, templates, is_addition,
                      addition_filter)
    line.section = section
    return section


def _parse_directive(config, line, chars, start, end):
    text = _text(chars, start, end)
    match = re.match(r"#(\S*)\s*(.*)$", text, re.S)
    directive, argument = match.group(1).lower(), match.group(2).strip()
    if directive not in ("include", "tryinclude", "exec"):
        config.warnings.append((line.lineno, "unknown directive '#%s' (ignored by Asterisk)" % directive))
        return
    if not argument:
        config.warnings.append((line.lineno, "directive '#%s' needs an argument" % directive))
        return
    if argument[0] in "\"<":
        closing = ">" if argument[0] == "<" else '"'
        if len(argument) > 1 and argument.endswith(closing):
            argument = argument[1:-1]
    line.kind = "directive"
    line.directive = directive
    line.argument = argument
    config.includes.append((directive, argument, line.lineno))


def _parse_option(config, line, chars, start, end):
    filename, number = config.filename, line.lineno
    escaped = chars[start][0] == "\\"
    if escaped and (start + 1 >= end or ord(chars[start + 1][0]) < 33):
        raise AsteriskConfigError("invalid escape", filename, number)
    search_from = start + (2 if escaped else 0)
    eq = None
    for i in range(search_from, end):
        if chars[i][0] == "=":
            eq = i
            break
    if eq is None:
        config.warnings.append((number, "no '=' in line (ignored by Asterisk)"))
        return
    key_end, value_start, op = eq, eq + 1, "="
    if eq > search_from and chars[eq - 1][0] == "+":
        key_end, op = eq - 1, "+="
    elif eq + 1 < end and chars[eq + 1][0] == ">":
        value_start, op = eq + 2, "=>"
    key_start = start + (1 if escaped else 0)
    ks, ke = _strip_span(chars, key_start, key_end)
    if ks == ke:
        config.warnings.append((number, "no option name in line (ignored by Asterisk)"))
        return
    vs, ve = _strip_span(chars, value_start, end)
    line.kind = "option"
    line.key = _text(chars, ks, ke)
    line.op = op
    line.value = _text(chars, vs, ve)
    raw_key_end = chars[ke - 1][1] + 1
    if vs < ve:
        raw_vs, raw_ve = chars[vs][1], chars[ve - 1][1] + 1
        # The backslash of an escaped leading ';' belongs to the value span.
        if chars[vs][0] == ";" and raw_vs > 0 and line.raw[raw_vs - 1] == "\\":
            raw_vs -= 1
    else:
        raw_vs = raw_ve = chars[value_start - 1][1] + 1
        while raw_vs < len(line.raw) and line.raw[raw_vs] in " \t":
            raw_vs += 1
        raw_ve = raw_vs
    span_ok = all(chars[i + 1][1] - chars[i][1] in (1, 2) for i in range(vs, ve - 1))
    line.value_span = (raw_vs, raw_ve) if span_ok else None
    line.sep = line.raw[raw_key_end:raw_vs] if chars[ks][1] + len(line.key) == raw_key_end else None


# -- loading with includes ---------------------------------------------------------------------

def _expand_braces(pattern):
    match = re.search(r"\{([^{}]*)\}", pattern)
    if not match:
        return [pattern]
    out = []
    for alternative in match.group(1).split(","):
        out.extend(_expand_braces(pattern[:match.start()] + alternative + pattern[match.end():]))
    return out


def local_files(pattern):
    """The regular files of this machine one brace-free include pattern names, sorted as glob(3)."""
    if glob.has_magic(pattern):
        return sorted(path for path in glob.glob(pattern) if os.path.isfile(path))
    return [pattern] if os.path.isfile(pattern) else []


def expand_include(pattern, config_dir, files=local_files):
    """Files an include pattern names, in Asterisk's order (glob(3) sorted, braces expanded).

    files(pattern): the files one brace-free pattern names, on whatever machine holds them."""
    if not pattern.startswith("/"):
        pattern = config_dir.rstrip("/") + "/" + pattern
    found = []
    for alternative in _expand_braces(pattern):
        found.extend(files(alternative))
    return found


def load(path, follow_includes=True, config_dir=None, read=None, files=None, failing=()):
    """Parse ``path`` and (by default) every file it includes, in Asterisk's reading order.

    Relative include patterns resolve against ``config_dir`` (Asterisk's astetcdir), by
    default the directory of ``path``. ``#include`` of nothing is an error, ``#tryinclude`` not.
    Templates must be defined before use across the whole set, as Asterisk requires.
    read(path) -> text and files(pattern) -> paths reach the files (default: this machine's);
    the audit passes functions that read the PBX over its connection, so both judge the same
    configuration the same way.
    ``failing``: included files Asterisk stops reading with an error (cut at an orphan addition
    by load_as_asterisk_reads). config.c then skips the rest of their #include's glob and never
    gives back the include level the file took, so that after enough of them every later include
    is beyond the limit: a #tryinclude is skipped without a word, an #include fails.
    """
    if config_dir is None:
        config_dir = os.path.dirname(os.path.abspath(path))
    configs = []
    state = {"failing": set(os.path.normpath(name) for name in failing), "leaked": 0}
    _load_into(configs, path, None, config_dir, follow_includes, 1, read or _read, files or local_files, state)
    for config in configs:
        config.group = configs
    if follow_includes:
        _check_references(configs)
    return configs


def _read(path):
    return read_text(path)[0]


def _load_into(configs, path, continues, config_dir, follow, level, read, files, state, order=None):
    """``state``: load()'s failing files and the include levels they kept."""
    config = parse(read(path), path, continues=continues)
    configs.append(config)
    order = [] if order is None else order  # sections in reading order, for continuations
    sections = list(config.sections)
    if not follow:
        return
    for ordinal, (directive, pattern, lineno) in enumerate(config.includes):
        while sections and sections[0].lineno < lineno:
            order.append(sections.pop(0))
        if directive == "exec":
            continue  # runs a program: never executed by a parser
        # config.c's ast_config_internal_load refuses a file when the level it would take
        # (levels its failed files never gave back included) is beyond max_include_level.
        if level + state["leaked"] > MAX_INCLUDE_LEVEL:
            if directive == "tryinclude":
                continue
            raise AsteriskConfigError("%s (%d) exceeded" % (INCLUDE_LEVEL_EXCEEDED, MAX_INCLUDE_LEVEL),
                                      path, lineno)
        included_files = expand_include(pattern, config_dir, files)
        if not included_files and directive == "include":
            raise AsteriskConfigError(
                "The file '%s' was listed as a #include but it does not exist" % pattern,
                path, lineno)
        for included in included_files:
            config.included.append((ordinal, len(configs)))
            # Asterisk continues the most recently opened section of the whole load.
            _load_into(configs, included, _last_section(order), config_dir, follow, level + 1,
                       read, files, state, order)
            if os.path.normpath(included) in state["failing"]:
                state["leaked"] += 1
                break  # the rest of the glob is not read
    order.extend(sections)


def _last_section(order):
    for section in reversed(order):
        if section.header is not None:
            return section
    return None


def _check_references(configs):
    seen = []
    every = _all_sections(configs)
    for section in every:
        if section.header is not None:
            for template in section.templates:
                if not any(s.name.lower() == template.lower() for s in seen):
                    raise AsteriskConfigError(
                        "Inheritance requested, but category '%s' does not exist" % template,
                        section.config.filename, section.lineno)
            if section.is_addition and _addition_target(section, seen, every) is None:
                raise AsteriskConfigError(
                    "%s '%s' does not exist%s" % (ORPHAN_ADDITION, section.name, _own_addition_hint(section)),
                    section.config.filename, section.lineno)
        seen.append(section)


# -- effective options -------------------------------------------------------------------------

def _all_sections(configs):
    """Every section of a group, in Asterisk's reading order: an included file's sections
    where its #include line is (load() records which file each include loaded)."""
    if isinstance(configs, ConfigFile):
        configs = [configs]
    out = []
    walked = set()

    def walk(index):
        walked.add(index)
        config = configs[index]
        sections = list(config.sections)
        for ordinal, child in config.included:
            # An edited copy may have lost the directive: its files then come last.
            lineno = config.includes[ordinal][2] if ordinal < len(config.includes) else float("inf")
            while sections and sections[0].lineno < lineno:
                out.append(sections.pop(0))
            if child < len(configs) and child not in walked:
                walk(child)
        out.extend(sections)

    for index in range(len(configs)):
        if index not in walked:
            walk(index)
    return out


def _group_sections(config):
    # Cached per group and edit count: Section.type is asked for every section of big files.
    key = tuple((id(c), c.version) for c in config.group)
    cache = config.__dict__.get("_sections_cache")
    if cache is None or cache[0] != key:
        cache = (key, _all_sections(config.group))
        config._sections_cache = cache  # pylint: disable=protected-access
    return cache[1]


def _matches_filter(section, all_sections, flt):
    if not flt:
        return not section.is_template
    templates = None
    for expression in re.split(r"[,&]", flt):
        if "=" not in expression:
            return False
        name, value = [part.strip() for part in expression.split("=", 1)]
        if name == "TEMPLATES":
            templates = value.lower()
            continue
        # Asterisk matches the category's variables, inherited ones included.
        variables = _effective(section, all_sections, set(), with_parts=False)
        try:
            if not any(re.search(name, key) and re.search(value, v)
                       for key, values in variables.items() for v in values):
                return False
        except re.error:
            return False  # Asterisk's regcomp fails: nothing matches
    # config.c: a template matches only with TEMPLATES=include or restrict; restrict, only one.
    if templates == "restrict":
        return section.is_template
    return templates == "include" or not section.is_template


def _extra_parts(target, all_sections):
    """Continuations and ``(+)`` additions that Asterisk merges into ``target``."""
    parts = []
    for section in all_sections:
        owner = section.continues
        if owner is not None and owner.is_addition:
            # Asterisk continues the category the addition added to.
            owner = _addition_target(owner, all_sections[:_index(all_sections, owner)], all_sections)
        if owner is target and owner is not None:
            parts.append(section)
        elif section.is_addition and section.name.lower() == target.name.lower():
            earlier = all_sections[:_index(all_sections, section)]
            if _addition_target(section, earlier, all_sections) is target:
                parts.append(section)
    return parts


def _addition_target(addition, earlier, all_sections):
    """The section an ``[name](+filter)`` addition adds to: the first section read before it
    with its name that the filter matches (config.c's ast_category_get), or None (an orphan)."""
    for section in earlier:
        if section.name.lower() == addition.name.lower() and not section.is_addition \
                and section.continues is None and _matches_filter(section, all_sections, addition.addition_filter):
            return section
    return None


def _find_base(name, before, all_sections):
    for section in all_sections:
        if section is before:
            break
        if section.name.lower() == name.lower() and not section.is_addition and section.continues is None:
            return section
    return None


def _effective(section, all_sections, visiting, with_parts=True, before=None):
    """{lower-case key: [values]} of ``section`` as Asterisk builds its category."""
    named = _named_effective(section, all_sections, visiting, with_parts, before)
    return dict((key, [value for _name, value in entries]) for key, entries in named.items())


def _parts_read_before(section, before, all_sections):
    """``section`` and the parts merged into it (continuations, ``(+)`` additions), only those read
    before ``before``'s header when given: a category inherits a copy of its template as it is
    then (config.c's ast_category_inherit), and a later ``[tpl](+TEMPLATES=include)`` does
    not reach it."""
    parts = [section] + _extra_parts(section, all_sections)
    if before is None:
        return parts
    cutoff = _index(all_sections, before)
    return [section] + [part for part in parts[1:] if _index(all_sections, part) < cutoff]


def _named_effective(section, all_sections, visiting, with_parts=True, before=None):
    if id(section) in visiting:
        raise AsteriskConfigError("template inheritance loop at [%s]" % section.name,
                                  section.config.filename, section.lineno)
    visiting = visiting | {id(section)}
    result = {}  # lower-case key -> [(key as written, value)] in the order Asterisk set them
    order = []

    def variables(key):
        lower = key.lower()
        if lower not in result:
            result[lower] = []
            order.append(lower)
        return result[lower]

    if section in all_sections:  # identity: Section defines no __eq__
        for template in section.templates:
            base = _find_base(template, section, all_sections)
            if base is None:
                raise AsteriskConfigError(
                    "Inheritance requested, but category '%s' does not exist" % template,
                    section.config.filename, section.lineno)
            for lower, entries in _named_effective(base, all_sections, visiting, before=section).items():
                variables(lower).extend(entries)  # copied, key names and all
        parts = _parts_read_before(section, before, all_sections) if with_parts else [section]
    else:
        parts = [section]
    for part in parts:
        for line in part._option_lines():  # pylint: disable=protected-access
            set_variable(variables(line.key), line)
    return dict((key, result[key]) for key in order)


def set_variable(variables, line):
    """Set option ``line`` in ``variables`` ([(key as written, value)] of one key in any case) as
    config.c does. "key += text": the last variable of exactly that name (case counts) gets the
    text after the '=' as written, blanks included, its ends trimmed; with none, a new one."""
    if line.op == "+=":
        sep = line.sep or ""
        appended = (sep[sep.rfind("=") + 1:] if "=" in sep else "") + line.value
        for index in range(len(variables) - 1, -1, -1):
            name, old = variables[index]
            if name == line.key:
                variables[index] = (name, (old + appended).strip())
                return
    variables.append((line.key, line.value))


def iter_sections(configs, type=None, templates=False):  # pylint: disable=redefined-builtin
    """Every real section (header written) across files, optionally of one type.
    Templates are skipped unless ``templates`` is true."""
    for section in _all_sections(configs):
        if section.header is None or section.is_addition:
            continue
        if section.is_template and not templates:
            continue
        if type is not None and (section.type or "").lower() != type.lower():
            continue
        yield section


def last_value(effective, key, default=None):
    """The value Asterisk uses of an option in resolve()'s result: the last one set."""
    values = effective.get(key.lower()) or []
    return values[-1] if values else default


def resolve(configs, name, type=None):  # pylint: disable=redefined-builtin
    """Effective options of section ``name`` (of ``type``) after templates, ``(+)`` additions
    and ``+=``: {lower-case key: [values in order]}. The first concrete match wins; a template
    is used only if no concrete section matches. {} when there is no such section."""
    all_sections = _all_sections(configs)
    candidates = [s for s in all_sections if s.header is not None and not s.is_addition
                  and s.name.lower() == name.lower()]
    for want_template in (False, True):
        for section in candidates:
            if section.is_template != want_template:
                continue
            effective = _effective(section, all_sections, set())
            section_type = (effective.get("type") or [None])[-1]
            if type is None or (section_type or "").lower() == type.lower():
                return effective
    return {}


def acl_rules(configs, section):
    """``section``'s (action, network) deny/permit rules in the order Asterisk applies them:
    inherited ones first, then its own and what is merged into it. The last match wins."""
    all_sections = _all_sections(configs)
    parts = _inherited_parts(section, all_sections, set()) + _parts_read_before(section, None, all_sections)
    return [(line.key.lower(), line.value.strip()) for part in parts
            for line in part._option_lines()  # pylint: disable=protected-access
            if line.key.lower() in ("deny", "permit")]


def acl_open_families(rules):
    """The address families ("IPv4", "IPv6") some source of which these rules let in. A family is
    shut only by a deny of its whole space with no permit after it (Asterisk's ACLs allow by
    default and the last matching rule wins); [] means the rules refuse everyone."""
    open_families = []
    for family, version in (("IPv4", 4), ("IPv6", 6)):
        shut = False
        for action, network in rules:
            try:
                net = ipaddress.ip_network(network.replace("/255.255.255.255", "/32"), strict=False)
            except ValueError:
                continue
            if net.version != version:
                continue
            if action == "deny" and net.prefixlen == 0:
                shut = True
            elif action == "permit":
                shut = False
        if not shut:
            open_families.append(family)
    return open_families


def resolve_section(configs, section):
    """Effective options of one given Section (as resolve(), without the lookup by name)."""
    return _effective(section, _all_sections(configs), set())


def inherited_parts(configs, section):
    """The sections whose lines Asterisk copies into ``section`` from the categories it inherits
    (``[ctx](tpl)``), in the order config.c copies them: each one's own inherited lines first,
    then it and the parts merged into it before ``section``'s header. A dialplan context runs
    them before its own lines (pbx_config.c reads its category's variables in order)."""
    return _inherited_parts(section, _all_sections(configs), set())


def _inherited_parts(section, all_sections, visiting):
    if id(section) in visiting:
        raise AsteriskConfigError("template inheritance loop at [%s]" % section.name,
                                  section.config.filename, section.lineno)
    visiting = visiting | {id(section)}
    parts = []
    for template in section.templates:
        base = _find_base(template, section, all_sections)
        if base is not None:  # (load() refuses a file that names a category it lacks)
            parts.extend(_inherited_parts(base, all_sections, visiting))
            parts.extend(_parts_read_before(base, section, all_sections))
    return parts


def merged_parts(configs, section):
    """The continuations and ``(+)`` additions (their filter admitting ``section``) that Asterisk
    merges into ``section``, in the order it reads them: their lines come after its own."""
    return _extra_parts(section, _all_sections(configs))


def defining_section(configs, section, key):
    """The section whose ``key`` line Asterisk uses for ``section`` - the section itself, a part
    merged into it (a continuation, a ``(+)`` addition its filter admits) or a template it
    inherits from, the last one read winning as in _effective - or None when nothing sets it."""
    return _defining_section(section, key.lower(), _all_sections(configs), set())


def _defining_section(section, key, all_sections, visiting, before=None):
    if id(section) in visiting:
        raise AsteriskConfigError("template inheritance loop at [%s]" % section.name,
                                  section.config.filename, section.lineno)
    visiting = visiting | {id(section)}
    for part in reversed(_parts_read_before(section, before, all_sections)):
        if part.get_all(key):
            return part
    for template in reversed(section.templates):
        base = _find_base(template, section, all_sections)
        found = base and _defining_section(base, key, all_sections, visiting, before=section)
        if found:
            return found
    return None


# -- secrets ---------------------------------------------------------------------------------

def is_secret_key(key):
    return bool(_SECRET_KEY.match(key.rsplit("/", 1)[-1].strip()))


def mask_value(key, value):
    """value as it may be shown: a secret option's as ********, a "register =>" line's secret
    (user:secret@host) masked."""
    if is_secret_key(key):
        return MASK
    if key.strip().lower() == "register" and isinstance(value, str):
        return _REGISTER_SECRET.sub(lambda m: m.group(1) + MASK + m.group(3), value)
    return value


def mask_secrets(text, filename="<string>"):
    """Return text with the value of every secret option replaced by ********, the rest of
    each line (key, separator, comment) unchanged."""
    try:
        config = parse(text, filename)
    except AsteriskConfigError:
        # Unparseable text: hide every line that looks like a secret assignment.
        return "".join(
            MASK + "\n" if "=" in line and is_secret_key(line.split("=", 1)[0].lstrip(";# \t").rstrip("+ \t"))
            else mask_inline_secret(line) for line in text.splitlines(True))
    out = []
    for line in config.lines:
        ending = line.raw[len(line.raw.rstrip("\r\n")):]
        if line.kind == "option" and line.value_span is not None and mask_value(line.key, line.value) != line.value:
            start, end = line.value_span
            out.append(line.raw[:start] + mask_value(line.key, line.value) + mask_inline_secret(line.raw[end:]))
        elif line.kind == "option" and is_secret_key(line.key):
            out.append("%s = %s%s" % (line.key, MASK, ending))
        elif line.kind == "option" and line.value_span is not None:
            end = line.value_span[1]
            out.append(line.raw[:end] + mask_inline_secret(line.raw[end:]))
        elif line.kind == "skipped" and "=" in line.raw and \
                is_secret_key(line.raw.split("=", 1)[0].lstrip(";# \t")):
            out.append(MASK + ending)  # never read by Asterisk, never shown either
        elif line.kind in ("text", "directive"):  # a comment; an #exec's command line
            out.append(mask_inline_secret(line.raw))
        else:
            out.append(line.raw)
    return "".join(out)


def mask_inline_secret(text):
    """text (a comment, a line inside a block comment, what follows an option's value, an #exec's
    command line) with a secret written in it masked, from its '=' to the line's end."""
    ending = text[len(text.rstrip("\r\n")):]
    match = _COMMENTED_SECRET.match(text.rstrip("\r\n"))
    return match.group(1) + MASK + ending if match else text
