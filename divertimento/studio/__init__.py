"""Composing tools over a trained generator: forms and long pieces, variations, interpolation, continuation,
harmonisation of a given melody, originality figures, personalised steering and a live stream of bars.

Every tool is a latent-space operation (``latents.py``) rendered through latent inversion and window chaining
(``chain.py``); ``service.Studio`` bundles them with originality scoring for the web app and the CLI."""
