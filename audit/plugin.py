"""pytest plugin of the audit: control metadata, evidence, host gate, results JSON.

audit/controls/conftest.py imports the hooks and fixtures below. Each control is a test
function decorated with @control(...) taking the ``target`` (HostContext) and ``evidence``
fixtures. Results per host and control, with the evidence observed, are written to
``--voipguard-results`` (JSON, read by audit/report.py). Secrets never reach that file: every
piece of evidence and every message goes through core.scrub.
"""
import datetime
import getpass
import json
import os
import shlex
import socket
import time

import pytest

from audit import core, toolkit_version
from audit.hostctx import JOURNAL_PATH, SSH_HOST_KEYS, HostContext, load_vars_file
from ansible.module_utils import pbx_distribution

RESULTS_FORMAT = "voipguard-audit-results"
JOURNAL_ENTRIES_SHOWN = 5
_REQUIRED = ("id", "title", "rationale", "severity", "remediation")


def control(**meta):
    """Declare a test function as an audit control.

    id ("VOIP-AREA-NNN"), title, rationale, severity (critical|high|medium|low),
    remediation ({"role", "tag", "variable"}: the role that fixes it; or {"manual": what to do by
    hand}, where no role changes what the control finds), references ([str]), impact (plain words for
    the business owner: what an intruder can do when this fails)."""
    missing = [key for key in _REQUIRED if not meta.get(key)]
    if missing:
        raise ValueError("control %s lacks %s" % (meta.get("id"), ", ".join(missing)))
    if meta["severity"] not in core.SEVERITY_WEIGHTS:
        raise ValueError("control %s: unknown severity %r" % (meta["id"], meta["severity"]))
    meta.setdefault("references", [])
    meta.setdefault("impact", "")

    def decorate(func):
        func.voipguard_control = dict(meta)
        return func
    return decorate


def not_applicable(reason):
    """The control does not apply to this host (e.g. no AMI configured)."""
    pytest.skip("not applicable: %s" % reason)


def fail(message):
    """The control failed; the message says what was seen (never a secret value)."""
    pytest.fail(core.scrub_text(message), pytrace=False)


class Evidence:
    """What a control observed. Values of secret-named keys are masked on the way in."""

    def __init__(self):
        self.items = []

    def add(self, **item):
        item = dict((k, v) for k, v in item.items() if v is not None)
        if isinstance(item.get("output"), str) and len(item["output"]) > 4000:
            item["output"] = item["output"][:4000] + "\n[... truncated]"
        self.items.append(core.scrub(item))


class _State:
    """Per-session state: host contexts and the results gathered so far."""

    def __init__(self, config):
        self.config = config
        self.contexts = {}
        self.results = {}  # host name -> [control result]
        self.catalog = {}
        self.started = _now()
        self.extra_vars = load_vars_file(config.getoption("voipguard_vars"))

    def context(self, host):
        name = host_name(host)
        if name not in self.contexts:
            variables = {}
            get_variables = getattr(host.backend, "get_variables", None)
            if get_variables is not None:
                try:
                    variables = get_variables()
                except Exception as exc:  # pylint: disable=broad-except
                    variables = {"_inventory_error": str(exc)}
            variables.update(self.extra_vars)
            self.contexts[name] = HostContext(host, name, variables)
        return self.contexts[name]


def host_name(host):
    try:
        return host.backend.get_hostname()
    except Exception:  # pylint: disable=broad-except
        return str(getattr(host.backend, "host", "") or host.backend.get_pytest_id())


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()


def run_by():
    user = getpass.getuser()
    sudo_user = os.environ.get("SUDO_USER")
    text = "%s@%s" % (user, socket.getfqdn())
    return text + (" (sudo from %s)" % sudo_user if sudo_user and sudo_user != user else "")


# -- hooks -------------------------------------------------------------------------------------

def pytest_addoption(parser):
    group = parser.getgroup("voipguard")
    group.addoption("--voipguard-results", dest="voipguard_results", default=None,
                    help="write per-host per-control results with evidence to this JSON file")
    group.addoption("--voipguard-vars", dest="voipguard_vars", default=None,
                    help="JSON file of host variables for backends without an inventory "
                         "(podman://, ssh://): voipguard_waivers, voipguard_trunks, ...")
    group.addoption("--voipguard-inventory-label", dest="voipguard_inventory_label", default=None,
                    help="inventory name recorded in the results")


