"""What the controls know about one host, read once through testinfra and cached.

Files are read with ``host.file(path).content_string`` and parsed here, on the controller, with
module_utils/asterisk_conf.py (the parser the hardening modules use). ``#include`` is followed
the way Asterisk follows it, with the directory listed through the host.
"""
import fnmatch
import json
import os
import posixpath
import shlex

from audit import ROOT  # noqa: F401  (puts module_utils on the import path)
from ansible.module_utils import asterisk_conf, asterisk_live, pbx_distribution, trunk_boundary
from ansible.module_utils.asterisk_conf import AsteriskConfigError, ast_true, parse

ASTERISK_DIR = "/etc/asterisk"
POLICY_PATH = "/etc/asterisk/voipguard/toll_fraud_policy.json"
JOURNAL_PATH = "/var/log/voipguard/journal.jsonl"
GUARD_PREFIX = "voipguard-guard-"
SSH_HOST_KEYS = ("/etc/ssh/ssh_host_ed25519_key.pub", "/etc/ssh/ssh_host_ecdsa_key.pub",
                 "/etc/ssh/ssh_host_rsa_key.pub")


class HostContext:
    """Lazily gathered facts of one host. ``vars`` are its inventory variables."""

    def __init__(self, host, name, variables=None):
        self.host = host
        self.name = name
        self.vars = dict(variables or {})
        self._cache = {}
        self.status = None  # audited | unreachable | no asterisk | untrusted host key
        self.status_reason = ""
        self.info = {}

    def _cached(self, key, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    # -- files ---------------------------------------------------------------------------------
    def read(self, path):
        """Text of a file on the host, or None when it does not exist."""
        def compute():
            handle = self.host.file(path)
            return handle.content_string if handle.exists and handle.is_file else None
        return self._cached(("file", path), compute)

    def asterisk_files(self):
        """Every regular file under /etc/asterisk (one listing per host)."""
        def compute():
            out = self.host.run("find %s -type f 2>/dev/null" % shlex.quote(ASTERISK_DIR))
            return sorted(line for line in out.stdout.splitlines() if line)
        return self._cached("asterisk_files", compute)

    def distribution(self):
        """Plain Asterisk, FreePBX or Issabel, and the files its GUI generates
        (module_utils/pbx_distribution.py, as the playbook's pbx_distribution_info module)."""
        return self._cached("distribution", lambda: pbx_distribution.detect(
            self.read, [f for f in self.asterisk_files() if f.endswith(".conf")]))

    def _expand_include(self, pattern):
        if not pattern.startswith("/"):
            pattern = posixpath.join(ASTERISK_DIR, pattern)
        found = []
        # Brace alternatives as Asterisk expands them (GLOB_BRACE), shared with the parser.
        for alternative in asterisk_conf._expand_braces(pattern):  # pylint: disable=protected-access
            directory, base = posixpath.split(alternative)
            found.extend(path for path in self.asterisk_files()
                         if posixpath.dirname(path) == directory
                         and fnmatch.fnmatchcase(posixpath.basename(path), base))
        return found

    def config(self, name):
        """All files of an Asterisk configuration (name.conf and what it includes), parsed.

        [] when the file does not exist; AsteriskConfigError when Asterisk would refuse it."""
        def compute():
            configs = []
            path = posixpath.join(ASTERISK_DIR, name)
            if self.read(path) is None:
                return []
            self._load_into(configs, path, None, 1)
            for config in configs:
                config.group = configs
            return configs
        return self._cached(("config", name), compute)

    def _load_into(self, configs, path, continues, level):
        config = parse(self.read(path) or "", path, continues=continues)
        configs.append(config)
        for directive, pattern, lineno in config.includes:
            if directive == "exec":
                continue
            if level >= asterisk_conf.MAX_INCLUDE_LEVEL:
                raise AsteriskConfigError("maximum include level exceeded", path, lineno)
            files = self._expand_include(pattern)
            if not files and directive == "include":
                raise AsteriskConfigError("#include %s matches no file" % pattern, path, lineno)
            for included in files:
                last = None
                for earlier in reversed(configs):
                    real = [s for s in earlier.sections if s.header is not None]
                    if real:
                        last = real[-1]
                        break
                self._load_into(configs, included, last, level + 1)

    def sections(self, name, type=None):  # pylint: disable=redefined-builtin
        return list(asterisk_conf.iter_sections(self.config(name), type=type))

    def resolve(self, name, section, type=None):  # pylint: disable=redefined-builtin
        return asterisk_conf.resolve(self.config(name), section, type)

    def option(self, name, section, key, default=None):
        values = self.resolve(name, section).get(key.lower())
        return values[-1] if values else default

    # -- commands ------------------------------------------------------------------------------
    def run(self, command):
        return self.host.run(command)

    def asterisk_cli(self, command):
        """Output of ``asterisk -rx``; None when the CLI cannot reach a running Asterisk."""
        def compute():
            out = self.host.run("asterisk -rx %s" % shlex.quote(command))
            return out.stdout if out.rc == 0 else None
        return self._cached(("cli", command), compute)

    def has_asterisk(self):
        return self._cached("has_asterisk", lambda: self.host.file(ASTERISK_DIR).is_directory
                            or self.host.exists("asterisk"))

    # -- PJSIP ---------------------------------------------------------------------------------
    def trunk_endpoints(self):
        return set(str(t.get("endpoint") or t.get("name")) for t in self.vars.get("voipguard_trunks") or ()
                   if isinstance(t, dict))

    def endpoints(self):
        """{name: effective options} of every concrete PJSIP endpoint."""
        def compute():
            out = {}
            for section in self.sections("pjsip.conf", "endpoint"):
                out[section.name] = self.resolve("pjsip.conf", section.name, "endpoint")
            return out
        return self._cached("endpoints", compute)

    def live_endpoints(self):
        """Names of the endpoints the running Asterisk has loaded; None when it does not answer."""
        listing = self.asterisk_cli("pjsip show endpoints")
        return None if listing is None else asterisk_live.parse_endpoint_names(listing)

    def live_aor_limits(self):
        """{aor: max_contacts} the running Asterisk has loaded; None when it does not answer."""
        listing = self.asterisk_cli("pjsip show aors")
        return None if listing is None else asterisk_live.parse_aor_limits(listing)

    def live_ami_users(self):
        """{user: {'write', 'read', 'acl'}} of the running AMI; None when Asterisk does not answer."""
        listing = self.asterisk_cli("manager show users")
        if listing is None:
            return None
        users = {}
        for name in asterisk_live.parse_manager_users(listing):
            parsed = asterisk_live.parse_manager_user(self.asterisk_cli("manager show user %s" % name))
            if parsed is not None:
                users[name] = parsed
        return users

    def live_parameters(self, command):
        """{parameter: value} the running Asterisk shows for one object (``pjsip show endpoint X``,
        ``pjsip show aor X``, ``pjsip show settings``); None when it does not answer."""
        text = self.asterisk_cli(command)
        return None if text is None else asterisk_live.parse_parameters(text)

    def live_auths(self):
        """{auth: {'username', 'password', 'md5_cred', 'password_digest'}} the running res_pjsip has loaded; None when
        Asterisk does not answer. Holds secrets: callers judge them and never put them in evidence."""
        def compute():
            listing = self.asterisk_cli("pjsip show auths")
            if listing is None:
                return None
            auths = {}
            for name in asterisk_live.parse_auth_names(listing):
                shown = self.live_parameters("pjsip show auth %s" % name) or {}
                auths[name] = dict((key, shown.get(key) or "") for key in ("username", "password", "md5_cred", "password_digest"))
            return auths
        return self._cached("live_auths", compute)

    def live_drift(self):
        """{area: [differences]} between the running Asterisk and its files (asterisk_live)."""
        return self._cached("live_drift", lambda: asterisk_live.drift_by_area(self.config, self.asterisk_cli))

    def identified_endpoints(self):
        """Endpoints matched by an identify section (address-authenticated: trunks)."""
        names = set()
        for section in self.sections("pjsip.conf", "identify"):
            values = self.resolve("pjsip.conf", section.name, "identify").get("endpoint") or []
            names.update(values[-1:])
        return names

    def phone_endpoints(self):
        trunks = self.trunk_endpoints() | self.identified_endpoints()
        return dict((name, opts) for name, opts in self.endpoints().items()
                    if name not in trunks and not name.startswith(trunk_boundary.OWN_ENDPOINT_PREFIX))

    def trunk_bypasses(self):
        """Reasons calls can reach a trunk unchecked: a trunk the running res_pjsip does not loop
        through the guard (trunk_boundary), so transfers, forwards, AMI and call files go out as
        they are; or a loop with nothing to receive it."""
        reasons = []
        for endpoint in sorted(self.trunk_endpoints()):
            shown = self.live_parameters("pjsip show endpoint %s" % endpoint)
            if not shown:
                reasons.append("trunk endpoint %s is not loaded, or Asterisk does not answer" % endpoint)
            elif not trunk_boundary.is_loop_proxy(shown.get("outbound_proxy")):
                reasons.append("trunk %s: calls that do not start at a guarded phone (transfers, "
                               "forwards, AMI, call files) reach it unchecked: no trunk boundary" % endpoint)
        if reasons or not self.trunk_endpoints():
            return reasons
        if trunk_boundary.EGRESS_ENDPOINT not in (self.live_endpoints() or []):
            reasons.append("the trunks loop to endpoint %s, which the running Asterisk has not loaded"
                           % trunk_boundary.EGRESS_ENDPOINT)
        elif trunk_boundary.EGRESS_CONTEXT not in (self.dialplan_contexts() or set()):
            reasons.append("the trunks loop to context %s, missing from the running dialplan"
                           % trunk_boundary.EGRESS_CONTEXT)
        return reasons

    # -- toll-fraud policy ---------------------------------------------------------------------
    def policy(self):
        """The toll_fraud_guard role's policy, money in currency units; None if absent.

        Raises ValueError when the file exists but is not the policy."""
        def compute():
            text = self.read(POLICY_PATH)
            if text is None:
                return None
            return normalise_policy(json.loads(text))
        return self._cached("policy", compute)

    def dialplan_contexts(self):
        """Names of the contexts in Asterisk's running dialplan; None when the CLI fails."""
        def compute():
            out = self.asterisk_cli("dialplan show")
            if out is None:
                return None
            names = set()
            for line in out.splitlines():
                line = line.strip()
                if line.startswith("[ Context '"):
                    names.add(line.split("'")[1])
            return names
        return self._cached("dialplan_contexts", compute)

    def unguarded(self):
        """Reasons a phone's call can reach the dialplan without passing the guard."""
        running = self.dialplan_contexts() or set()
        reasons = []
        for name, opts in sorted(self.phone_endpoints().items()):
            context = (opts.get("context") or ["default"])[-1]
            if not context.startswith(GUARD_PREFIX):
                reasons.append("endpoint %s dials in context %s, not through a guard" % (name, context))
            elif context not in running:
                reasons.append("endpoint %s uses guard context %s, missing from the running dialplan"
                               % (name, context))
        return reasons

    def ami_users(self):
        """{user: effective options} of every manager.conf user section."""
        return dict((s.name, self.resolve("manager.conf", s.name))
                    for s in self.sections("manager.conf") if s.name.lower() != "general")

    def ami_bypasses(self):
        """AMI users that can place calls (originate/system/all) while the AMI listens beyond
        loopback and the management address: calls that never enter the guarded dialplan."""
        if not ast_true(self.option("manager.conf", "general", "enabled", "no")):
            return []
        bind = self.option("manager.conf", "general", "bindaddr", "0.0.0.0")
        if is_loopback(bind) or bind == self.vars.get("voipguard_management_address"):
            return []
        out = []
        for user, opts in sorted(self.ami_users().items()):
            classes = write_classes(opts)
            if classes & {"originate", "system", "command", "all"}:
                out.append("AMI user %s may originate calls and the AMI listens on %s" % (user, bind))
        return out

    def exposure_inputs(self):
        policy = self.policy()
        # With the trunk boundary, trunk legs no phone vouched for are charged to one more
        # endpoint of their own, "trunk-leg", with its own budgets.
        trunk_leg = 1 if policy and self.trunk_endpoints() and not self.trunk_bypasses() else 0
        return {"policy": policy,
                "endpoints": len(self.phone_endpoints()) + trunk_leg,
                "unguarded": self.unguarded() if policy else [],
                "bypasses": self.ami_bypasses() + (self.trunk_bypasses() if policy else [])}


def is_loopback(address):
    address = (address or "").strip().strip("[]")
    return address.startswith("127.") or address in ("::1", "localhost")


def write_classes(options):
    classes = set()
    for value in options.get("write") or []:
        classes.update(part.strip().lower() for part in value.split(",") if part.strip())
    return classes


def normalise_policy(raw):
    """The policy JSON (money in millicents, see module_utils/dial_policy.py) in currency units,
    with the blocked calling codes it enforces."""
    if not isinstance(raw, dict) or "budgets" not in raw:
        raise ValueError("not a voipguard toll-fraud policy (no budgets)")
    divisor = float(raw.get("millicents_per_eur") or 100000) if raw.get("money_unit") == "millicent" else 1.0

    def money(value):
        return None if value is None else float(value) / divisor

    budgets = raw.get("budgets") or {}
    names = {"pbx_day": ("pbx_day", "pbx_daily"), "pbx_month": ("pbx_month", "pbx_monthly"),
             "endpoint_day": ("endpoint_day", "endpoint_daily"),
             "endpoint_month": ("endpoint_month", "endpoint_monthly"), "national_day": ("national_day",)}
    blocked = set()
    national_prices = []
    for row in raw.get("destinations") or ():
        if row.get("blocked"):
            blocked.add(str(row.get("prefix")))
        elif row.get("country") == raw.get("site_country"):
            national_prices.append(row.get("price") or 0)
    # National calls that budgets do not stop (toll_fraud_guard_budget_national_enabled off) are
    # bounded by their own daily cap (budgets.national_day), or without one only by the call
    # limits, at the dearest national price the guard lets through.
    national_unbudgeted = raw.get("budget_national_calls") is False and budgets.get("national_day") is None
    return {
        "currency": raw.get("currency") or "EUR",
        "mode": raw.get("mode") or ("allow" if raw.get("allowed_countries") else "block"),
        "budgets": dict((key, money(next((budgets[a] for a in alts if a in budgets), None)))
                        for key, alts in names.items()),
        "max_price_per_minute": money(raw.get("max_price_per_minute")),
        "concurrency": raw.get("concurrency") or {},
        "calls_per_minute": raw.get("calls_per_minute") or {},
        "max_call_seconds": raw.get("max_call_seconds"),
        "blocked_countries": raw.get("blocked_countries") or [],
        "allowed_countries": raw.get("allowed_countries") or [],
        "blocked_prefixes": sorted(blocked | set(raw.get("blocked_prefixes") or [])),
        "alerts": raw.get("alerts") or {},
        "budget_national_calls": raw.get("budget_national_calls") is not False,
        # With no national destination priced, the default price applies to national calls.
        "national_unbudgeted_price_per_minute": (
            money(max(national_prices or [raw.get("default_price_per_minute") or 0]))
            if national_unbudgeted else None),
    }


def prefix_blocked(policy, calling_code):
    """Whether calls to a calling code are refused: a blocked prefix covers it, or allow-list
    mode with no allowed destination under it."""
    blocked = policy.get("blocked_prefixes") or []
    return any(calling_code.startswith(prefix) for prefix in blocked if prefix)


def load_vars_file(path):
    if not path:
        return {}
    with open(os.path.expanduser(path), encoding="utf-8") as handle:
        return json.load(handle)
