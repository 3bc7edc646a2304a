"""What nftables does to a new packet from an arbitrary outside address.

Used when no probe host can try it for real. Reads ``nft -j list ruleset`` and follows every
base chain on the input hook the way netfilter does: a drop in any of them is final, an accept
only ends that chain. The outsider is unknown, so a rule restricted to source addresses never
matches it, nor one on an established connection unless the packet is a flow's later one. A rule
on an input interface never matches it when a port's reachability is asked (an interface rule
is taken as a LAN's), and may match it when SIP admission is asked (FreePBX puts its internet
interface in a zone; loopback never). A rule this reader does not understand is assumed to
match when it accepts and not to match when it drops (the conservative reading: "open" unless a
drop surely applies); after a return it cannot decide, no later drop of that chain is sure. A rule that drops only over a rate does not stop the packet: it is
recorded as a limit the packet passed (FreePBX's Responsive Firewall meters, voipguard's SIP
brake), and the walk goes on. iptables rules (FreePBX 17's firewall) arrive translated into the
same form by audit/iptables_save.py.
"""

_SOURCE_FIELDS = ("saddr",)
_UNDERSTOOD_STATEMENTS = ("counter", "log", "comment", "set", "meter", "notrack", "limit", "mangle")
_NFPROTO = {"ipv4": "ip", "ipv6": "ip6", "ip": "ip", "ip6": "ip6"}
_MAX_DEPTH = 16


def _sets(ruleset):
    out = {}
    for item in ruleset:
        if "set" in item:
            s = item["set"]
            out[(s.get("family"), s.get("table"), s.get("name"))] = s.get("elem") or []
    return out


def _contains(right, port, named, family, table):
    if isinstance(right, bool):
        return False
    if isinstance(right, int):
        return right == port
    if isinstance(right, str):
        if right.startswith("@"):
            return any(_contains(e, port, named, family, table)
                       for e in named.get((family, table, right[1:]), []))
        return right.isdigit() and int(right) == port
    if isinstance(right, dict):
        if "set" in right:
            return any(_contains(e, port, named, family, table) for e in right["set"])
        if "range" in right:
            low, high = right["range"]
            return isinstance(low, int) and isinstance(high, int) and low <= port <= high
        if "elem" in right:
            return _contains(right["elem"].get("val"), port, named, family, table)
        if "prefix" in right:
            return False
    if isinstance(right, list):
        return any(_contains(e, port, named, family, table) for e in right)
    return False


def _values(right):
    if isinstance(right, list):
        return right
    if isinstance(right, dict):
        return right.get("set") or []
    return [right]


def _yes_no(hit, negate):
    return "yes" if hit != negate else "no"


