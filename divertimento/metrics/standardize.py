"""The standardised descriptor space: every distance-based metric and the style classifier measure in it."""

from dataclasses import dataclass

import numpy as np

from .quiet_nan import quiet_nan


@dataclass
class Standardizer:
    """z = (x - mean) / scale with the reference's statistics; a NaN (undefined descriptor) becomes the mean, and a
    dimension that is constant in the reference keeps its raw units (scale 1)."""

    mean: np.ndarray
    scale: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray) -> "Standardizer":
        with np.errstate(invalid="ignore"), quiet_nan():
            mean = np.nan_to_num(np.nanmean(x, axis=0), nan=0.0) if len(x) else np.zeros(x.shape[1])
            std = np.nan_to_num(np.nanstd(x, axis=0), nan=0.0) if len(x) else np.ones(x.shape[1])
        return cls(mean, np.where(std > 1e-8, std, 1.0))

    def transform(self, x: np.ndarray) -> np.ndarray:
        x = np.where(np.isnan(x), self.mean, x)
        return (x - self.mean) / self.scale
