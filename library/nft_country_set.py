#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compile ISO country codes into nftables interval-set elements and load them atomically."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: nft_country_set
short_description: Fill nftables interval sets with the IP ranges of a list of countries
description:
  - Reads a real IP-location database, Debian's C(tor-geoipdb) (C(/usr/share/tor/geoip) and
    C(geoip6)) by default or a MaxMind GeoLite2-Country CSV export, selects the ranges of
    O(countries), merges adjacent and overlapping ranges, and writes an nft file that flushes
    and refills two interval sets (IPv4 and IPv6) inside one table.
  - The file is loaded with C(nft -f), one netlink transaction, so the sets are never seen half
    filled, and only when its content changed. The file is loaded before it replaces the old one, so
    a file that nft rejects changes nothing.
  - An unknown country code fails the task before anything changes.
  - In diff mode the diff shows the number of ranges per country, not the ranges themselves.
version_added: "0.1.0"
options:
  countries:
    description: ISO 3166-1 alpha-2 codes (case-insensitive) whose ranges fill the sets.
    type: list
    elements: str
    required: true
  source:
    description:
      - C(tor) reads O(tor_geoip) and O(tor_geoip6) (lines C(start,end,CC)).
      - C(maxmind) reads O(maxmind_blocks_ipv4), O(maxmind_blocks_ipv6) and O(maxmind_locations).
    type: str
    choices: [tor, maxmind]
    default: tor
  tor_geoip:
    description: IPv4 file of tor-geoipdb (C(start_int,end_int,CC)).
    type: path
    default: /usr/share/tor/geoip
  tor_geoip6:
    description: IPv6 file of tor-geoipdb (C(start_ip6,end_ip6,CC)); empty to skip IPv6.
    type: path
    default: /usr/share/tor/geoip6
  maxmind_blocks_ipv4:
    description: GeoLite2-Country-Blocks-IPv4.csv; required when O(source=maxmind).
    type: path
  maxmind_blocks_ipv6:
    description: GeoLite2-Country-Blocks-IPv6.csv; optional.
    type: path
  maxmind_locations:
    description: GeoLite2-Country-Locations-en.csv; required when O(source=maxmind).
    type: path
  dest:
    description: nft file to write.
    type: path
    default: /etc/nftables.d/voipguard-countries.nft
  table:
    description: Name of the nftables table (family inet) that holds the sets.
    type: str
    default: voipguard
  set_v4:
    description: Name of the IPv4 interval set.
    type: str
    default: voipguard_countries_v4
  set_v6:
    description: Name of the IPv6 interval set.
    type: str
    default: voipguard_countries_v6
  load:
    description: Load the file into the kernel with C(nft -f) when it changed.
    type: bool
    default: true
  backup:
    description: Keep a timestamped copy of the previous file.
    type: bool
    default: false
notes:
  - Needs C(nft) on the target when O(load=true), and root.
  - Check mode and diff mode are supported.
author: voipguard
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details: Builds the set file and compares; writes and loads nothing.
  diff_mode:
    support: full
    details: A summary of the set (element counts), never every address.
  platform:
    platforms: posix
"""

EXAMPLES = r"""
- name: Allow SIP from Germany and Austria only (tor-geoipdb)
  nft_country_set:
    countries: [DE, AT]

- name: Same from a MaxMind GeoLite2 export the operator downloaded
  nft_country_set:
    countries: [DE, AT]
    source: maxmind
    maxmind_blocks_ipv4: /srv/geolite2/GeoLite2-Country-Blocks-IPv4.csv
    maxmind_blocks_ipv6: /srv/geolite2/GeoLite2-Country-Blocks-IPv6.csv
    maxmind_locations: /srv/geolite2/GeoLite2-Country-Locations-en.csv
"""

RETURN = r"""
dest:
  description: The nft file.
  returned: always
  type: str
counts:
  description: Merged ranges per country and family (after merging across all countries the
    totals can be smaller than the sum).
  returned: always
  type: dict
  sample: {"DE": {"ipv4": 9012, "ipv6": 4100}}
elements_v4:
  description: Number of IPv4 set elements written.
  returned: always
  type: int
elements_v6:
  description: Number of IPv6 set elements written.
  returned: always
  type: int
loaded:
  description: Whether the file was loaded into the kernel in this run.
  returned: always
  type: bool
backup_file:
  description: The backup of the previous file, when O(backup=true) and it changed.
  returned: changed and backup
  type: str
