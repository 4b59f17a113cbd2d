"""The exceptions kambin raises for problems a user can fix.

Each one says what was wrong and what to do, in one line; the CLI prints that line and exits
non-zero, with no traceback. They subclass the built-in exception a Python caller would expect
(ValueError for bad input, OSError for unreadable files, RuntimeError for a computation that
cannot give a trustworthy answer), and `KambinError` so the CLI can catch all of them at once.
"""


class KambinError(Exception):
    """Base of every error kambin reports to a user."""


class InvalidInputError(KambinError, ValueError):
    """The input is well-formed but not acceptable (wrong shape, modality, range, option)."""


class UnreadableFileError(KambinError, OSError):
    """A path is missing, empty, truncated, or not in a format kambin reads."""


class UnreliableResultError(KambinError, RuntimeError):
    """A computation finished but its result fails a quality gate (degenerate, too inaccurate)."""
