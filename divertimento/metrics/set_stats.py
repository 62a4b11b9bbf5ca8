"""Per-window statistics of a set (descriptors, descriptor vectors, copy index), cached per dataset split."""

from dataclasses import dataclass

import numpy as np

from .cache import cache_key, load_cached, save_cached
from .copies import CopyIndex, build_copy_index
from .decode import decode, pitched_only
from .descriptors import DescriptorConfig, Descriptors, compute_descriptors, descriptor_vectors
from .sets import WindowSet, from_prepared


@dataclass
class SetStats:
    desc: Descriptors
    vectors: np.ndarray  # [N, D] raw descriptor vectors (NaN where undefined)
    copy: CopyIndex

    @property
    def n(self) -> int:
        return len(self.vectors)

    def to_arrays(self) -> dict[str, np.ndarray]:
        out = self.desc.to_arrays("d")
        out["vectors"] = self.vectors
        out.update(self.copy.to_arrays())
        return out

    @classmethod
    def from_arrays(cls, a: dict[str, np.ndarray], roles) -> "SetStats":
        return cls(Descriptors.from_arrays(a, roles, "d"), a["vectors"], CopyIndex.from_arrays(a))


def compute_set_stats(ws: WindowSet, config: DescriptorConfig | None = None, ngrams: bool = False) -> SetStats:
    """Descriptors, descriptor vectors and the copy index of a set of windows."""
    config = config or DescriptorConfig(ws.steps_per_quarter)
    dec = decode(pitched_only(ws.tokens, ws.roles))
    desc = compute_descriptors(dec, config, ws.roles)
    copy = build_copy_index(dec, config.steps_per_quarter, ngrams=ngrams)
    return SetStats(desc, descriptor_vectors(desc), copy)


def _config_dict(config: DescriptorConfig) -> dict:
    return {"spq": config.steps_per_quarter, "qn": config.qn_steps}


def prepared_set_stats(data, split: str, config: DescriptorConfig) -> tuple[SetStats, WindowSet, str]:
    """Set statistics of one split of a prepared dataset, from the cache when it holds them."""
    ws = from_prepared(data, split)
    key = cache_key(kind="set", data=data.manifest.get("content_hash"), split=split, config=_config_dict(config))
    hit = load_cached(f"set-{key}")
    if hit is not None and len(hit[0].get("vectors", ())) == len(ws):
        return SetStats.from_arrays(hit[0], ws.roles), ws, key
    stats = compute_set_stats(ws, config, ngrams=False)
    save_cached(f"set-{key}", stats.to_arrays(), {"data": str(data.root), "split": split})
    return stats, ws, key
