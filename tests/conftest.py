"""The project's modules (library/) importable by name, the audit package from the project's
root, and module_utils as ansible.module_utils.<name> through the audit package, which does the
same for the audit itself (one place that knows how)."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "library"))
sys.path.insert(0, str(ROOT))

import audit  # noqa: E402,F401  pylint: disable=wrong-import-position,unused-import
