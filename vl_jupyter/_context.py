"""Moved to :mod:`vl_jupyter.environment` (kept for branches written before the move)."""

from .environment import git_state, origin, software

__all__ = ["git_state", "origin", "software"]
