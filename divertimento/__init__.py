"""divertimento: GANs that make symbolic music more diverse without losing musicality."""

__version__ = "0.1.0"
