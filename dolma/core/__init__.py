"""Dolma's import paths (``dolma.core.data_types``, ``dolma.core.taggers``, ``dolma.core.registry``).

These modules only re-export the tagger API so that plugin modules written for Dolma import unchanged; the
toolkit's own code imports from ``dolma.taggers``.
"""
