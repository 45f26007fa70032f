"""The one exception type for user mistakes.

Anything raised as :class:`S1kitError` is a problem with the user's input (a path, a value, a file);
the CLI prints its message on one line and exits with status 2. Everything else is a bug.
"""

from __future__ import annotations


class S1kitError(ValueError):
    """A user-facing error: bad input, a missing optional engine, an impossible request."""


class ConfigError(S1kitError):
    """A configuration value is invalid; the message names the field and the value."""

    def __init__(self, field: str, value: object, expected: str) -> None:
        self.field, self.value, self.expected = field, value, expected
        super().__init__(f"{field}={value!r} is invalid: expected {expected}")


class MissingExtraError(S1kitError):
    """An optional engine is not installed."""

    def __init__(self, what: str, extra: str, module: str) -> None:
        super().__init__(f"{what} needs the '{module}' package: pip install 's1kit[{extra}]'")
