"""The one trainer for every family (loop.py), its recipes, checkpoints with exact resume, stats and torchrun."""
