"""Errors a user can act on: each message names the file, key, column or date and the fix."""


class HydroprobeError(Exception):
    """Base class: the CLI prints these as one clean line instead of a traceback."""


class DataError(HydroprobeError, ValueError):
    """A basin file is malformed (names file, column and first offending date)."""


class ConfigError(HydroprobeError, ValueError):
    """A parameter in params.yaml is invalid (names the key)."""


class DataWarning(UserWarning):
    """Basin data that are possible but unusual (names file, column and what to check)."""


class TrackingError(HydroprobeError, RuntimeError):
    """The MLflow store cannot take a write (e.g. a locked SQLite file); the message names the fix."""
