"""Imports every built-in tagger module so their ``@add_tagger`` decorators run.

Model taggers import their optional libraries (pycld2, py3langid, profanity-check) when built, not here, so
``dolma list`` and the rule taggers work without the extras.
"""

from dolma.taggers import c4, gopher, length, pii, punctuation, random_number, repetitions, token_counts, uniseg_length  # noqa: F401
from dolma.taggers import langdetect_lang, lingua_lang  # noqa: F401
from dolma.taggers import classifier, cld2, code, fasttext_lang, lang_ensemble, toxicity, url  # noqa: F401
from dolma.taggers import blocklists, cld3, code_composition, code_secrets, licenses, pii_presidio, quality, starcoder  # noqa: F401
