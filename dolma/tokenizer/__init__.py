"""Dolma's name for the tokens stage (``dolma.tokenizer``), for code written against Dolma: :class:`Tokenizer` with
Dolma's constructors and ``encode``, and :func:`tokenize_in_parallel`, which runs our ``dolma tokens`` command.
The implementation is :mod:`dolma.tokens`."""

from dolma.tokenizer.tokenizer import Tokenizer, tokenize_in_parallel

__all__ = ["Tokenizer", "tokenize_in_parallel"]
