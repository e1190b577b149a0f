"""Train a small causal language model on the token files ``dolma tokens`` writes, the way OLMo reads them.

    dolma sample-corpus --destination quickstart && dolma tokens -c configs/tokens.yaml
    python examples/train_olmo_style.py --tokens quickstart/tokens --steps 50                 # CPU or one GPU
    torchrun --standalone --nproc_per_node 2 examples/train_olmo_style.py --tokens quickstart/tokens  # 2 CPU processes
    torchrun --nproc_per_node 8 examples/train_olmo_style.py --tokens quickstart/tokens       # FSDP over 8 GPUs

Instances are ``seq_len`` consecutive tokens (documents separated by EOS, as in OLMo); the dtype and EOS id come
from the manifests. Each instance carries OLMo's ``doc_lens`` (its documents' lengths, from EOS), batched by
``collate_instances``; with ``--doc_mask`` (the default when EOS is known) attention stays inside each document,
as OLMo's intra-document masking does. Under torchrun the process group comes from its environment (RANK,
WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT): NCCL and FSDP with CUDA (a one-process group for a plain run
on one GPU), gloo and DDP on CPU; each rank reads its own share of the instances (DistributedSampler). A plain run
on CPU trains unwrapped. Needs PyTorch, which the toolkit itself does not.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from typing import Optional

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, DistributedSampler

from dolma.tokens.dataset import TokenDataset
from dolma.tokens.torch_dataset import TorchTokenDataset, collate_instances


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


def document_ids(doc_lens: torch.Tensor, n: int) -> torch.Tensor:
    """(batch, n): the document each of the first ``n`` positions belongs to, from padded ``doc_lens``."""
    ends = doc_lens.cumsum(dim=1)  # the zero padding repeats the last end, so it never starts a document
    positions = torch.arange(n, device=doc_lens.device).expand(doc_lens.shape[0], n).contiguous()
    return torch.searchsorted(ends.contiguous(), positions, right=True)


def attention_mask(n: int, n_heads: int, doc_lens: Optional[torch.Tensor], device: torch.device) -> torch.Tensor:
    """True where attention is blocked: causal, and with ``doc_lens`` also across documents, one (n, n) mask
    per sequence and head as ``nn.MultiheadAttention`` takes it ((batch * heads, n, n))."""
    causal = torch.ones((n, n), dtype=torch.bool, device=device).triu(diagonal=1)
    if doc_lens is None:
        return causal
    doc = document_ids(doc_lens.to(device), n)
    mask = causal | (doc[:, :, None] != doc[:, None, :])
    return mask.repeat_interleave(n_heads, dim=0)


class TinyLM(nn.Module):
    def __init__(self, vocab_size: int, seq_len: int, d_model: int = 256, n_layers: int = 4, n_heads: int = 4) -> None:
        super().__init__()
        self.n_heads = n_heads
        self.embed = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Parameter(torch.zeros(seq_len, d_model))
        self.blocks = nn.ModuleList(Block(d_model, n_heads) for _ in range(n_layers))
        self.ln = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, vocab_size, bias=False)

    def forward(self, ids: torch.Tensor, doc_lens: Optional[torch.Tensor] = None) -> torch.Tensor:
        n = ids.shape[1]
        mask = attention_mask(n, self.n_heads, doc_lens, ids.device)
        x = self.embed(ids) + self.pos[:n]
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.ln(x))


def setup_distributed() -> tuple[int, int, torch.device]:
    """(rank, world size, device). Under torchrun (RANK and WORLD_SIZE set) a process group is set up from its
    environment: NCCL with CUDA, gloo on CPU. A plain run on a GPU gets a one-process NCCL group, so FSDP can
    wrap the model; a plain run on CPU gets none."""
    cuda = torch.cuda.is_available()
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        if not cuda:
            return 0, 1, torch.device("cpu")
        os.environ.update(RANK="0", WORLD_SIZE="1", LOCAL_RANK="0", MASTER_ADDR="127.0.0.1", MASTER_PORT="29517")
    if cuda:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local_rank)
        device = torch.device("cuda", local_rank)
    else:
        device = torch.device("cpu")
    dist.init_process_group("nccl" if cuda else "gloo")  # env://: MASTER_ADDR, MASTER_PORT, RANK, WORLD_SIZE
    return dist.get_rank(), dist.get_world_size(), device


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--tokens", nargs="+", required=True, help="token files, folders or globs")
    parser.add_argument("--seq_len", type=int, default=256)
    parser.add_argument("--batch_size", type=int, default=8, help="sequences per process per step")
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--d_model", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--heads", type=int, default=4)
    parser.add_argument("--num_workers", type=int, default=2, help="DataLoader worker processes per rank")
    parser.add_argument("--log_every", type=int, default=10, help="print the loss every N steps (and at step 1)")
    parser.add_argument("--doc_mask", action=argparse.BooleanOptionalAction, default=None,
                        help="attend only within documents, from doc_lens (default: on when the EOS id is known)")
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> bool:
    """Trains; returns whether a gloo process group was used (then the script ends with ``os._exit``, below)."""
    args = parse_args(argv)
    rank, world, device = setup_distributed()
    gloo = dist.is_initialized() and dist.get_backend() == "gloo"
    try:
        train(args, rank, world, device)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
    return gloo


def train(args: argparse.Namespace, rank: int, world: int, device: torch.device) -> list[float]:
    """Trains for ``args.steps`` steps; returns the logged losses (averaged over the ranks)."""
    torch.manual_seed(args.seed)  # the same initial weights on every rank
    tokens = TokenDataset(args.tokens, seq_len=args.seq_len)
    if tokens.vocab_size is None:
        raise SystemExit("the token files have no manifests saying the vocabulary size")
    doc_mask = tokens.eos_token_id is not None if args.doc_mask is None else args.doc_mask
    dataset = TorchTokenDataset(tokens, generate_doc_lengths=doc_mask)
    # OLMo shuffles instances globally with a seed; DistributedSampler does the same and gives each rank a share
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=args.seed, drop_last=True)
    loader = DataLoader(dataset, batch_size=args.batch_size, sampler=sampler, num_workers=args.num_workers,
                        drop_last=True, collate_fn=collate_instances)
    if len(loader) == 0:
        raise SystemExit(f"{len(dataset)} instances of {args.seq_len} tokens make no batch of {args.batch_size} "
                         f"per process at world size {world}")
    vocab_size = -(-tokens.vocab_size // 128) * 128  # padded to a multiple of 128, as OLMo pads 50,280 to 50,304

    model: nn.Module = TinyLM(vocab_size, args.seq_len, args.d_model, args.layers, args.heads).to(device)
    if device.type == "cuda":
        from torch.distributed.fsdp import FullyShardedDataParallel as FSDP, MixedPrecision

        model = FSDP(model, device_id=device, mixed_precision=MixedPrecision(param_dtype=torch.bfloat16,
                                                                              reduce_dtype=torch.float32))
        wrapper = "FSDP"
    elif world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        model = DDP(model)  # gradients are averaged over the ranks (gloo all-reduce) in backward()
        wrapper = "DDP"
    else:
        wrapper = "no wrapper"
    optim = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1)
    backend = dist.get_backend() if dist.is_initialized() else "no process group"
    print(f"rank {rank} of world size {world}: {device}, {backend}, {wrapper}; {len(sampler):,} of "
          f"{len(dataset):,} instances of {args.seq_len} tokens ({tokens.dtype}); doc_mask {doc_mask}", flush=True)

    losses: list[float] = []
    step, epoch, started = 0, 0, time.monotonic()
    while step < args.steps:
        sampler.set_epoch(epoch)
        for batch in loader:
            ids = batch["input_ids"].to(device, non_blocking=True)
            doc_lens = batch["doc_lens"].to(device, non_blocking=True) if doc_mask else None
            logits = model(ids[:, :-1], doc_lens)
            loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))
            optim.zero_grad(set_to_none=True)
            loss.backward()
            optim.step()
            step += 1
            if step % args.log_every == 0 or step == 1 or step == args.steps:
                mean = loss.detach().clone()
                if world > 1:  # the loss over all ranks' batches (gloo has no AVG)
                    dist.all_reduce(mean, op=dist.ReduceOp.SUM)
                    mean /= world
                losses.append(mean.item())
                if rank == 0:
                    rate = step * args.batch_size * world * args.seq_len / (time.monotonic() - started)
                    print(f"step {step:5d}  loss {mean.item():.3f}  ppl {math.exp(min(mean.item(), 20)):.1f}  "
                          f"{rate:,.0f} tokens/s", flush=True)
            if step >= args.steps:
                break
        epoch += 1
    if wrapper != "FSDP":  # FSDP shards the parameters; DDP keeps a whole, identical copy on every rank
        checksum = sum(float(p.detach().double().sum()) for p in model.parameters())
        print(f"rank {rank}: parameter checksum {checksum:.9e}", flush=True)
    if world > 1:
        dist.barrier()  # no rank leaves (and destroys its end of the group) while another still talks to it
    return losses


if __name__ == "__main__":
    if main():
        # DDP keeps its gloo process group alive past destroy_process_group(), so the group's worker threads outlive
        # it; when one of them frees the last collective's tensors while the interpreter is shutting down, it needs
        # the GIL, cannot get it, and the process aborts ("terminate called without an active exception"; 1 run in
        # 20 on 2 CPU processes, torch 2.14). All work is done and flushed here, so leave without the shutdown.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