def pytest_configure(config):
    config.voipguard_state = _State(config)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    meta = getattr(getattr(item, "function", None), "voipguard_control", None)
    host = getattr(item, "callspec", None) and item.callspec.params.get("_testinfra_host")
    if meta is None or host is None:
        return
    state = item.config.voipguard_state
    state.catalog[meta["id"]] = meta
    status = message = None
    if report.when == "setup" and report.outcome != "passed":
        status, message = _classify(report, call)
    elif report.when == "call":
        status, message = _classify(report, call)
    if status is None:
        return
    evidence = item.funcargs.get("evidence")
    area = item.module.__name__.rsplit(".", 1)[-1].replace("test_", "", 1)
    result = dict(meta)
    result.update({
        "area": area,
        "status": status,
        "message": core.scrub_text(message or ""),
        "evidence": evidence.items if evidence is not None else [],
        "duration": round(report.duration, 3),
    })
    state.results.setdefault(host_name(host), []).append(result)


def _classify(report, call):
    if report.skipped:
        reason = call.excinfo.value.msg if call.excinfo is not None else str(report.longrepr)
        if reason.startswith("not applicable: "):
            reason = reason[len("not applicable: "):]
        return "not_applicable", reason
    if report.passed:
        return "pass", ""
    exc = call.excinfo.value if call.excinfo is not None else None
    if isinstance(exc, pytest.fail.Exception):
        return "fail", exc.msg
    if isinstance(exc, AssertionError):
        return "fail", str(exc).split("\nassert ")[0]
    return "error", "%s: %s" % (type(exc).__name__ if exc else "error", str(exc)[:500])


def pytest_sessionfinish(session):
    state = getattr(session.config, "voipguard_state", None)
    path = session.config.getoption("voipguard_results")
    if state is None or not path:
        return
    hosts = []
    for name in sorted(set(state.contexts) | set(state.results)):
        ctx = state.contexts.get(name)
        waivers = (ctx.vars.get("voipguard_waivers") if ctx else None) or []
        controls = [core.apply_waiver(result, waivers) for result in state.results.get(name, [])]
        controls.sort(key=lambda c: c["id"])
        entry = {"name": name, "status": ctx.status if ctx else "audited",
                 "status_reason": ctx.status_reason if ctx else "",
                 "address": str((ctx.vars.get("ansible_host") if ctx else None) or name),
                 "groups": sorted((ctx.vars.get("group_names") or []) if ctx else []),
                 "info": ctx.info if ctx else {},
                 "exposure_inputs": None, "controls": controls}
        if ctx is not None and ctx.status == "audited":
            try:
                entry["exposure_inputs"] = ctx.exposure_inputs()
            except Exception as exc:  # pylint: disable=broad-except
                entry["exposure_inputs"] = {"error": "%s: %s" % (type(exc).__name__, exc)}
        hosts.append(core.scrub(entry))
    results = {
        "format": RESULTS_FORMAT, "format_version": 1,
        "toolkit_version": toolkit_version(),
        "started": state.started, "finished": _now(),
        "run_by": run_by(),
        "inventory": session.config.getoption("voipguard_inventory_label")
        or session.config.getoption("ansible_inventory", None),
        "inventory_error": None,
        "catalog": [state.catalog[key] for key in sorted(state.catalog)],
        "hosts": hosts,
    }
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(results, handle, indent=1, sort_keys=True)


# -- fixtures ----------------------------------------------------------------------------------

@pytest.fixture
def evidence():
    return Evidence()


@pytest.fixture
def target(request, host):
    """The HostContext of the host under audit; the control is not applicable when the host
    cannot be audited (unreachable, no Asterisk, host key not the trusted one)."""
    ctx = request.config.voipguard_state.context(host)
    if ctx.status is None:
        _gate(ctx)
    if ctx.status != "audited":
        not_applicable("host %s: %s" % (ctx.status, ctx.status_reason))
    return ctx


def _gate(ctx):
    started = time.monotonic()
    try:
        ctx.host.run("true")
    except Exception as exc:  # pylint: disable=broad-except
        if "Host key verification failed" in str(exc):
            # OpenSSH refused the key itself, exactly as it would for Ansible.
            ctx.status, ctx.status_reason = "untrusted host key", (
                "ssh refused the host's key: it differs from (or is missing in) the known_hosts "
                "file of this connection; nothing read from it would be evidence")
        else:
            ctx.status, ctx.status_reason = "unreachable", "%s: %s" % (type(exc).__name__, exc)
        return
    ctx.info["connect_seconds"] = round(time.monotonic() - started, 2)
    ctx.info["ssh_host_key"] = _host_key(ctx)
    if ctx.info["ssh_host_key"].get("known_hosts") == "mismatch":
        ctx.status = "untrusted host key"
        ctx.status_reason = ("the host's key differs from the one in %s; nothing read from it "
                             "would be evidence" % ctx.info["ssh_host_key"].get("known_hosts_file"))
        return
    release = ctx.read("/etc/os-release") or ""
    ctx.info["os"] = next((line.split("=", 1)[1].strip('"') for line in release.splitlines()
                           if line.startswith("PRETTY_NAME=")), "")
    ctx.info["journal"] = _journal(ctx)
    if not ctx.has_asterisk():
        ctx.status, ctx.status_reason = "no asterisk", "no /etc/asterisk and no asterisk binary"
        return
    version = ctx.asterisk_cli("core show version")
    ctx.info["asterisk_version"] = next((line.split(" built ")[0] for line in (version or "").splitlines()
                                         if line.startswith("Asterisk ")), None)
    ctx.info["asterisk_running"] = version is not None
    try:
        ctx.info["distribution"] = pbx_distribution.describe(ctx.distribution())
    except Exception as exc:  # pylint: disable=broad-except  (a fact for people, not a control)
        ctx.info["distribution"] = "unknown (%s)" % type(exc).__name__
    ctx.status = "audited"


