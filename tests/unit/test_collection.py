"""The collection artifact: scripts/build-collection.sh stages the repository into
voipguard.asterisk and builds it with ansible-galaxy; installed from the tarball, its roles and
modules work by their fully qualified names (real ansible-galaxy and ansible-playbook runs on
localhost)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.role_defaults import toll_fraud_policy_params

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("collection")
    env = {"PATH": "%s:/usr/bin:/bin" % BIN, "HOME": str(tmp)}
    tarball = subprocess.run(["bash", str(ROOT / "scripts/build-collection.sh"), str(tmp / "out")], env=env,
                             capture_output=True, text=True, check=True, timeout=300).stdout.strip()
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "install", "-p", str(tmp / "collections"), tarball],
                   env=env, capture_output=True, text=True, check=True, timeout=300)
    return tmp, tarball


def test_the_tarball_has_the_collection_layout(installed):
    _tmp, tarball = installed
    names = subprocess.run(["tar", "tzf", tarball], capture_output=True, text=True, check=True).stdout.split()
    for path in ("plugins/modules/toll_fraud_policy.py", "plugins/module_utils/numbering.py",
                 "plugins/callback/voipguard_summary.py", "plugins/lookup/voipguard_rollout.py",
                 "plugins/action/voipguard_validate.py", "plugins/lookup/voipguard_converged_inputs.py",
                 "roles/toll_fraud_guard/meta/argument_specs.yml", "playbooks/harden.yml", "MANIFEST.json"):
        assert path in names, path
    assert not any("__pycache__" in n for n in names)


def test_roles_and_modules_work_by_their_fully_qualified_names(installed):
    tmp, _tarball = installed
    policy = toll_fraud_policy_params()
    play = [{
        "name": "The collection from its tarball", "hosts": "localhost", "gather_facts": False,
        "vars": {"voipguard_site_country": "DE"},
        "tasks": [
            {"name": "A module whose helpers import one another (dial_policy -> numbering)",
             "voipguard.asterisk.toll_fraud_policy": dict(policy, trunk_boundary=False),
             "register": "compiled"},
            {"name": "A role by its FQCN, whose tasks name the collection's modules briefly",
             "ansible.builtin.include_role": {"name": "voipguard.asterisk.toll_fraud_guard",
                                              "tasks_from": "validate"}},
            {"name": "Show", "ansible.builtin.debug": {"msg": "{{ compiled.policy.site_calling_code }}"}},
        ],
    }]
    (tmp / "play.yml").write_text(yaml.safe_dump(play))
    (tmp / "ansible.cfg").write_text("[defaults]\n")
    # Nothing of the repository's own configuration: only the installed collection.
    env = {"PATH": "%s:/usr/bin:/bin" % BIN, "HOME": str(tmp), "ANSIBLE_COLLECTIONS_PATH": str(tmp / "collections"),
           "ANSIBLE_CONFIG": str(tmp / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_PYTHON_INTERPRETER": sys.executable}
    proc = subprocess.run([str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(tmp / "play.yml")],
                          env=env, cwd=tmp, capture_output=True, text=True, check=False, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert '"msg": "49"' in proc.stdout or "msg: '49'" in proc.stdout, proc.stdout[-1500:]
    assert "failed=0" in proc.stdout


def test_galaxy_yml_names_the_version_of_the_release():
    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    assert galaxy["version"] == (ROOT / "VERSION").read_text().strip()
    json.dumps(galaxy)
