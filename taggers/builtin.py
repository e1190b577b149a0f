"""Imports every built-in tagger module so their ``@add_tagger`` decorators run."""
