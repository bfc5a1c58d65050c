"""The project and environment the fake backend uses when none is configured: one home
for the plugin's settings and the fake's open account. No imports."""

FAKE_PROJECT_ID = "fake-project"
FAKE_ENVIRONMENT = "fake-environment"

# How long a wait may take, and how it polls (the settings' defaults, the waiter's).
DEFAULT_TIMEOUT = 1800.0
DEFAULT_INTERVAL = 5.0
# 30 s keeps a long wait at 2 polls a minute and bounds how late a finish is seen.
DEFAULT_MAX_INTERVAL = 30.0
