"""The audit's pytest plugin, for every control under audit/controls.

Run against the inventory's hosts over SSH (as Ansible connects), as CI and production audits do:
  pytest audit/controls --hosts=ansible://pbx --ansible-inventory=inventories/lab/hosts.yml \
         --voipguard-results=artifacts/audit/results.json
or through ``python -m audit run`` which does the same and renders the report.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

# Hooks and fixtures are plain names of this conftest: pytest finds them here.
from audit.plugin import (  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import
    evidence, pytest_addoption, pytest_configure, pytest_runtest_makereport,
    pytest_sessionfinish, target)
