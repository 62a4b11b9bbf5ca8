"""The one exception type a user can cause; the CLI turns it into a single line and a non-zero exit."""


class UserError(Exception):
    """A mistake in the user's input (bad path, bad option, bad file) rather than a bug in divertimento."""


class Busy(Exception):
    """The machine is at capacity for heavy work: refused at once rather than queued without end. The server answers
    503 with Retry-After; ``retry_after`` is its suggestion in seconds."""

    def __init__(self, message: str, retry_after: int = 10):
        super().__init__(message)
        self.retry_after = retry_after
