"""Make the project's library/ and module_utils/ importable the way Ansible loads them, and the
audit package from the project's root."""
import sys
from pathlib import Path

import ansible.module_utils

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "library"))
sys.path.insert(0, str(ROOT))
# Custom module_utils are imported as ansible.module_utils.<name> inside modules.
ansible.module_utils.__path__.append(str(ROOT / "module_utils"))
