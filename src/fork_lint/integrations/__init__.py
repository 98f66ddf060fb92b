"""Adapters for other tools: the flake8 plugin.

Each adapter is thin: it runs the check core (`fork_lint.core`) on the project and
translates the findings; none of them analyses anything itself.
"""
