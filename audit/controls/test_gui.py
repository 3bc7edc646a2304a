"""FreePBX and its kin: hardening that lives in a file the GUI regenerates is gone after the next
"Apply Config", however well it works today."""
from ansible.module_utils import asterisk_conf, pbx_distribution, trunk_boundary
from audit.plugin import control, fail, not_applicable

REFS = ["FreePBX framework BMO/WriteConfig.class.php (the generated files' header)",
        "FreePBX core functions.inc/drivers/PJSip.class.php (the *_custom_post.conf includes)"]
_OPEN = ("0.0.0.0/0", "0.0.0.0/0.0.0.0", "::/0", "*")


def _narrowed(_section, value):
    return value.replace(" ", "") not in _OPEN


# What the hardening sets, per file and kind of section: (key, is this value of this section the
# hardening's?). FreePBX's own values (permit=0.0.0.0/0.0.0.0, bindaddr=0.0.0.0) do not count.
_HARDENED = {
    "pjsip.conf": {
        "endpoint": (("context", lambda _section, value: value.startswith("voipguard-guard-")),
                     ("permit", _narrowed),
                     ("outbound_proxy", trunk_boundary.is_loop_proxy)),
    },
    "manager.conf": {
        "general": (("bindaddr", lambda _section, value: value.strip() not in ("0.0.0.0", "::", "")),),
    },
}


def settings_in_generated_files(target, distribution):
    """[(file, section, key)] of hardening settings whose effective value comes from a file the
    GUI rewrites."""
    read = target.read
    found = []
    for name, kinds in sorted(_HARDENED.items()):
        configs = target.config(name)
        for section in asterisk_conf.iter_sections(configs):
            kind = section.name.lower() if name == "manager.conf" else (section.type or "").lower()
            keys = kinds.get(kind, ())
            effective = asterisk_conf.resolve_section(configs, section)
            for key, is_hardening in keys:
                value = asterisk_conf.last_value(effective, key)
                if value is None or not is_hardening(section.name, value):
                    continue
                part = asterisk_conf.defining_section(configs, section, key)
                path = part.config.filename if part is not None else None
                if path and (path in distribution["generated_files"] or pbx_distribution.gui_regenerates(
                        path, read(path) or "", read)):
                    found.append((path, section.name, key))
    return found


@control(id="VOIP-GUI-001", severity="high",
         title="Hardening lives in files the PBX's GUI leaves alone",
         rationale="FreePBX and its kin rewrite their generated files on every Apply Config; a setting "
                   "that only such a file holds is undone without a word.",
         impact="The next click on Apply Config silently reopens what the hardening closed.",
         remediation={"role": "asterisk_hardening", "tag": "pjsip",
                      "variable": "asterisk_hardening_pjsip_enabled"},
         references=REFS)
def test_hardening_survives_apply_config(target, evidence):
    distribution = target.distribution()
    if not distribution["gui_managed"]:
        not_applicable("plain Asterisk: no GUI regenerates the configuration")
    evidence.add(key="distribution", value=pbx_distribution.describe(distribution))
    found = settings_in_generated_files(target, distribution)
    for path, section, key in found:
        evidence.add(file=path, key="[%s] %s" % (section, key), value="set only in a generated file")
    if found:
        fail("%d hardening setting(s) live only in files the GUI regenerates, e.g. [%s] %s in %s: "
             "the next Apply Config undoes them; move them to the *_custom_post.conf files"
             % (len(found), found[0][1], found[0][2], found[0][0]))
