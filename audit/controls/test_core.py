"""Asterisk itself: privileges of the process and its side doors."""
from ansible.module_utils.asterisk_conf import AsteriskConfigError, ast_true
from ansible.module_utils.pbx_distribution import asterisk_run_user
from audit.hostctx import is_loopback
from audit.plugin import control, fail, not_applicable

REFS = ["Asterisk README-SERIOUSLY.bestpractices.md", "Asterisk docs: Important-Security-Considerations"]
# The configurations the audit reads, and the toolkit amends (pjsip.conf, manager.conf) among them.
READ_CONFIGS = ("asterisk.conf", "http.conf", "logger.conf", "manager.conf", "pjsip.conf", "pjsip_wizard.conf")


@control(id="VOIP-CORE-001", severity="high",
         title="live_dangerously = no (dialplan functions cannot run shell commands from outside)",
         rationale="With live_dangerously = yes, SHELL()/System() and friends can be reached through "
                   "AMI and external interfaces.",
         impact="A remote interface can run commands on the server.",
         remediation={"role": "asterisk_hardening", "tag": "core", "variable": "asterisk_hardening_core_enabled"},
         references=REFS)
def test_live_dangerously_off(target, evidence):
    if not target.config("asterisk.conf"):
        not_applicable("no asterisk.conf")
    value = target.option("asterisk.conf", "options", "live_dangerously", "no") or "no"
    evidence.add(file="/etc/asterisk/asterisk.conf", key="[options] live_dangerously", value=value)
    if ast_true(value):
        fail("live_dangerously = %s" % value)


@control(id="VOIP-CORE-002", severity="high",
         title="Asterisk does not run as root",
         rationale="Any flaw in a SIP or AMI parser then gives the intruder the whole machine.",
         impact="A single Asterisk bug would hand over the whole server.",
         remediation={"role": "asterisk_hardening", "tag": "core", "variable": ""},
         references=REFS)
def test_asterisk_not_root(target, evidence):
    command = "ps -o user=,args= -C asterisk"
    out = target.run(command)
    evidence.add(command=command, output=out.stdout.strip() or "(no process)")
    if out.rc not in (0, 1):  # 1: no process matched
        fail("cannot list the processes (%s: rc %s)" % (command, out.rc))
    processes = [(line.split(None, 1) + [""])[:2] for line in out.stdout.splitlines() if line.strip()]
    user = asterisk_run_user((user, args.split(None, 1)[0] if args else "", args) for user, args in processes)
    if not user:
        not_applicable("Asterisk is not running")
    if user == "root":
        fail("the asterisk process runs as root")


@control(id="VOIP-CORE-003", severity="medium",
         title="Asterisk's HTTP server is disabled or bound to loopback",
         rationale="http.conf serves ARI, AMI over HTTP and WebSocket SIP; on the network it is another door.",
         impact="Another management door is open to the network.",
         remediation={"role": "asterisk_hardening", "tag": "core", "variable": "asterisk_hardening_http_enabled"},
         references=REFS)
def test_http_disabled_or_loopback(target, evidence):
    if not target.config("http.conf"):
        evidence.add(file="/etc/asterisk/http.conf", key="exists", value=False)
        return
    enabled = target.option("http.conf", "general", "enabled", "no") or "no"
    bind = target.option("http.conf", "general", "bindaddr", "")
    evidence.add(file="/etc/asterisk/http.conf", key="[general] enabled", value=enabled)
    evidence.add(file="/etc/asterisk/http.conf", key="[general] bindaddr", value=bind or "(unset)")
    if not ast_true(enabled):
        return
    tls = ast_true(target.option("http.conf", "general", "tlsenable", "no"))
    if not is_loopback(bind) or tls:
        fail("HTTP server enabled on %s%s" % (bind or "all addresses", " (and TLS)" if tls else ""))


@control(id="VOIP-CORE-004", severity="medium",
         title="Security events are logged (logger.conf has a security channel)",
         rationale="fail2ban and the audit need Asterisk's security events; Debian ships them disabled.",
         impact="Attacks leave no trace that could stop them or prove them.",
         remediation={"role": "fail2ban_asterisk", "tag": "fail2ban_security_log",
                      "variable": "fail2ban_asterisk_security_log_enabled"},
         references=["Asterisk res_security_log", "logger.conf: security => security"])
def test_security_log_enabled(target, evidence):
    if not target.config("logger.conf"):
        not_applicable("no logger.conf")
    channels = target.resolve("logger.conf", "logfiles")
    found = sorted(name for name, values in channels.items()
                   if any("security" in [p.strip() for p in v.lower().split(",")] for v in values))
    evidence.add(file="/etc/asterisk/logger.conf", key="[logfiles] channels with security",
                 value=", ".join(found) or "(none)")
    if not found:
        fail("no logger channel records security events")


@control(id="VOIP-CORE-005", severity="high",
         title="The running Asterisk runs the configuration on disk",
         rationale="Hardened files protect nothing until Asterisk loads them: a run that failed before "
                   "its reload, or a hand edit never reloaded, leaves the old endpoints, passwords and AMI "
                   "settings in force while the files look secure.",
         impact="The protections the files show may not be in force at all.",
         remediation={"role": "asterisk_hardening", "tag": "always", "variable": ""},
         references=REFS)
def test_running_configuration_is_the_files(target, evidence):
    if target.asterisk_cli("core show version") is None:
        not_applicable("Asterisk is not running")
    drift = target.live_drift()
    for area in sorted(drift):
        evidence.add(command="asterisk -rx (%s) against the files" % area,
                     output="; ".join(drift[area]) or "no difference")
    lines = ["%s: %s" % (area, line) for area in sorted(drift) for line in drift[area]]
    if lines:
        fail("the running Asterisk differs from its files: " + "; ".join(lines))


@control(id="VOIP-CORE-006", severity="high",
         title="Asterisk reads every configuration file to its end",
         rationale="An addition [name](+...) to an object that no file defines any more (an extension "
                   "deleted in a GUI, a trunk renamed) makes Asterisk stop reading that file at that "
                   "line (main/config.c), with one log line; the file that included it goes on.",
         impact="Every setting after that line is not in force: another phone's guard, the trunk's "
                "loop through the toll-fraud check, an AMI user's network limits.",
         remediation={"role": "asterisk_hardening", "tag": "always", "variable": ""},
         references=["Asterisk main/config.c (process_text_line: category addition)",
                     "module_utils/asterisk_conf.py (load_as_asterisk_reads)"])
def test_every_file_is_read_to_its_end(target, evidence):
    found, refused = [], []
    for name in READ_CONFIGS:
        try:
            orphans = target.orphan_additions(name)
        except AsteriskConfigError as exc:
            refused.append("Asterisk refuses %s: %s" % (name, exc))
            continue
        for path, line, category in orphans:
            found.append("%s line %s: [%s] is defined nowhere, and nothing after it is read"
                         % (path, line, category))
            evidence.add(file=path, key="line %s" % line, value="addition to [%s], defined nowhere" % category)
    evidence.add(key="configurations read", value=", ".join(READ_CONFIGS))
    if found or refused:
        fail("; ".join(refused + found) + ("; a run of asterisk_hardening comments out those in the files "
                                           "where the toolkit writes additions" if found else ""))
