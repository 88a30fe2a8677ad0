"""The error type of the data readers, in a module of its own so that every reader can raise it.

``nplearn.data`` re-exports it: catch ``nplearn.data.DataError`` (or ``ValueError``).
"""

from __future__ import annotations

__all__ = ["DataError"]


class DataError(ValueError):
    """A data file or data set request is bad; the message names the file and the problem."""
