"""Training statistics: a jsonl file (one line per log interval) and TensorBoard events, both by term name."""

import json
from collections import defaultdict
from pathlib import Path

from ..atomic import write_bytes_atomic


class StatsLog:
    def __init__(self, run_dir: Path, enabled: bool = True, resume_step: int | None = None):
        """``resume_step``: the step a resumed run continues from; rows a killed run logged after its last
        checkpoint are dropped (they are logged again), in the jsonl and in TensorBoard."""
        self.enabled = enabled
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, int] = defaultdict(int)
        self.writer = None
        self.last_row: dict = {}  # the last row already logged (a resumed run's, up to its checkpoint)
        if enabled:
            path = run_dir / "stats.jsonl"
            if resume_step is not None and path.exists():
                rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
                kept = [r for r in rows if r.get("step", 0) <= resume_step]
                write_bytes_atomic(path, "".join(json.dumps(r) + "\n" for r in kept).encode())
                self.last_row = kept[-1] if kept else {}
            self.jsonl = open(path, "a")
            try:
                from torch.utils.tensorboard import SummaryWriter

                purge = None if resume_step is None else resume_step + 1
                self.writer = SummaryWriter(str(run_dir / "tensorboard"), purge_step=purge)
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
