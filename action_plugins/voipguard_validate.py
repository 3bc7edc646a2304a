# -*- coding: utf-8 -*-
# Copyright: voipguard contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""voipguard_validate on the controller: a variable's meaning does not depend on the host, so the
module's own check_all runs here, in the worker, without a round trip or a new interpreter."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os

from ansible.plugins.action import ActionBase

try:  # in the collection (scripts/build-collection.sh rewrites this import)
    from ansible.module_utils.voipguard_inputs import VALIDATE_ARGUMENT_SPEC, check_all
except ImportError:  # next to library/: ansible.module_utils.<ours> exists only inside modules
    _spec = importlib.util.spec_from_file_location(
        "voipguard_inputs", os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                         "module_utils", "voipguard_inputs.py"))
    _inputs = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_inputs)
    VALIDATE_ARGUMENT_SPEC, check_all = _inputs.VALIDATE_ARGUMENT_SPEC, _inputs.check_all


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        _, params = self.validate_argument_spec(argument_spec=VALIDATE_ARGUMENT_SPEC)
        problems = check_all(params["checks"])
        result["changed"] = False
        result["problems"] = problems
        if problems:
            result["failed"] = True
            result["msg"] = "wrong variables, nothing was changed: " + "; ".join(problems)
        return result
