"""The ``maia-status`` command line and its ``fake-server``."""
