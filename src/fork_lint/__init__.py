"""fork-lint: find fork() calls that can run while other threads are alive."""

__version__ = "0.1.0"
