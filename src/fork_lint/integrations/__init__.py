"""Adapters for other tools: the flake8 plugin and the pre-commit file scope.

Each adapter is thin: it finds the project, runs the same analysis as the command
line and translates the findings; none of them analyses anything itself.
"""
