"""``examples/train_olmo_style.py`` trains on what ``dolma tokens`` writes: ``doc_lens`` batch (OLMo's collation),
attention stays inside documents, the loss goes down, and under ``torchrun --nproc_per_node 2`` on CPU the two
ranks form a gloo group and DDP keeps their weights identical. Needs PyTorch (``pip install '.[train]'``)."""

from __future__ import annotations

import gzip
import glob
import importlib.util
import json
import os
import re
import subprocess
import sys
from types import ModuleType
from typing import Dict, List

import pytest

torch = pytest.importorskip("torch")

from dolma.cli import main  # noqa: E402
from dolma.tokens.dataset import TokenDataset  # noqa: E402
from dolma.tokens.torch_dataset import TorchTokenDataset, collate_instances  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "train_olmo_style.py")
# a model small enough to train in seconds on two CPU cores
TINY = ["--seq_len", "64", "--batch_size", "4", "--d_model", "32", "--layers", "1", "--heads", "2", "--lr", "3e-3"]
_STEP = re.compile(r"step\s+(\d+)\s+loss\s+(\d+\.\d+)")


def _example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("train_olmo_style", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tokens(tmp_path_factory) -> str:
    """Token files of real text: the sample corpus (stdlib code and docstrings) through ``dolma tokens``, with a
    512-entry byte-level BPE trained on it (GPT-2's 50k vocabulary would make every step ~100x slower)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    root = tmp_path_factory.mktemp("train")
    corpus, dest = str(root / "corpus"), str(root / "tokens")
    assert main(["sample-corpus", "--destination", corpus, "--max_files", "20", "--web_pages", "0"]) == 0
    files = sorted(glob.glob(os.path.join(corpus, "*", "documents", "*.jsonl.gz")))
    texts = [json.loads(line)["text"] for f in files for line in gzip.open(f, "rt", encoding="utf-8")]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=512, special_tokens=["<|endoftext|>"], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    tok.save(str(root / "tokenizer.json"))
    args = ["tokens", "--documents", os.path.join(corpus, "*", "documents", "*.jsonl.gz"), "--destination", dest,
            "--tokenizer.name_or_path", str(root / "tokenizer.json")]
    assert main(args) == 0
    return dest


def _run(cmd: List[str]) -> str:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-4000:]
    return out


def _losses(out: str) -> Dict[int, float]:
    return {int(step): float(loss) for step, loss in _STEP.findall(out)}


def _assert_learns(losses: Dict[int, float], steps: int) -> None:
    assert sorted(losses) == list(range(1, steps + 1)), losses
    last = [losses[s] for s in range(steps - 4, steps + 1)]
    assert sum(last) / len(last) < losses[1] - 0.3, losses


def test_collate_pads_doc_lens_like_olmo():
    items = [
        {"input_ids": torch.arange(6), "index": 7, "doc_lens": torch.tensor([6])},
        {"input_ids": torch.arange(6), "index": 2, "doc_lens": torch.tensor([1, 2, 3])},
        {"input_ids": torch.arange(6), "index": 5, "doc_lens": torch.tensor([4, 2])},
    ]
    batch = collate_instances(items)
    assert batch["input_ids"].shape == (3, 6) and batch["input_ids"].dtype == torch.long
    assert batch["index"].tolist() == [7, 2, 5]
    assert batch["doc_lens"].tolist() == [[6, 0, 0], [1, 2, 3], [4, 2, 0]]
    assert batch["doc_lens"].sum(dim=1).tolist() == [6, 6, 6]
    assert batch["max_doc_lens"] == [6, 3, 4]
    assert "doc_lens" not in collate_instances([{"input_ids": torch.arange(6), "index": 0}])
    with pytest.raises(ValueError):
        collate_instances([items[0], {"input_ids": torch.arange(6), "index": 0}])


def test_dataloader_batches_every_instance_with_doc_lens(tokens):
    data = TokenDataset(tokens, seq_len=64)
    dataset = TorchTokenDataset(data, generate_doc_lengths=True)
    loader = torch.utils.data.DataLoader(dataset, batch_size=8, collate_fn=collate_instances)
    widths, seen = set(), 0
    for batch in loader:  # the default collate fails here as soon as two instances hold different document counts
        assert batch["doc_lens"].sum(dim=1).tolist() == [64] * len(batch["index"])
        widths.add(batch["doc_lens"].shape[1])
        for row, i in zip(batch["doc_lens"], batch["index"].tolist()):
            lens = data.document_lengths(i)
            assert row[: len(lens)].tolist() == lens.tolist() and not row[len(lens):].any()
        seen += len(batch["index"])
    assert seen == len(dataset) and len(widths) > 1


def test_doc_mask_keeps_attention_inside_documents():
    ex = _example()
    doc_lens = torch.tensor([[3, 5, 0], [2, 2, 4]])
    assert ex.document_ids(doc_lens, 8).tolist() == [[0, 0, 0, 1, 1, 1, 1, 1], [0, 0, 1, 1, 2, 2, 2, 2]]
    torch.manual_seed(0)
    model = ex.TinyLM(vocab_size=64, seq_len=8, d_model=16, n_layers=2, n_heads=2).eval()
    a = torch.tensor([[1, 2, 3, 10, 11, 12, 13, 14]])
    b = torch.tensor([[7, 8, 9, 10, 11, 12, 13, 14]])  # another first document, the same second one
    lens = torch.tensor([[3, 5]])
    with torch.no_grad():
        masked = model(a, lens)[0, 3:], model(b, lens)[0, 3:]
        plain = model(a)[0, 3:], model(b)[0, 3:]
    assert torch.allclose(*masked, atol=1e-6)  # the second document cannot see the first
    assert not torch.allclose(*plain, atol=1e-3)  # without the mask it does


def test_example_trains_with_doc_lens(tokens):
    steps = 30
    out = _run([sys.executable, EXAMPLE, "--tokens", tokens, *TINY, "--steps", str(steps), "--log_every", "1",
                "--num_workers", "1"])
    assert "rank 0 of world size 1: cpu, no process group, no wrapper" in out and "doc_mask True" in out, out
    _assert_learns(_losses(out), steps)


def test_example_under_torchrun_two_cpu_processes(tokens):
    steps = 30
    out = _run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", EXAMPLE,
                "--tokens", tokens, *TINY, "--steps", str(steps), "--log_every", "1", "--num_workers", "0"])
    ranks = re.findall(r"rank (\d) of world size (\d): cpu, gloo, DDP; ([\d,]+) of ([\d,]+) instances", out)
    assert sorted(r[:2] for r in ranks) == [("0", "2"), ("1", "2")], out
    assert all(2 * int(r[2].replace(",", "")) <= int(r[3].replace(",", "")) for r in ranks), ranks  # half each
    # the ranks read different instances, so only synchronised gradients leave them with the same weights
    checksums = dict(re.findall(r"rank (\d): parameter checksum ([-+]?\d\.\d+e[-+]\d+)", out))
    assert sorted(checksums) == ["0", "1"] and checksums["0"] == checksums["1"], out
    _assert_learns(_losses(out), steps)
