"""The foundation: plain data, errors, checks, clocks and settings.

Imports nothing else of the package.
"""
