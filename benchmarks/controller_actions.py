"""The actions Ansible carries out in its own process: no module of theirs reaches the host.
One list for the benchmarks that tell host work from controller work (run_profile.py,
payload_build.py)."""

CONTROLLER_ACTIONS = {"set_fact", "assert", "debug", "fail", "meta", "include_role", "include_tasks", "import_role",
                      "import_tasks", "include_vars", "validate_argument_spec", "add_host", "group_by",
                      # voipguard's own action plugin judges the variables on the controller
                      "voipguard_validate"}


def runs_on_the_controller(action):
    """True for such an action, named short or as ansible.builtin.<name>."""
    prefix, _dot, name = action.rpartition(".")
    return name in CONTROLLER_ACTIONS and prefix in ("", "ansible.builtin", "ansible.legacy")
