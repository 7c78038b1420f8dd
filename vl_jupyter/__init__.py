"""vl_jupyter: regulatory evidence from notebooks."""
__version__ = "0.1.0"
