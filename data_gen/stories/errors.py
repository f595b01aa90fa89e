"""The one error type of the stories world (a `UserError`, so the CLI prints it and exits 2)."""

from picojax.errors import UserError


class StoriesError(UserError):
    """A story source or option is unusable; the message names the file and the problem."""
