"""The errors a command reports in one line."""


class UsageError(Exception):
    """A mistake on the command line: reported as ``error: ...`` with exit status 2, before any compute."""
