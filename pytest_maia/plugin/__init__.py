"""The pytest plugin: options, fixtures, markers, guards, cassette wiring and report data."""
