"""阳光村务: validate, publish and explain village affairs open data."""

__version__ = "0.1.0"
