"""Composing tools over a trained sequence model: forms and long pieces, variations, morphs, continuation,
harmonisation of a given melody, originality figures, personalised steering and a live stream of bars.

Every tool is the engine's windowed sampling with some tokens given (``engine.py``; given tokens beyond a window's
context are honoured by sequential Monte Carlo, ``models/smc.py``); ``service.Studio`` bundles the tools with
originality scoring for the web app and the CLI."""
