"""Imports every built-in tagger module so their ``@add_tagger`` decorators run."""

from dolma.taggers import c4, gopher, length, pii, random_number  # noqa: F401
