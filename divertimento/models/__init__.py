"""Generator and discriminator over token windows [B, V, T] (V voices, T steps, vocabulary K per step)."""