def _match_result(match, packet, named, family, table):
    """'yes' (the outsider's new packet matches), 'no', or 'unknown'."""
    left, right, op = match.get("left"), match.get("right"), match.get("op", "==")
    negate = op == "!="
    if isinstance(left, dict) and "payload" in left:
        payload = left["payload"]
        field, protocol = payload.get("field"), payload.get("protocol")
        if packet["family"] and protocol in ("ip", "ip6") and protocol != packet["family"]:
            return "no"  # an ip header field never matches an IPv6 packet, nor ip6 an IPv4 one
        if field in _SOURCE_FIELDS:
            return "no" if not negate else "unknown"
        if field == "dport":
            if protocol not in (packet["proto"], "th", None):
                return "no"
            return _yes_no(_contains(right, packet["port"], named, family, table), negate)
        if field == "daddr":
            # The outsider's packet is addressed to the host itself: not a broadcast or multicast
            # address, nor one of a named set filled from outside the ruleset.
            if (isinstance(right, str) and right.startswith("@")) or _group_address(right):
                return "no" if not negate else "unknown"
            return "unknown"
        if field == "sport":
            return "unknown"
    if isinstance(left, dict) and "meta" in left:
        key = left["meta"].get("key")
        if key in ("iif", "iifname"):
            if "lo" in [str(v) for v in _values(right)]:
                return _yes_no(False, negate)  # loopback is never the outsider's
            if packet.get("interfaces") == "any":
                return "unknown"  # the outsider's interface is not known: a zone's may be it
            return "no" if not negate else "unknown"
        if key == "pkttype":
            return _yes_no(bool({"host", "unicast"} & {str(v) for v in _values(right)}), negate)
        if key == "l4proto":
            return _yes_no(packet["proto"] in [str(v) for v in _values(right)], negate)
        if key in ("nfproto", "protocol"):
            wanted = [_NFPROTO.get(str(v)) for v in _values(right)]
            if not packet["family"] or None in wanted:
                return "unknown"
            return _yes_no(packet["family"] in wanted, negate)
        if key == "mark":
            return _mark_result(None, right, packet, negate)
    if isinstance(left, dict) and "&" in left:
        operands = left["&"]
        if (len(operands) == 2 and isinstance(operands[0], dict)
                and operands[0].get("meta", {}).get("key") == "mark" and isinstance(operands[1], int)):
            return _mark_result(operands[1], right, packet, negate)
    if isinstance(left, dict) and "fib" in left and left["fib"].get("result") == "type" \
            and "daddr" in (left["fib"].get("flags") or []):
        # The outsider's packet is addressed to the host itself: local, and unicast.
        return _yes_no("local" in [str(v) for v in _values(right)], negate)
    if isinstance(left, dict) and "ct" in left and left["ct"].get("key") == "state":
        return _yes_no(packet.get("ct", "new") in [str(s) for s in _values(right)], negate)
    return "unknown"


def _group_address(right):
    if isinstance(right, dict) and "prefix" in right:
        right = right["prefix"].get("addr")
    if not isinstance(right, str):
        return False
    return right == "255.255.255.255" or right.lower().startswith("ff") or \
        (right.split(".")[0].isdigit() and 224 <= int(right.split(".")[0]) <= 239)


def _mark_value(value, mark):
    """The mark a "meta mark set" statement gives: a constant, or an expression of the current
    mark (|, &, ^ with constants: iptables' --set-xmark as nftables shows it). None: unknown."""
    if isinstance(value, int):
        return value
    if isinstance(value, dict) and value.get("meta", {}).get("key") == "mark":
        return mark
    if isinstance(value, dict) and len(value) == 1:
        operator, operands = next(iter(value.items()))
        if operator in ("|", "&", "^") and isinstance(operands, list) and len(operands) == 2:
            left, right = _mark_value(operands[0], mark), _mark_value(operands[1], mark)
            if left is None or right is None:
                return None
            return {"|": left | right, "&": left & right, "^": left ^ right}[operator]
    return None


def _mark_result(mask, right, packet, negate):
    if packet["mark"] is None or not isinstance(right, int):
        return "unknown"
    mark = packet["mark"] if mask is None else packet["mark"] & mask
    return _yes_no(mark == right, negate)


def _unwrap_elem(elem):
    while isinstance(elem, dict) and "elem" in elem:
        elem = elem["elem"].get("val")
    return elem


def _rate_limit(statement):
    """{"limit", "key"} when the statement is a rate limit (plain, or kept per key in a meter or
    a set update), else None. key: the payload it is kept per ({"protocol", "field"}) or None."""
    if "limit" in statement:
        return {"limit": statement["limit"], "key": None}
    body = statement.get("meter") or (statement.get("set") if statement.get("set", {}).get("op") == "update" else None)
    if not body:
        return None
    inner = body.get("stmt")
    inner = inner if isinstance(inner, list) else [inner]
    limit = next((s["limit"] for s in inner if isinstance(s, dict) and "limit" in s), None)
    if limit is None:
        return None
    key = _unwrap_elem(body.get("key") if "meter" in statement else body.get("elem"))
    return {"limit": limit, "key": (key or {}).get("payload")}


def _comment(expr):
    return next((s["comment"] for s in expr if isinstance(s.get("comment"), str)), None)


