"""Every model family, one file each, and the factory that builds and loads them (models/factory.py)."""
