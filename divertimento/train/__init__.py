"""Training: batches, the loop, EMA, checkpoints, stats and DDP."""
