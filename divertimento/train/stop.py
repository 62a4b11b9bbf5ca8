"""Ctrl-C and SIGTERM during training: the step in progress finishes, a complete checkpoint is written, and the
run ends with the signal's exit status (130 or 143), so ``--resume`` loses nothing. Only a single-process run
listens (under torchrun, ranks would stop at different steps and wait for each other); the handlers are restored
when training ends."""

import signal
import sys
import threading

EXIT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}


class StopRequested(SystemExit):
    """Raised after the checkpoint is written; its code is the signal's exit status."""


class StopOnSignal:
    def __init__(self, enabled: bool = True):
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.signum: int | None = None
        self._previous: dict = {}

    def _handle(self, signum, frame) -> None:
        if self.signum is not None:  # a second Ctrl-C: stop now, as the user insists
            raise KeyboardInterrupt
        self.signum = signum

    def __enter__(self) -> "StopOnSignal":
        if self.enabled:
            for s in EXIT_STATUS:
                self._previous[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)

    @property
    def requested(self) -> bool:
        return self.signum is not None

    def stop(self, message: str) -> None:
        print(message, file=sys.stderr)
        raise StopRequested(EXIT_STATUS[self.signum])
