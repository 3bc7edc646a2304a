"""How Ansible reaches a PBX. OpenSSH (ansible.builtin.ssh, ControlPersist, pipelining) is the
default: every other lab test runs over it. paramiko_ssh stays an option while ansible-core ships
it (deprecated in 2.19, removed in 2.21): one smoke run here, with host keys still checked."""
import shutil
import subprocess

from conftest import ROOT, ansible_env, ansible_module


def test_openssh_is_the_default_connection(lab_inventory):
    # The operator's own HOME: OpenSSH's ControlPath lives under it, and a socket path has a limit.
    result = ansible_module(lab_inventory, None, "-vvv")
    assert result.returncode == 0, result.stdout[-1500:] + result.stderr[-1500:]
    # Verbose lines go to stderr under Molecule's environment, to stdout otherwise.
    output = result.stdout + result.stderr
    assert "ESTABLISH SSH CONNECTION" in output and "plain Asterisk" in output


def test_paramiko_ssh_still_works_and_still_checks_host_keys(lab_inventory, tmp_path):
    # paramiko reads ~/.ssh/known_hosts: a home that holds the lab's known hosts, then one that does not.
    (tmp_path / "trusted" / ".ssh").mkdir(parents=True)
    shutil.copy(ROOT / ".lab" / "ssh" / "known_hosts", tmp_path / "trusted" / ".ssh" / "known_hosts")
    # The inventory names ssh, which outranks -c: the variable itself is overridden.
    trusted = ansible_module(lab_inventory, tmp_path / "trusted", "-e", "ansible_connection=paramiko_ssh")
    assert trusted.returncode == 0, trusted.stdout[-1500:] + trusted.stderr[-1500:]
    assert "plain Asterisk" in trusted.stdout
    (tmp_path / "stranger" / ".ssh").mkdir(parents=True)
    stranger = ansible_module(lab_inventory, tmp_path / "stranger", "-e", "ansible_connection=paramiko_ssh")
    # An unknown host key: paramiko would ask whether to trust it, and with nobody to ask it refuses.
    assert stranger.returncode != 0
    assert "UNREACHABLE" in stranger.stdout and "plain Asterisk" not in stranger.stdout


def test_mitogen_runs_the_whole_playbook_as_an_opt_in(lab_inventory):
    """./voipguard harden --mitogen (Mitogen for Ansible's strategy, for fleets): every role runs
    on the hardened PBX over Mitogen, and finds nothing to change."""
    env = ansible_env(ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    result = subprocess.run([str(ROOT / "voipguard"), "harden", "--mitogen", "-i", lab_inventory, "--limit", "pbx",
                             "-e", "voipguard_full_run=true", "-vvv"],
                            env=env, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    # A strategy from outside ansible.builtin ran (ansible-core says so), and ansible.builtin.ssh,
    # which announces every connection at -vvv, carried no task: Mitogen's connection did.
    assert "Use of strategy plugins not included in ansible.builtin" in output
    assert "ESTABLISH SSH CONNECTION" not in output
    assert "pbx : hardened, 0 changes" in output
