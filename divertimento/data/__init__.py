"""Prepared data: sources -> parsed pieces (cached) -> bar-aligned windows -> split shards + manifest."""
