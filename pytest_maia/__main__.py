"""``python -m pytest_maia``: the ``maia-status`` command line."""

import sys

from pytest_maia.cli.main import main

sys.exit(main())
