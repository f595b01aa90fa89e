"""User-facing errors.

Anything a user can cause (a bad flag, a malformed record, a missing file, a checkpoint
from another model) raises a subclass of `UserError`. The CLI prints its message on one
line and exits 2; every other exception is a bug and keeps its traceback.

This module imports nothing heavy, so `data_gen` (which must not import JAX) can use it.
"""


class UserError(Exception):
    """A problem with the user's input, explained in one line."""


class ConfigError(UserError):
    """A config key, value or preset is wrong."""
