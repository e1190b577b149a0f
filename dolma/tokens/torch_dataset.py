"""A PyTorch ``Dataset`` over :class:`dolma.tokens.dataset.TokenDataset`; importing this module needs torch.

Items are dicts as OLMo's ``MemMapDataset`` returns them: ``input_ids`` (int64, ``seq_len``), ``index``, and
``doc_lens`` (document lengths from EOS) when asked for. ``doc_lens`` has one entry per document, so its length
varies from instance to instance and PyTorch's default collate cannot stack it: give the ``DataLoader``
``collate_fn=collate_instances``, which batches items the way OLMo's ``DataCollator`` does.
"""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

try:
    import torch
    from torch.utils.data import Dataset
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError("dolma.tokens.torch_dataset needs PyTorch: pip install torch") from exc

from dolma.tokens.dataset import TokenDataset, document_lengths

__all__ = ["TorchTokenDataset", "collate_instances"]


class TorchTokenDataset(Dataset):  # type: ignore[type-arg]
    def __init__(self, tokens: TokenDataset, generate_doc_lengths: bool = False) -> None:
        if generate_doc_lengths and tokens.eos_token_id is None:
            raise ValueError("generate_doc_lengths needs the dataset's eos_token_id")
        self.tokens = tokens
        self.generate_doc_lengths = generate_doc_lengths

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, index: int) -> Dict[str, Any]:
        ids = self.tokens[index]
        item: Dict[str, Any] = {"input_ids": torch.from_numpy(ids), "index": int(index)}
        if self.generate_doc_lengths:
            assert self.tokens.eos_token_id is not None
            item["doc_lens"] = torch.from_numpy(document_lengths(ids, self.tokens.eos_token_id))
        return item


def collate_instances(items: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """A batch of :class:`TorchTokenDataset` items, as OLMo's ``DataCollator`` makes it: ``input_ids`` (batch,
    seq_len) int64, ``index`` (batch,) int64 and, when the items have them, ``doc_lens`` (batch, most documents in
    any item) int64, each row padded with 0 after its own lengths (so a row still sums to ``seq_len``), and
    ``max_doc_lens``, a list with each row's longest document (what a varlen attention kernel wants)."""
    if not items:
        raise ValueError("collate_instances needs at least one item")
    out: Dict[str, Any] = {
        "input_ids": torch.stack([torch.as_tensor(x["input_ids"], dtype=torch.long) for x in items]),
        "index": torch.tensor([int(x["index"]) for x in items], dtype=torch.long),
    }
    has = ["doc_lens" in x for x in items]
    if any(has):
        if not all(has):
            raise ValueError("some items have doc_lens and some do not")
        lens: List[torch.Tensor] = [torch.as_tensor(x["doc_lens"], dtype=torch.long) for x in items]
        width = max(len(d) for d in lens)
        doc_lens = torch.zeros((len(lens), width), dtype=torch.long)
        for row, d in zip(doc_lens, lens):
            row[: len(d)] = d
        out["doc_lens"] = doc_lens
        out["max_doc_lens"] = [int(d.max()) if len(d) else 0 for d in lens]
    return out
