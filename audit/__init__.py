"""voipguard audit: Testinfra controls that prove the hardening, and their report."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _use_project_module_utils():
    # The controls parse configurations with the same code the hardening modules use.
    import ansible.module_utils  # pylint: disable=import-outside-toplevel
    path = os.path.join(ROOT, "module_utils")
    if path not in ansible.module_utils.__path__:
        ansible.module_utils.__path__.append(path)


def toolkit_version():
    try:
        with open(os.path.join(ROOT, "VERSION"), encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return "unknown"


_use_project_module_utils()
