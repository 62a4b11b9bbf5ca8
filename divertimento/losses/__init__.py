"""Adversarial losses (a registry) and the loss object that runs the named training phases."""
