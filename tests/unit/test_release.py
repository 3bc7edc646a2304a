"""Release hygiene: one version in VERSION, galaxy.yml and CHANGELOG.md, and every module's
version_added a release the changelog names, never later than the version being built."""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def semver(text):
    match = re.match(r"^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$", text)
    assert match, "%r is not a semantic version" % text
    return tuple(int(match.group(i)) for i in (1, 2, 3))


def released():
    return re.findall(r"^## \[(\d+\.\d+\.\d+)\] - \d{4}-\d{2}-\d{2}$", (ROOT / "CHANGELOG.md").read_text(), re.M)


def test_version_galaxy_and_changelog_agree():
    version = (ROOT / "VERSION").read_text().strip()
    assert yaml.safe_load((ROOT / "galaxy.yml").read_text())["version"] == version
    releases = released()
    assert releases and all(semver(version) > semver(r) for r in releases), (version, releases)
    assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text()


def test_every_version_added_is_a_release_or_the_one_being_built():
    version = semver((ROOT / "VERSION").read_text().strip())
    known = set(released()) | {"%d.%d.%d" % version}
    for path in sorted((ROOT / "library").glob("*.py")):
        doc = yaml.safe_load(re.search(r'DOCUMENTATION = r?"""(.*?)"""', path.read_text(), re.S).group(1))
        found = [doc["version_added"]] + [o["version_added"] for o in doc["options"].values() if "version_added" in o]
        for value in found:
            assert value in known, (path.name, value)
        # An option cannot be older than its module.
        assert all(semver(v) >= semver(doc["version_added"]) for v in found), path.name
