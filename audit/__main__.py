"""python -m audit: see audit/cli.py."""
import sys

from audit.cli import main

sys.exit(main())
