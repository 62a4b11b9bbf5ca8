"""Seeds -> latents -> token windows -> pieces -> files."""
