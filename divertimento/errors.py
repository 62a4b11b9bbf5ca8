"""The one exception type a user can cause; the CLI turns it into a single line and a non-zero exit."""


class UserError(Exception):
    """A mistake in the user's input (bad path, bad option, bad file) rather than a bug in divertimento."""
