"""Would nftables let a new TCP connection from an arbitrary outside address reach a port?

Used when no probe host can try it for real. Reads ``nft -j list ruleset`` and follows every
base chain on the input hook the way netfilter does: a drop in any of them is final, an accept
only ends that chain. The outsider is unknown, so a rule restricted to source addresses,
an input interface or an established connection never matches it; a rule this reader does not
understand is assumed to match when it accepts and not to match when it drops (the
conservative reading: "open" unless a drop surely applies).
"""

_SOURCE_FIELDS = ("saddr",)
_UNDERSTOOD_STATEMENTS = ("counter", "log", "limit", "comment", "set", "meter", "notrack")


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


def _match_result(match, port, proto, named, family, table):
    """'yes' (the outsider's new packet matches), 'no', or 'unknown'."""
    left, right, op = match.get("left"), match.get("right"), match.get("op", "==")
    negate = op == "!="
    if isinstance(left, dict) and "payload" in left:
        payload = left["payload"]
        field = payload.get("field")
        if field in _SOURCE_FIELDS:
            return "no" if not negate else "unknown"
        if field == "dport":
            if payload.get("protocol") not in (proto, "th", None):
                return "no"
            hit = _contains(right, port, named, family, table)
            return "yes" if hit != negate else "no"
        if field in ("sport", "daddr"):
            return "unknown"
    if isinstance(left, dict) and "meta" in left:
        key = left["meta"].get("key")
        if key in ("iif", "iifname"):
            return "no" if not negate else "unknown"
        if key in ("l4proto", "protocol", "nfproto"):
            values = right if isinstance(right, list) else (right.get("set") if isinstance(right, dict) else [right])
            hit = proto in [str(v) for v in values or []] or (key != "l4proto")
            return "yes" if hit != negate else "no"
    if isinstance(left, dict) and "ct" in left and left["ct"].get("key") == "state":
        states = right if isinstance(right, list) else (right.get("set") if isinstance(right, dict) else [right])
        hit = "new" in [str(s) for s in states or []]
        return "yes" if hit != negate else "no"
    if isinstance(left, dict) and "fib" in left:
        return "unknown"
    return "unknown"


def _evaluate_chain(chain_key, rules, chains, port, proto, named, depth=0):
    """'accept', 'drop' or None (fell through / returned) for the outsider's packet."""
    if depth > 16:
        return None
    family, table, _name = chain_key
    for expr in rules.get(chain_key, []):
        matched = "yes"
        verdict = None
        for statement in expr:
            if "match" in statement:
                result = _match_result(statement["match"], port, proto, named, family, table)
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
            elif not any(key in statement for key in _UNDERSTOOD_STATEMENTS):
                matched = "unknown" if matched == "yes" else matched
        if matched == "no" or verdict is None:
            continue
        kind, target = verdict
        if kind == "accept":
            if matched in ("yes", "unknown"):
                return "accept"
        elif kind == "drop":
            if matched == "yes":
                return "drop"
        elif kind == "return":
            if matched == "yes":
                return None
        else:
            sub = _evaluate_chain((family, table, target), rules, chains, port, proto, named, depth + 1)
            if sub is not None and (matched == "yes" or sub == "accept"):
                return sub
            if kind == "goto" and matched == "yes":
                return None
    return None


def port_open_from_outside(ruleset, port, proto="tcp"):
    """(open, explanation) for ``nft -j list ruleset`` output (already json-decoded)."""
    items = ruleset.get("nftables", []) if isinstance(ruleset, dict) else ruleset
    named = _sets(items)
    chains, rules = {}, {}
    for item in items:
        if "chain" in item:
            c = item["chain"]
            chains[(c.get("family"), c.get("table"), c.get("name"))] = c
        elif "rule" in item:
            r = item["rule"]
            rules.setdefault((r.get("family"), r.get("table"), r.get("chain")), []).append(r.get("expr") or [])
    base = [key for key, c in chains.items() if c.get("hook") == "input"
            and c.get("family") in ("inet", "ip", "ip6")]
    if not base:
        return True, "no nftables chain on the input hook: nothing filters port %d" % port
    for key in sorted(base, key=lambda k: chains[k].get("prio", 0)):
        verdict = _evaluate_chain(key, rules, chains, port, proto, named)
        if verdict is None:
            verdict = chains[key].get("policy", "accept")
        if verdict == "drop":
            return False, "%s %s chain %s drops new %s/%d from other addresses" % (
                key[0], key[1], key[2], proto, port)
    return True, "no input chain drops new %s/%d from an arbitrary address" % (proto, port)


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
        updates = [e["set"] for e in expressions if "set" in e and e["set"].get("op") == "update"]
        for update in updates:
            limit = next((s["limit"] for s in update.get("stmt") or [] if "limit" in s), None)
            field = (update.get("elem") or {}).get("payload") or {}
            if limit is None or not limit.get("inv") or field.get("field") != "saddr":
                continue
            bans = next((e["set"]["set"].lstrip("@") for e in expressions
                         if "set" in e and e["set"].get("op") == "add"), None)
            limits.append({"family": field.get("protocol"), "rate": limit.get("rate"),
                           "per": limit.get("per"), "burst": limit.get("burst"), "bans": bans})
    return limits
