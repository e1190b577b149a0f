"""Dolma-compatible import path for the tagger registry."""

from dolma.taggers.registry import TaggerRegistry, add_tagger

__all__ = ["TaggerRegistry", "add_tagger"]
