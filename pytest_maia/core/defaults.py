"""The project and environment the fake backend uses when none is configured: one home
for the plugin's settings and the fake's open account. No imports."""

FAKE_PROJECT_ID = "fake-project"
FAKE_ENVIRONMENT = "fake-environment"