"""

import csv
import ipaddress
import os
import re

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.voipguard_files import write_atomically

COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")
HEADER_COUNT = re.compile(r"^# (?P<what>country [A-Z]{2}|elements) ipv4=(?P<v4>\d+) ipv6=(?P<v6>\d+)$")
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class CountryError(ValueError):
    """An input the operator must fix (unknown code, unreadable database)."""


def normalize_countries(countries):
    """Upper-case, de-duplicated, sorted codes; raises CountryError on a malformed one."""
    codes = sorted({str(c).strip().upper() for c in countries})
    bad = [c for c in codes if not COUNTRY_CODE.match(c)]
    if bad:
        raise CountryError("not ISO 3166-1 alpha-2 country codes: %s" % ", ".join(bad))
    if not codes:
        raise CountryError("countries is empty")
    return codes


def read_tor_geoip(path, version, wanted):
    """Ranges of the wanted countries from a tor-geoipdb file.

    Returns ({cc: [(start_int, end_int), ...]}, set of every code the file knows).
    IPv4 lines are `start_int,end_int,CC`; IPv6 lines are `start_ip6,end_ip6,CC`.
    """
    ranges = {cc: [] for cc in wanted}
    known = set()
    with open(path, encoding="ascii", errors="replace") as handle:
        for line in handle:
            if not line or line[0] == "#":
                continue
            parts = line.rstrip("\n").split(",")
            if len(parts) != 3:
                continue
            cc = parts[2]
            known.add(cc)
            if cc not in ranges:
                continue
            if version == 4:
                start, end = int(parts[0]), int(parts[1])
            else:
                start = int(ipaddress.IPv6Address(parts[0]))
                end = int(ipaddress.IPv6Address(parts[1]))
            ranges[cc].append((start, end))
    return ranges, known


def read_maxmind_locations(path):
    """{geoname_id: ISO code} from a GeoLite2-Country-Locations CSV."""
    ids = {}
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code = (row.get("country_iso_code") or "").strip().upper()
            if code:
                ids[row["geoname_id"]] = code
    return ids


def read_maxmind_blocks(path, locations, wanted):
    """Ranges of the wanted countries from a GeoLite2-Country-Blocks CSV (either family).

    A block's country is its geoname_id, or its registered country when that is empty
    (MaxMind leaves geoname_id empty for some anycast and satellite blocks).
    """
    ranges = {cc: [] for cc in wanted}
    with open(path, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            geoname = row.get("geoname_id") or row.get("registered_country_geoname_id") or ""
            cc = locations.get(geoname)
            if cc not in ranges:
                continue
            net = ipaddress.ip_network(row["network"], strict=False)
            ranges[cc].append((int(net.network_address), int(net.broadcast_address)))
    return ranges


def merge_ranges(ranges):
    """Sorted, merged (start, end) pairs: overlapping and adjacent ranges become one."""
    merged = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1] + 1:
            if end > merged[-1][1]:
                merged[-1][1] = end
        else:
            merged.append([start, end])
    return [(start, end) for start, end in merged]


def range_element(start, end, version):
    """One nft interval-set element: an address, a CIDR prefix when aligned, else a range."""
    cls = ipaddress.IPv4Address if version == 4 else ipaddress.IPv6Address
    bits = 32 if version == 4 else 128
    if start == end:
        return str(cls(start))
    size = end - start + 1
    if size & (size - 1) == 0 and start % size == 0:
        return "%s/%d" % (cls(start), bits - size.bit_length() + 1)
    return "%s-%s" % (cls(start), cls(end))


def compile_countries(by_country_v4, by_country_v6):
    """Merge per country (for the counts) and across countries (for the elements)."""
    counts = {}
    all_v4, all_v6 = [], []
    for cc in sorted(set(by_country_v4) | set(by_country_v6)):
        v4 = merge_ranges(by_country_v4.get(cc, []))
        v6 = merge_ranges(by_country_v6.get(cc, []))
        counts[cc] = {"ipv4": len(v4), "ipv6": len(v6)}
        all_v4.extend(v4)
        all_v6.extend(v6)
    elements_v4 = [range_element(s, e, 4) for s, e in merge_ranges(all_v4)]
    elements_v6 = [range_element(s, e, 6) for s, e in merge_ranges(all_v6)]
    return counts, elements_v4, elements_v6


def _element_lines(elements, per_line=8):
    for i in range(0, len(elements), per_line):
        yield "\t" + ", ".join(elements[i:i + per_line]) + ","


def render_nft(table, set_v4, set_v6, counts, elements_v4, elements_v6, source):
    """The nft file: declare the sets (no-op when they exist), flush them, refill them.

    nft -f applies the whole file as one transaction.
    """
    out = [
        "#!/usr/sbin/nft -f",
        "# Managed by voipguard (nft_country_set). Source: %s" % source,
    ]
    for cc in sorted(counts):
        out.append("# country %s ipv4=%d ipv6=%d" % (cc, counts[cc]["ipv4"], counts[cc]["ipv6"]))
    out.append("# elements ipv4=%d ipv6=%d" % (len(elements_v4), len(elements_v6)))
    out += [
        "table inet %s {" % table,
        "\tset %s {" % set_v4,
        "\t\ttype ipv4_addr",
        "\t\tflags interval",
        "\t}",
        "\tset %s {" % set_v6,
        "\t\ttype ipv6_addr",
        "\t\tflags interval",
        "\t}",
        "}",
        "flush set inet %s %s" % (table, set_v4),
        "flush set inet %s %s" % (table, set_v6),
    ]
    for name, elements in ((set_v4, elements_v4), (set_v6, elements_v6)):
        if elements:
            out.append("add element inet %s %s {" % (table, name))
            out.extend(_element_lines(elements))
            out.append("}")
    return "\n".join(out) + "\n"


def summarize(text):
    """Diff-friendly summary of an nft file written by this module (counts, not ranges)."""
    if not text:
        return ""
    lines = []
    for line in text.splitlines():
        match = HEADER_COUNT.match(line)
        if match:
            lines.append("%s: %s IPv4 ranges, %s IPv6 ranges" % match.group("what", "v4", "v6"))
        elif line.startswith("# Managed by voipguard"):
            lines.append(line[2:])
    return "\n".join(lines) + "\n"


def build(params):
    """Read the database and return (content, counts, n_v4, n_v6). Raises CountryError."""
    codes = normalize_countries(params["countries"])
    for name in ("table", "set_v4", "set_v6"):
        if not NAME.match(params[name]):
            raise CountryError("%s is not a valid nftables name: %r" % (name, params[name]))
    if params["source"] == "tor":
        v4, known = read_tor_geoip(params["tor_geoip"], 4, codes)
        v6 = {}
        if params.get("tor_geoip6"):
            v6, known6 = read_tor_geoip(params["tor_geoip6"], 6, codes)
            known |= known6
        source = params["tor_geoip"]
    else:
        if not params.get("maxmind_blocks_ipv4") or not params.get("maxmind_locations"):
            raise CountryError("source=maxmind needs maxmind_blocks_ipv4 and maxmind_locations")
        locations = read_maxmind_locations(params["maxmind_locations"])
        known = set(locations.values())
        unknown = [c for c in codes if c not in known]
        if unknown:
            raise CountryError("country codes unknown to %s: %s" % (
                params["maxmind_locations"], ", ".join(unknown)))
        v4 = read_maxmind_blocks(params["maxmind_blocks_ipv4"], locations, codes)
        v6 = {}
        if params.get("maxmind_blocks_ipv6"):
            v6 = read_maxmind_blocks(params["maxmind_blocks_ipv6"], locations, codes)
        source = params["maxmind_blocks_ipv4"]
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise CountryError("country codes unknown to %s: %s" % (source, ", ".join(unknown)))
    counts, elements_v4, elements_v6 = compile_countries(v4, v6)
    content = render_nft(params["table"], params["set_v4"], params["set_v6"], counts,
                         elements_v4, elements_v6, source)
    return content, counts, len(elements_v4), len(elements_v6)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            countries=dict(type="list", elements="str", required=True),
            source=dict(type="str", choices=["tor", "maxmind"], default="tor"),
            tor_geoip=dict(type="path", default="/usr/share/tor/geoip"),
            tor_geoip6=dict(type="path", default="/usr/share/tor/geoip6"),
            maxmind_blocks_ipv4=dict(type="path"),
            maxmind_blocks_ipv6=dict(type="path"),
            maxmind_locations=dict(type="path"),
            dest=dict(type="path", default="/etc/nftables.d/voipguard-countries.nft"),
            table=dict(type="str", default="voipguard"),
            set_v4=dict(type="str", default="voipguard_countries_v4"),
            set_v6=dict(type="str", default="voipguard_countries_v6"),
            load=dict(type="bool", default=True),
            backup=dict(type="bool", default=False),
        ),
        required_if=[("source", "maxmind", ("maxmind_blocks_ipv4", "maxmind_locations"))],
        supports_check_mode=True,
    )
    params = module.params
    try:
        content, counts, n_v4, n_v6 = build(params)
    except CountryError as exc:
        module.fail_json(msg=str(exc))
    except (OSError, ValueError) as exc:
        module.fail_json(msg="cannot read the location database: %s" % exc)

    dest = params["dest"]
    before = ""
    if os.path.exists(dest):
        with open(dest, encoding="utf-8") as handle:
            before = handle.read()
    changed = before != content
    result = dict(changed=changed, dest=dest, counts=counts, elements_v4=n_v4,
                  elements_v6=n_v6, loaded=False)
    if module._diff:
        result["diff"] = dict(before=summarize(before), after=summarize(content),
                              before_header="%s (summary)" % dest,
                              after_header="%s (summary)" % dest)
    if not changed or module.check_mode:
        module.exit_json(**result)

    dest_dir = os.path.dirname(dest) or "."
    if not os.path.isdir(dest_dir):
        os.makedirs(dest_dir, 0o755)

    def load_first(written):
        # Load first, replace after: a file nft rejects leaves both kernel and disk as they were.
        if not params["load"]:
            return
        nft = module.get_bin_path("nft", required=True, opt_dirs=["/usr/sbin", "/sbin"])
        rc, out, err = module.run_command([nft, "-f", written], environ_update={"LANG": "C"})
        if rc != 0:
            module.fail_json(msg="nft -f rejected the country set file: %s" % err.strip(),
                             rc=rc, stdout=out, stderr=err)
        result["loaded"] = True

    if params["backup"] and before:
        result["backup_file"] = module.backup_local(dest)
    write_atomically(module, dest, content, mode=0o644, before_move=load_first)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
