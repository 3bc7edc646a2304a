"""Asterisk itself: privileges of the process and its side doors."""
from audit.hostctx import is_loopback
from audit.plugin import control, fail, not_applicable

REFS = ["Asterisk README-SERIOUSLY.bestpractices.md", "Asterisk docs: Important-Security-Considerations"]


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
    if value.lower() in ("yes", "true", "on", "1"):
        fail("live_dangerously = %s" % value)


@control(id="VOIP-CORE-002", severity="high",
         title="Asterisk does not run as root",
         rationale="Any flaw in a SIP or AMI parser then gives the intruder the whole machine.",
         impact="A single Asterisk bug would hand over the whole server.",
         remediation={"role": "asterisk_hardening", "tag": "core", "variable": ""},
         references=REFS)
def test_asterisk_not_root(target, evidence):
    out = target.run("ps -o user= -C asterisk")
    users = sorted(set(out.stdout.split()))
    evidence.add(command="ps -o user= -C asterisk", output=out.stdout.strip() or "(no process)")
    if not users:
        not_applicable("Asterisk is not running")
    if "root" in users:
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
    if enabled.lower() not in ("yes", "true", "on", "1"):
        return
    tls = (target.option("http.conf", "general", "tlsenable", "no") or "no").lower() in ("yes", "true", "on", "1")
    if not is_loopback(bind) or tls:
        fail("HTTP server enabled on %s%s" % (bind or "all addresses", " (and TLS)" if tls else ""))


@control(id="VOIP-CORE-004", severity="medium",
         title="Security events are logged (logger.conf has a security channel)",
         rationale="fail2ban and the audit need Asterisk's security events; Debian ships them disabled.",
         impact="Attacks leave no trace that could stop them or prove them.",
         remediation={"role": "fail2ban_asterisk", "tag": "logging", "variable": ""},
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
