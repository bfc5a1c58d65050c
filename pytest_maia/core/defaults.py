"""The project and environment the fake backend uses when none is configured, and a
wait's default timeout and intervals: one home for the plugin's settings, the waits and
the fake's open account. No imports (the plugin reads these at every pytest start)."""

FAKE_PROJECT_ID = "fake-project"
FAKE_ENVIRONMENT = "fake-environment"

DEFAULT_TIMEOUT = 1800.0
DEFAULT_INTERVAL = 5.0
# 30 s keeps a long wait at 2 polls a minute and bounds how late a finish is seen.
DEFAULT_MAX_INTERVAL = 30.0
