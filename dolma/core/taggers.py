"""Dolma-compatible import path for the tagger base classes."""

from dolma.taggers.base import BaseTagger, BaseTaggerWithMetadata

__all__ = ["BaseTagger", "BaseTaggerWithMetadata"]
