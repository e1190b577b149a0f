"""Benchmark decontamination: ``dolma decon index`` indexes evaluation sets; the ``decon`` tagger (run by ``dolma
tag``) finds their items in documents; ``dolma mix`` drops documents or cuts spans on its attributes; ``dolma report``
shows what leaked. Imports the core only; the tagger registers through the ``dolma.taggers`` entry point."""
