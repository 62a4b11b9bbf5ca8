"""Silence numpy's RuntimeWarnings while measuring: an undefined descriptor is NaN by design (a window with no
interval has no mean interval), so "mean of empty slice" and "invalid value" warnings are expected, not faults."""

import warnings
from contextlib import contextmanager


@contextmanager
def quiet_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=RuntimeWarning)
        yield
