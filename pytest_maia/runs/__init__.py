"""Whole runs: pipelines a test starts, start-ahead, many waits at once, failure explanations."""
