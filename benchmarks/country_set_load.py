#!/usr/bin/env python3
"""Time compiling a big country list from tor-geoipdb and loading it with nft -f.

The load goes into a throwaway network namespace, so the host's ruleset is never touched.
Needs root, nft (nftables) and tor-geoipdb.

    sudo .venv/bin/python benchmarks/country_set_load.py [CC ...]   (imports library/, needs ansible)
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "library"))

import nft_country_set  # noqa: E402  (path set above)

DEFAULT_COUNTRIES = ["US", "CN", "DE", "RU", "BR", "GB", "FR", "NL", "JP", "IN"]
NETNS = "voipguard-bench-%d" % os.getpid()


def main(countries):
    params = dict(countries=countries, source="tor", tor_geoip="/usr/share/tor/geoip",
                  tor_geoip6="/usr/share/tor/geoip6", table="voipguard",
                  set_v4="voipguard_countries_v4", set_v6="voipguard_countries_v6")
    t0 = time.monotonic()
    content, counts, n_v4, n_v6 = nft_country_set.build(params)
    compile_s = time.monotonic() - t0

    with tempfile.NamedTemporaryFile("w", suffix=".nft", delete=False) as handle:
        handle.write(content)
        path = handle.name
    subprocess.run(["ip", "netns", "add", NETNS], check=True)
    try:
        t1 = time.monotonic()
        subprocess.run(["ip", "netns", "exec", NETNS, "nft", "-f", path], check=True)
        load_s = time.monotonic() - t1
        # Second load: the steady-state refresh (flush + refill of sets already full).
        t2 = time.monotonic()
        subprocess.run(["ip", "netns", "exec", NETNS, "nft", "-f", path], check=True)
        reload_s = time.monotonic() - t2
        listed = subprocess.run(["ip", "netns", "exec", NETNS, "nft", "list", "set", "inet",
                                 "voipguard", "voipguard_countries_v4"],
                                check=True, capture_output=True, text=True).stdout
    finally:
        subprocess.run(["ip", "netns", "del", NETNS], check=False)
        os.unlink(path)

    ranges = sum(c["ipv4"] + c["ipv6"] for c in counts.values())
    print("countries: %s" % " ".join(countries))
    print("ranges per country (v4+v6): %d; set elements: %d IPv4 + %d IPv6" % (ranges, n_v4, n_v6))
    print("file size: %.1f MiB" % (len(content) / 1048576))
    print("compile_seconds: %.2f" % compile_s)
    print("load_seconds: %.2f" % load_s)
    print("reload_seconds: %.2f" % reload_s)
    print("kernel set listed: %d lines" % len(listed.splitlines()))


if __name__ == "__main__":
    main([c.upper() for c in sys.argv[1:]] or DEFAULT_COUNTRIES)