def _limit_found(rate, expr, table):
    """One rate limit as the reader reports it; bans: the set the same rule adds the source to."""
    limit, key = rate["limit"], rate["key"] or {}
    bans = next((e["set"]["set"].lstrip("@") for e in expr
                 if "set" in e and e["set"].get("op") == "add"), None)
    return {"table": table, "per_source": key.get("field") == "saddr",
            "family": key.get("protocol"), "rate": limit.get("rate"), "per": limit.get("per"),
            "burst": limit.get("burst"), "bans": bans}


class _Walk:
    """One packet through the input hook: its verdict, the limits it passed, where it ended."""

    def __init__(self, ruleset, packet):
        items = ruleset.get("nftables", []) if isinstance(ruleset, dict) else ruleset
        self.named = _sets(items)
        self.chains, self.rules = {}, {}
        for item in items:
            if "chain" in item:
                c = item["chain"]
                self.chains[(c.get("family"), c.get("table"), c.get("name"))] = c
            elif "rule" in item:
                r = item["rule"]
                self.rules.setdefault((r.get("family"), r.get("table"), r.get("chain")), []).append(r.get("expr") or [])
        self.packet = dict(packet, mark=0)
        self.limits = []
        self.ended_in = None
        self.ended_by = None  # the deciding rule's comment (iptables rules carry their text there)

    def base_chains(self):
        families = ("inet", self.packet["family"]) if self.packet["family"] else ("inet", "ip", "ip6")
        return sorted((key for key, c in self.chains.items()
                       if c.get("hook") == "input" and c.get("family") in families),
                      key=lambda k: self.chains[k].get("prio", 0))

    def chain(self, chain_key, depth=0):
        """'accept', 'drop' or None (fell through / returned)."""
        if depth > _MAX_DEPTH:
            return None
        family, table, name = chain_key
        may_have_left = False
        for expr in self.rules.get(chain_key, []):
            matched, verdict, rate, mark = "yes", None, None, None
            for statement in expr:
                if "match" in statement:
                    result = _match_result(statement["match"], self.packet, self.named, family, table)
                    if result == "no":
                        matched = "no"
                        break
                    if result == "unknown":
                        matched = "unknown"
                elif "accept" in statement:
                    verdict = ("accept", None)
                elif "drop" in statement or "reject" in statement:
                    verdict = ("drop", None)
                elif "jump" in statement or "goto" in statement:
                    kind = "jump" if "jump" in statement else "goto"
                    verdict = (kind, statement[kind]["target"])
                elif "return" in statement:
                    verdict = ("return", None)
                elif "mangle" in statement and statement["mangle"].get("key", {}).get("meta", {}).get("key") == "mark":
                    mark = _mark_value(statement["mangle"].get("value"), self.packet["mark"])
                elif (found := _rate_limit(statement)) is not None:
                    rate = found
                elif not any(key in statement for key in _UNDERSTOOD_STATEMENTS):
                    matched = "unknown" if matched == "yes" else matched
            if matched == "no":
                continue
            if rate is not None:
                protocol = (rate["key"] or {}).get("protocol")
                if self.packet["family"] and protocol in ("ip", "ip6") and protocol != self.packet["family"]:
                    continue  # kept per IPv4 address: an IPv6 packet never reaches this rule
            if mark is not None or any("mangle" in s for s in expr):
                self.packet["mark"] = mark if matched == "yes" else None
            if verdict is None:
                continue
            if rate is not None:
                verdict_here = self._resolve(verdict, chain_key, depth)
                if rate["limit"].get("inv") and verdict_here == "drop":
                    self.limits.append(_limit_found(rate, expr, table))
                elif verdict_here == "accept":
                    if self.ended_in is None:
                        self.ended_in, self.ended_by = name, _comment(expr)
                    return "accept"  # accepted under a rate: the outsider gets in at that rate
                continue
            kind, target = verdict
            if kind == "accept":
                self.ended_in, self.ended_by = name, _comment(expr)
                return "accept"
            if kind == "drop":
                # After a return that may have been taken, the packet may not be here any more.
                if matched == "yes" and not may_have_left:
                    self.ended_in, self.ended_by = name, _comment(expr)
                    return "drop"
            elif kind == "return":
                if matched == "yes":
                    return None
                may_have_left = True
            else:
                sub = self.chain((family, table, target), depth + 1)
                if sub is not None and (matched == "yes" or sub == "accept"):
                    return sub
                if kind == "goto":
                    if matched == "yes":
                        return None
                    may_have_left = True
        return None

    def _resolve(self, verdict, chain_key, depth):
        kind, target = verdict
        if kind in ("accept", "drop"):
            return kind
        if kind in ("jump", "goto"):
            # Only whether the target ends in a verdict: its own limits and mark are not the packet's.
            saved = (list(self.limits), self.packet["mark"], self.ended_in, self.ended_by)
            sub = self.chain((chain_key[0], chain_key[1], target), depth + 1)
            self.limits, self.packet["mark"], self.ended_in, self.ended_by = saved
            return sub
        return None

    def run(self):
        """(verdict, base chain that decided or None)."""
        for key in self.base_chains():
            verdict = self.chain(key)
            if verdict is None:
                verdict = self.chains[key].get("policy", "accept")
            if verdict == "drop":
                return "drop", key
        return "accept", None


