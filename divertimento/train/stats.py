"""Training statistics: a jsonl file (one line per log interval) and TensorBoard events, both by term name."""

import json
from collections import defaultdict
from pathlib import Path


class StatsLog:
    def __init__(self, run_dir: Path, enabled: bool = True):
        self.enabled = enabled
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self.writer = None
        if enabled:
            self.jsonl = open(run_dir / "stats.jsonl", "a")
            try:
                from torch.utils.tensorboard import SummaryWriter

                self.writer = SummaryWriter(str(run_dir / "tensorboard"))
            except ImportError:  # tensorboard is optional for users who only want the jsonl
                self.writer = None

    def add(self, stats: dict[str, float]) -> None:
        for k, v in stats.items():
            self.sums[k] += v
            self.counts[k] += 1

    def means(self) -> dict[str, float]:
        return {k: self.sums[k] / self.counts[k] for k in self.sums}

    def flush(self, step: int, extra: dict) -> dict:
        row = {"step": step, **extra, **{k: round(v, 5) for k, v in self.means().items()}}
        if self.enabled:
            self.jsonl.write(json.dumps(row) + "\n")
            self.jsonl.flush()
            if self.writer is not None:
                for k, v in row.items():
                    if k != "step" and isinstance(v, (int, float)):
                        self.writer.add_scalar(k, v, step)
                self.writer.flush()
        self.sums.clear()
        self.counts.clear()
        return row

    def close(self) -> None:
        if self.enabled:
            self.jsonl.close()
            if self.writer is not None:
                self.writer.close()
