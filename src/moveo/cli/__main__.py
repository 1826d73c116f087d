"""``python -m moveo.cli``: the ``moveo`` command without the installed entry point."""

import sys

from moveo.cli import main

sys.exit(main())