def _connection(host):
    """The backend that really carries the commands: testinfra's ansible backend hands them to
    an ssh or paramiko backend built from the inventory."""
    backend = host.backend
    runner = getattr(backend, "ansible_runner", None)
    if runner is not None:
        inner = runner.get_host(backend.host, ssh_config=backend.ssh_config,
                                ssh_identity_file=backend.ssh_identity_file)
        backend = inner.backend if inner is not None else None
    return backend


def known_hosts_file(ssh_args, hostname, ssh_config=None):
    """The known_hosts file OpenSSH checks ``hostname`` against, so that the audit trusts exactly
    what Ansible trusts: ``-o UserKnownHostsFile=`` in the ssh arguments, else UserKnownHostsFile
    of the ``-F`` config (or ``ssh_config``) for that host, else ~/.ssh/known_hosts."""
    words = shlex.split(ssh_args or "")
    config = ssh_config
    for i, word in enumerate(words):
        option = word[2:] if word.startswith("-o") and len(word) > 2 else (
            words[i + 1] if word == "-o" and i + 1 < len(words) else "")
        if option.lower().startswith("userknownhostsfile"):
            return os.path.expanduser(option.split("=", 1)[-1].strip().split()[0])
        if word == "-F" and i + 1 < len(words):
            config = words[i + 1]
        elif word.startswith("-F") and len(word) > 2:
            config = word[2:]
    if config and os.path.exists(config):
        import paramiko  # pylint: disable=import-outside-toplevel
        found = paramiko.SSHConfig.from_path(config).lookup(hostname).get("userknownhostsfile")
        if found:
            return os.path.expanduser(found.split()[0])
    return os.path.expanduser("~/.ssh/known_hosts")


def known_hosts_verdict(path, hostname, port, key_type, key_base64):
    """'match', 'mismatch' or 'absent': the key of that type known for the host in that file."""
    import paramiko  # pylint: disable=import-outside-toplevel
    known = paramiko.HostKeys()
    try:
        known.load(path)
    except (OSError, paramiko.SSHException):
        return "absent"
    name = hostname if not port or str(port) == "22" else "[%s]:%s" % (hostname, port)
    entries = known.lookup(name) or {}
    if key_type not in entries:
        return "absent"
    return "match" if entries[key_type].get_base64() == key_base64 else "mismatch"


def _host_key(ctx):
    """The SSH host key: the one the connection presented (paramiko) or the one in /etc/ssh
    (OpenSSH, which checked it itself), as OpenSSH SHA256 fingerprints, and its verdict against
    the known_hosts file the connection uses."""
    out = {}
    try:
        backend = _connection(ctx.host)
    except Exception:  # pylint: disable=broad-except
        backend = None
    for path in SSH_HOST_KEYS:
        text = ctx.read(path)
        if text:
            out["file"] = {"path": path, "type": text.split()[0], "fingerprint": core.openssh_fingerprint(text)}
            presented = text.split()[:2]
            break
    else:
        presented = None
    if backend is not None and backend.NAME == "paramiko":
        key = backend.client.get_transport().get_remote_server_key()
        out["connection"] = {"type": key.get_name(), "fingerprint": core.fingerprint_of_blob(key.asbytes())}
        presented = [key.get_name(), key.get_base64()]
    if backend is not None and backend.NAME in ("paramiko", "ssh", "safe-ssh") and presented:
        path = known_hosts_file(getattr(backend, "ssh_extra_args", None), backend.host.name, backend.ssh_config)
        out["known_hosts_file"] = path
        out["known_hosts"] = known_hosts_verdict(path, backend.host.name, backend.host.port, *presented)
    out["fingerprint"] = (out.get("connection") or out.get("file") or {}).get("fingerprint")
    return out


def _journal(ctx):
    text = ctx.read(JOURNAL_PATH)
    if not text:
        return []
    entries = []
    for line in text.splitlines()[-JOURNAL_ENTRIES_SHOWN:]:
        try:
            entries.append(json.loads(line))
        except ValueError:
            entries.append({"unreadable": line[:200]})
    return entries
