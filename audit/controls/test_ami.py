"""AMI (manager.conf): the management interface can originate calls and run shell commands."""
import ipaddress

from ansible.module_utils import secret_accounts, secret_policy

from ansible.module_utils.asterisk_conf import ast_true
from audit.hostctx import is_loopback, write_classes
from audit.plugin import control, fail, not_applicable

CONF = "/etc/asterisk/manager.conf"
DANGEROUS = {"system", "command", "config", "originate", "agi", "all"}
REFS = ["Asterisk docs: Deployment/Important-Security-Considerations (AMI)",
        "Asterisk README-SERIOUSLY.bestpractices.md"]


def ami_or_na(target):
    if not target.config("manager.conf"):
        not_applicable("no manager.conf")
    enabled = target.option("manager.conf", "general", "enabled", "no") or "no"
    if not ast_true(enabled):
        not_applicable("AMI disabled (enabled = %s)" % enabled)


def ami_users_or_na(target):
    """The AMI users of an enabled AMI; the control does not apply without one."""
    ami_or_na(target)
    users = target.ami_users()
    if not users:
        not_applicable("no AMI user")
    return users


@control(id="VOIP-AMI-001", severity="critical",
         title="AMI listens only on loopback or the management address",
         rationale="An AMI on every address offers originate and shell commands to the network.",
         impact="Anyone who reaches the management port can make the PBX dial out or run commands.",
         remediation={"role": "asterisk_hardening", "tag": "ami", "variable": "voipguard_management_address"},
         references=REFS)
def test_ami_binding(target, evidence):
    ami_or_na(target)
    bind = target.option("manager.conf", "general", "bindaddr", "0.0.0.0")
    management = target.vars.get("voipguard_management_address", "127.0.0.1")
    evidence.add(file=CONF, key="[general] bindaddr", value=bind)
    tls = ast_true(target.option("manager.conf", "general", "tlsenable", "no"))
    tls_bind = target.option("manager.conf", "general", "tlsbindaddr", "0.0.0.0:5039") if tls else None
    if tls_bind:
        evidence.add(file=CONF, key="[general] tlsbindaddr", value=tls_bind)
    out = target.run("ss -Hltn '( sport = :5038 or sport = :5039 )'")
    evidence.add(command="ss -Hltn '( sport = :5038 or sport = :5039 )'", output=out.stdout.strip())
    # What the running Asterisk listens on decides; the files only when nothing listens.
    listening = [line.split()[3].rsplit(":", 1)[0].strip("[]") for line in out.stdout.splitlines()
                 if len(line.split()) >= 4]
    if not listening:
        evidence.add(file=CONF, key="judged from", value="the files: nothing listens on 5038/5039")
    addresses = listening or [addr for addr in (bind, (tls_bind or "").rsplit(":", 1)[0]) if addr]
    wrong = [addr for addr in addresses
             if addr in ("*", "0.0.0.0", "::") or (not is_loopback(addr) and addr != management)]
    if wrong:
        fail("AMI %s %s; allowed: loopback or %s" % (
            "listens on" if listening else "binds", ", ".join(sorted(set(wrong))), management))


@control(id="VOIP-AMI-002", severity="high",
         title="Every AMI user has deny and permit (or an acl)",
         rationale="Without permit/deny any address that reaches the port may log in with the user's secret.",
         impact="A leaked management password works from anywhere.",
         remediation={"role": "asterisk_hardening", "tag": "ami", "variable": "voipguard_admin_networks"},
         references=REFS)
