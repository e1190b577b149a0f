"""Dolma's module name and class names for the Jigsaw fastText classifiers (ours live in ``dolma.taggers.toxicity``)."""

from dolma.taggers.toxicity import (
    JigsawHatespeechDocument,
    JigsawHatespeechSentence,
    JigsawNsfwDocument,
    JigsawNsfwSentence,
)

__all__ = [
    "FastTextJigsawHatespeechDocumentTagger",
    "FastTextJigsawHatespeechSentenceTagger",
    "FastTextJigsawNsfwDocumentTagger",
    "FastTextJigsawNsfwSentenceTagger",
]

FastTextJigsawHatespeechDocumentTagger = JigsawHatespeechDocument
FastTextJigsawHatespeechSentenceTagger = JigsawHatespeechSentence
FastTextJigsawNsfwDocumentTagger = JigsawNsfwDocument
FastTextJigsawNsfwSentenceTagger = JigsawNsfwSentence
