"""nft_country_set: database reading, range merging, elements, file rendering, errors."""
import shutil
import subprocess
from pathlib import Path

import pytest

import nft_country_set as ncs

FIXTURES = Path(__file__).parent / "fixtures" / "nft_country_set"


def tor_params(countries, **extra):
    params = dict(countries=countries, source="tor", tor_geoip=str(FIXTURES / "geoip"),
                  tor_geoip6=str(FIXTURES / "geoip6"), table="voipguard",
                  set_v4="voipguard_countries_v4", set_v6="voipguard_countries_v6")
    params.update(extra)
    return params


def maxmind_params(countries, **extra):
    params = dict(countries=countries, source="maxmind",
                  maxmind_blocks_ipv4=str(FIXTURES / "GeoLite2-Country-Blocks-IPv4.csv"),
                  maxmind_blocks_ipv6=str(FIXTURES / "GeoLite2-Country-Blocks-IPv6.csv"),
                  maxmind_locations=str(FIXTURES / "GeoLite2-Country-Locations-en.csv"),
                  table="voipguard", set_v4="voipguard_countries_v4",
                  set_v6="voipguard_countries_v6")
    params.update(extra)
    return params


@pytest.mark.parametrize("ranges, merged", [
    ([], []),
    ([(5, 9), (1, 3)], [(1, 3), (5, 9)]),
    ([(1, 3), (4, 9)], [(1, 9)]),             # adjacent
    ([(1, 6), (4, 9)], [(1, 9)]),             # overlapping
    ([(1, 20), (4, 9)], [(1, 20)]),           # contained
    ([(7, 7), (1, 3), (4, 6)], [(1, 7)]),
])
def test_merge_ranges(ranges, merged):
    assert ncs.merge_ranges(ranges) == merged


@pytest.mark.parametrize("start, end, version, element", [
    ("10.0.0.1", "10.0.0.1", 4, "10.0.0.1"),
    ("10.0.0.0", "10.0.0.255", 4, "10.0.0.0/24"),
    ("10.0.0.0", "10.0.2.255", 4, "10.0.0.0-10.0.2.255"),
    ("10.0.1.0", "10.0.2.255", 4, "10.0.1.0-10.0.2.255"),   # size 512 but not aligned
    ("0.0.0.0", "255.255.255.255", 4, "0.0.0.0/0"),
    ("2001:db8::", "2001:db8:1:ffff:ffff:ffff:ffff:ffff", 6, "2001:db8::/47"),
])
def test_range_element(start, end, version, element):
    import ipaddress
    assert ncs.range_element(int(ipaddress.ip_address(start)), int(ipaddress.ip_address(end)),
                             version) == element


def test_normalize_countries_upper_dedup_sorted():
    assert ncs.normalize_countries(["de", "ZW", "De "]) == ["DE", "ZW"]


@pytest.mark.parametrize("bad", [["DEU"], ["D"], ["2A"], []])
def test_normalize_countries_rejects_malformed(bad):
    with pytest.raises(ncs.CountryError):
        ncs.normalize_countries(bad)


def test_tor_source_merges_and_counts():
    content, counts, n_v4, n_v6 = ncs.build(tor_params(["de", "ZW"]))
    assert counts == {"DE": {"ipv4": 2, "ipv6": 1}, "ZW": {"ipv4": 2, "ipv6": 0}}
    assert (n_v4, n_v6) == (4, 1)
    assert "2.0.0.0-2.0.2.255, 2.0.4.0/24, 3.0.0.0, 3.0.0.2," in content
    assert "2001:db8::/47," in content
    assert "1.0.0.0" not in content        # AU not asked for
    assert "4.0.0.0" not in content        # '??' never selected
    assert content.index("flush set inet voipguard voipguard_countries_v4") < \
        content.index("add element inet voipguard voipguard_countries_v4")


def test_unknown_country_code_is_a_clear_error():
    with pytest.raises(ncs.CountryError, match=r"unknown to .*geoip: XK"):
        ncs.build(tor_params(["DE", "XK"]))


def test_unknown_placeholder_code_is_rejected():
    with pytest.raises(ncs.CountryError):
        ncs.build(tor_params(["??"]))


def test_country_known_only_in_ipv6_file_is_accepted():
    content, counts, n_v4, n_v6 = ncs.build(tor_params(["SO"]))
    assert counts == {"SO": {"ipv4": 0, "ipv6": 1}}
    assert "add element inet voipguard voipguard_countries_v4" not in content
    assert "2001:db8:5::/48," in content


def test_ipv6_file_optional():
    _, counts, _, n_v6 = ncs.build(tor_params(["DE"], tor_geoip6=""))
    assert n_v6 == 0 and counts["DE"]["ipv6"] == 0


def test_maxmind_csv_source():
    content, counts, n_v4, n_v6 = ncs.build(maxmind_params(["DE", "ZW", "SO"]))
    # 2.0.3.0/24 has no geoname_id: its registered country (DE) counts.
    assert counts["DE"] == {"ipv4": 2, "ipv6": 0}
    assert "2.0.0.0/23, 2.0.3.0/24," in content
    assert "3.0.0.0/31" in content
    assert counts["SO"] == {"ipv4": 0, "ipv6": 1}
    assert (n_v4, n_v6) == (3, 1)


def test_maxmind_unknown_code():
    with pytest.raises(ncs.CountryError, match="AU"):
        ncs.build(maxmind_params(["DE", "AU"]))


def test_invalid_table_name_rejected():
    with pytest.raises(ncs.CountryError, match="table"):
        ncs.build(tor_params(["DE"], table="voip guard; flush ruleset"))


def test_summary_shows_counts_not_ranges():
    content, _, _, _ = ncs.build(tor_params(["DE", "ZW"]))
    summary = ncs.summarize(content)
    assert "country DE: 2 IPv4 ranges, 1 IPv6 ranges" in summary
    assert "elements: 4 IPv4 ranges, 1 IPv6 ranges" in summary
    assert "2.0.4.0" not in summary
    assert ncs.summarize("") == ""


def test_render_is_deterministic():
    assert ncs.build(tor_params(["ZW", "DE"]))[0] == ncs.build(tor_params(["DE", "zw"]))[0]


@pytest.mark.skipif(shutil.which("nft") is None, reason="nftables not installed")
def test_nft_parses_the_file(tmp_path):
    """nft -c checks syntax and set semantics against the kernel without changing it (root)."""
    content, _, _, _ = ncs.build(tor_params(["DE", "ZW", "SO"]))
    path = tmp_path / "countries.nft"
    path.write_text(content)
    proc = subprocess.run(["nft", "-c", "-f", str(path)], capture_output=True, text=True)
    if proc.returncode != 0 and "Operation not permitted" in proc.stderr:
        pytest.skip("nft -c needs CAP_NET_ADMIN")
    assert proc.returncode == 0, proc.stderr
