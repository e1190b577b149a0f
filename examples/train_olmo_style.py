"""Train a small causal language model on the token files ``dolma tokens`` writes, the way OLMo reads them.

    dolma sample-corpus --destination quickstart && dolma tokens -c configs/tokens.yaml
    python examples/train_olmo_style.py --tokens quickstart/tokens --steps 50            # CPU or one GPU
    torchrun --nproc_per_node 8 examples/train_olmo_style.py --tokens quickstart/tokens  # FSDP over 8 GPUs

Instances are ``seq_len`` consecutive tokens (documents separated by EOS, as in OLMo); the dtype and EOS id come
from the manifests. With CUDA the model is wrapped in FSDP (one process per GPU under torchrun, or a single-GPU
process group otherwise); on CPU it trains unwrapped. Needs PyTorch, which the toolkit itself does not.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, DistributedSampler

from dolma.tokens.dataset import TokenDataset
from dolma.tokens.torch_dataset import TorchTokenDataset


class Block(nn.Module):
    def __init__(self, d_model: int, n_heads: int) -> None:
        super().__init__()
        self.ln1 = nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, n_heads, batch_first=True)
        self.ln2 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(nn.Linear(d_model, 4 * d_model), nn.GELU(), nn.Linear(4 * d_model, d_model))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.ln1(x)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class TinyLM(nn.Module):
    def __init__(self, vocab_size: int, seq_len: int, d_model: int = 256, n_layers: int = 4, n_heads: int = 4) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Parameter(torch.zeros(seq_len, d_model))
        self.blocks = nn.ModuleList(Block(d_model, n_heads) for _ in range(n_layers))
        self.ln = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        n = ids.shape[1]
        mask = torch.triu(torch.full((n, n), float("-inf"), device=ids.device), diagonal=1)
        x = self.embed(ids) + self.pos[:n]
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.ln(x))


def setup_distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, device); a process group exists whenever CUDA does, so FSDP can wrap the model."""
    if not torch.cuda.is_available():
        return 0, 1, torch.device("cpu")
    if "RANK" not in os.environ:  # a plain `python` run on one GPU: a one-process group
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT="29517")
    dist.init_process_group("nccl")
    local_rank = int(os.environ["LOCAL_RANK"])
    torch.cuda.set_device(local_rank)
    return dist.get_rank(), dist.get_world_size(), torch.device("cuda", local_rank)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", nargs="+", required=True, help="token files, folders or globs")
    parser.add_argument("--seq_len", type=int, default=256)
    parser.add_argument("--batch_size", type=int, default=8, help="sequences per device per step")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    rank, world, device = setup_distributed()
    torch.manual_seed(args.seed)
    tokens = TokenDataset(args.tokens, seq_len=args.seq_len)
    dataset = TorchTokenDataset(tokens, generate_doc_lengths=tokens.eos_token_id is not None)
    # OLMo shuffles instances globally with a seed; DistributedSampler does the same and shards across ranks
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=args.seed, drop_last=True)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler, num_workers=2, drop_last=True)
    if tokens.vocab_size is None:
        raise SystemExit("the token files have no manifests saying the vocabulary size")
    vocab_size = -(-tokens.vocab_size // 128) * 128  # padded to a multiple of 128, as OLMo pads 50,280 to 50,304

    model: nn.Module = TinyLM(vocab_size, args.seq_len).to(device)
    if device.type == "cuda":
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP, MixedPrecision

        model = FSDP(model, device_id=device, mixed_precision=MixedPrecision(param_dtype=torch.bfloat16,
                                                                              reduce_dtype=torch.float32))
    optim = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1)
    if rank == 0:
        print(f"{len(dataset):,} instances of {args.seq_len} tokens ({tokens.dtype}); world size {world}; {device}")

    step, epoch, started = 0, 0, time.monotonic()
    while step < args.steps:
        sampler.set_epoch(epoch)
        for batch in loader:
            ids = batch["input_ids"].to(device, non_blocking=True)
            logits = model(ids[:, :-1])
            loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            step += 1
            if rank == 0 and (step % 10 == 0 or step == 1):
                rate = step * args.batch_size * world * args.seq_len / (time.monotonic() - started)
                print(f"step {step:5d}  loss {loss.item():.3f}  ppl {math.exp(min(loss.item(), 20)):.1f}  {rate:,.0f} tokens/s")
            if step >= args.steps:
                break
        epoch += 1
    if dist.is_initialized():
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
