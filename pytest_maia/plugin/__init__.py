"""The pytest plugin: options, fixtures, markers, start-up checks, Ctrl-C, cassette
wiring and report data."""
