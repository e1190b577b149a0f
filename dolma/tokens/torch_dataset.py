"""A PyTorch ``Dataset`` over :class:`dolma.tokens.dataset.TokenDataset`; importing this module needs torch.

Items are dicts as OLMo's ``MemMapDataset`` returns them: ``input_ids`` (int64, ``seq_len``), ``index``, and
``doc_lens`` (document lengths from EOS) when asked for.
"""

from __future__ import annotations

from typing import Any, Dict

try:
    import torch
    from torch.utils.data import Dataset
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError("dolma.tokens.torch_dataset needs PyTorch: pip install torch") from exc

from dolma.tokens.dataset import TokenDataset, document_lengths

__all__ = ["TorchTokenDataset"]


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