def port_open_from_outside(ruleset, port, proto="tcp"):
    """(open, explanation) for ``nft -j list ruleset`` output (already json-decoded)."""
    walk = _Walk(ruleset, {"port": port, "proto": proto, "family": None, "ct": "new"})
    if not walk.base_chains():
        return True, "no nftables chain on the input hook: nothing filters port %d" % port
    verdict, key = walk.run()
    if verdict == "drop":
        return False, "%s %s chain %s drops new %s/%d from other addresses" % (
            key[0], key[1], key[2], proto, port)
    return True, "no input chain drops new %s/%d from an arbitrary address" % (proto, port)


def outsider_admission(ruleset, port, proto, family, ct="new"):
    """What a packet from an arbitrary outside address (family "ip" or "ip6") to port/proto
    meets, the first of its flow (ct "new") or a later one (ct "established": a guesser that
    keeps one socket): {"verdict": "accept"|"drop", "limits": [...], "ended_in": chain name or
    None, "ended_by": the deciding rule's text where it carries one (iptables rules), or None}.
    limits: the rate limits that drop it over their rate, on its way ({"table", "per_source",
    "family", "rate", "per", "burst", "bans"}). Decides whether SIP from anywhere is refused, or
    admitted only behind a per-source rate."""
    walk = _Walk(ruleset, {"port": port, "proto": proto, "family": family, "ct": ct, "interfaces": "any"})
    verdict, _key = walk.run()
    return {"verdict": verdict, "limits": walk.limits, "ended_in": walk.ended_in, "ended_by": walk.ended_by}


def per_source_limits(chain_listing):
    """The per-source rate limits of one chain (``nft -j list chain`` output, json-decoded).

    A rule counts when it drops a source over a limit kept per source address (a set update
    with a limit), with no address match before it: every source that reaches it is limited.
    Returns [{"family", "rate", "per", "burst", "bans"}]; bans names the set the same rule adds
    the source to (a ban made by the packet over the rate), or None.
    """
    items = chain_listing.get("nftables", []) if isinstance(chain_listing, dict) else chain_listing
    limits = []
    for item in items:
        expressions = (item.get("rule") or {}).get("expr") or []
        if not any("drop" in e for e in expressions):
            continue
        if any("match" in e for e in expressions):
            continue
        for statement in expressions:
            rate = _rate_limit(statement)
            if rate is None or rate["key"] is None:
                continue
            if not rate["limit"].get("inv") or rate["key"].get("field") != "saddr":
                continue
            described = _limit_found(rate, expressions, None)
            limits.append(dict((key, described[key]) for key in ("family", "rate", "per", "burst", "bans")))
    return limits