def test_ami_users_have_acl(target, evidence):
    users = ami_users_or_na(target)
    admin = [ipaddress.ip_network(n, strict=False) for n in target.vars.get("voipguard_admin_networks") or []]
    problems = []
    live = target.live_ami_users()
    if live is not None:
        # The ACL the running AMI applies (manager show user), whatever file or acl= it came from.
        for user, loaded in sorted(live.items()):
            rules = loaded["acl"]
            evidence.add(command="asterisk -rx 'manager show user %s'" % user,
                          output=", ".join("%s %s" % rule for rule in rules) or "(no ACL)")
            allows = [network for action, network in rules if action == "allow"]
            if not rules or not allows or "deny" not in [action for action, _ in rules]:
                problems.append("%s has no %s" % (user, "ACL" if not rules else "deny" if allows else "permit"))
            elif admin and not all(_within(p, admin) for p in allows):
                problems.append("%s permits %s, outside the admin networks" % (user, ",".join(allows)))
        if problems:
            fail("; ".join(problems))
        return
    for user, opts in sorted(users.items()):
        deny, permit, acl = opts.get("deny") or [], opts.get("permit") or [], opts.get("acl") or []
        evidence.add(file=CONF, key="[%s] deny/permit/acl" % user,
                     value="deny=%s permit=%s acl=%s" % (",".join(deny) or "-", ",".join(permit) or "-",
                                                         ",".join(acl) or "-"))
        if acl:
            continue
        if not deny or not permit:
            problems.append("%s has no %s" % (user, "deny" if not deny else "permit"))
            continue
        if admin and not all(_within(p, admin) for p in permit):
            problems.append("%s permits %s, outside the admin networks" % (user, ",".join(permit)))
    if problems:
        fail("; ".join(problems))


def _within(permit, admin):
    try:
        net = ipaddress.ip_network(permit.replace("/255.255.255.255", "/32"), strict=False)
    except ValueError:
        return False
    return net.prefixlen > 0 and (net.network_address.is_loopback
                                  or any(net.subnet_of(a) for a in admin if a.version == net.version))


@control(id="VOIP-AMI-003", severity="high",
         title="No AMI user has dangerous write classes (system, command, config, originate, agi, all)",
         rationale="originate places calls and system/command run shell commands: as dangerous as root.",
         impact="A management account can place calls to any country or take over the server.",
         remediation={"role": "asterisk_hardening", "tag": "ami",
                      "variable": "asterisk_hardening_ami_privileged_users"},
         references=REFS)
def test_ami_write_classes(target, evidence):
    users = ami_users_or_na(target)
    problems = []
    live = target.live_ami_users()
    if live is not None:
        # What the running AMI grants: "all" arrives expanded into every class it stands for.
        classes_of = dict((user, loaded["write"]) for user, loaded in live.items())
        source = "asterisk -rx 'manager show user %s'"
    else:
        classes_of = dict((user, write_classes(opts)) for user, opts in users.items())
        source = None
    for user, classes in sorted(classes_of.items()):
        if source:
            evidence.add(command=source % user, output="write: " + (",".join(sorted(classes)) or "(none)"))
        else:
            evidence.add(file=CONF, key="[%s] write (from the files: Asterisk did not answer)" % user,
                         value=",".join(sorted(classes)) or "(none)")
        bad = sorted(classes & DANGEROUS)
        if bad:
            problems.append("%s: %s" % (user, ",".join(bad)))
    if problems:
        fail("dangerous write classes (waive per user with a justification if needed): %s" % "; ".join(problems))


@control(id="VOIP-AMI-004", severity="critical",
         title="Every AMI secret is strong",
         rationale="The factory AMI user admin/admin is the first guess of every scanner.",
         impact="The management interface opens with a guessable password.",
         remediation={"role": "asterisk_hardening", "tag": "secrets", "variable": "asterisk_hardening_secret_rotate"},
         references=REFS)
def test_ami_secrets_strong(target, evidence):
    users = ami_users_or_na(target)
    # The same accounts and judgement as the module asterisk_secret_audit (module_utils/secret_accounts).
    accounts = [a for a in secret_accounts.collect_accounts([(CONF, target.config("manager.conf"))])
                if a.object in users]
    weak = []
    for finding in secret_accounts.audit_accounts(accounts, target.secret_policy(forbid_reuse=False)):
        reasons = secret_policy.describe(finding["reasons"])
        # The running AMI never shows a secret (manager show user prints <Set>): the files are read,
        # and VOIP-CORE-005 fails when the loaded AMI users are not the files' users.
        evidence.add(file=finding["file"], key="[%s] strength (from the files: the running AMI never shows it)"
                     % finding["object"], value="estimated %d bits; %s" % (finding["entropy_bits"], reasons or "ok"))
        if not finding["passed"]:
            weak.append("%s (%s)" % (finding["object"], reasons))
    if weak:
        fail("weak AMI secrets: %s" % "; ".join(weak))
