"""Language-ID accuracy on real short multilingual documents: the translations in /usr/share/locale.

Each document is consecutive translated messages of one .mo catalogue (150-400 characters); the gold label is
the locale's language (``pt_BR`` → ``pt``, ``nb`` → ``no``). Only languages fastText lid.176 knows are kept;
``iso_*`` catalogues (lists of names) are skipped. Prints accuracy per detector and for lang_ensemble_v1.

    python bench/lang_id_eval.py [--locale-dir /usr/share/locale] [--per-language 30]
"""

from __future__ import annotations

import argparse
import gettext
import glob
import os
import re
import sys
import time
from typing import List, Tuple

from dolma.core.data_types import Document
from dolma.taggers.lang_ensemble import make_detectors
from dolma.taggers.models import LID_176_FTZ, load_fasttext
from dolma.core.registry import tagger_spec

_WORD = re.compile(r"\w")


def mo_documents(locale_dir: str, per_language: int, languages: set) -> List[Tuple[str, str]]:
    docs: List[Tuple[str, str]] = []
    for folder in sorted(glob.glob(os.path.join(locale_dir, "*", "LC_MESSAGES"))):
        locale = folder.split(os.sep)[-2]
        if "@" in locale:
            continue
        lang = {"nb": "no"}.get(locale.split("_")[0], locale.split("_")[0])
        if lang not in languages:
            continue
        n = 0
        for path in sorted(glob.glob(os.path.join(folder, "*.mo"))):
            if os.path.basename(path).startswith("iso_") or n >= per_language:
                continue
            try:
                with open(path, "rb") as f:
                    catalog = gettext.GNUTranslations(f)._catalog  # type: ignore[attr-defined]
            except Exception:
                continue
            buf: List[str] = []
            taken = 0
            for key, value in catalog.items():
                msgid = key if isinstance(key, str) else key[0]
                if not msgid or not isinstance(value, str) or value == msgid or not _WORD.search(value):
                    continue
                buf.append(value)
                if sum(map(len, buf)) >= 150:
                    docs.append((lang, " ".join(buf)[:400]))
                    buf, n, taken = [], n + 1, taken + 1
                    if taken == 3 or n >= per_language:
                        break
    return docs


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--locale-dir", default="/usr/share/locale")
    parser.add_argument("--per-language", type=int, default=30)
    args = parser.parse_args()
    languages = {label[9:] for label in load_fasttext(LID_176_FTZ).labels}
    docs = mo_documents(args.locale_dir, args.per_language, languages)
    if not docs:
        print(f"no .mo catalogues under {args.locale_dir}", file=sys.stderr)
        return 1
    gold = [lang for lang, _ in docs]
    texts = [text for _, text in docs]
    print(f"{len(docs)} documents, {len(set(gold))} languages")
    print(f"{'detector':<28} {'accuracy':>8} {'docs/s':>9}")
    detectors = make_detectors(["fasttext", "cld2", "langid"])
    answers = {}
    for name, detect in detectors.items():
        started = time.perf_counter()
        answers[name] = detect(texts)
        rate = len(texts) / (time.perf_counter() - started)
        guesses = [max(p, key=lambda ls: ls[1])[0] if p else None for p in answers[name]]
        print(f"{name:<28} {sum(g == t for g, t in zip(guesses, gold)) / len(gold):>8.4f} {rate:>9.0f}")
    for tagger in ("ft_lang_id_doc_v1", "lang_ensemble_v1"):
        started = time.perf_counter()
        results = tagger_spec(tagger).build().predict_batch([Document("eval", str(i), t) for i, t in enumerate(texts)])
        rate = len(texts) / (time.perf_counter() - started)
        tops = []
        for r in results:
            langs = [s for s in r.spans if s.type not in ("agreement", "disagree")]
            tops.append(max(langs, key=lambda s: s.score).type if langs else None)
        print(f"{'tagger ' + tagger:<28} {sum(g == t for g, t in zip(tops, gold)) / len(gold):>8.4f} {rate:>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
