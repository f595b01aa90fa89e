"""The PyTorch peer of `picojax bench peer`: a plain, idiomatic eager train step of the
same architecture (the llama2.c `train.py` inner loop), on random tokens.

RMSNorm, rotary embeddings in the rotate-half layout, grouped-query attention through
`F.scaled_dot_product_attention` (PyTorch's fused CPU kernel), SwiGLU, tied embeddings,
no biases, no dropout; `torch.optim.AdamW` (betas 0.9/0.95, weight decay 0.1 on matrices)
and `clip_grad_norm_(1.0)`. Runs in its own process (`python -m picojax.app.bench._peer_torch SPEC_JSON`) so torch's
and XLA's thread pools never share one.
"""

from __future__ import annotations

import json
import math
import sys
import time


def build(spec: dict):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    d, n_layers, n_heads, n_kv, head_dim = spec["d_model"], spec["depth"], spec["n_heads"], spec["n_kv_heads"], spec["head_dim"]
    hidden, vocab, seq = spec["mlp_hidden"], spec["vocab"], spec["seq_len"]

    class RMSNorm(nn.Module):
        def __init__(self, dim, eps=1e-5):
            super().__init__()
            self.eps, self.weight = eps, nn.Parameter(torch.ones(dim))

        def forward(self, x):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight

    def rope(x, cos, sin):  # x [B, H, L, K]; rotate halves (i, i + K/2)
        x1, x2 = x.chunk(2, dim=-1)
        return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.attn_norm, self.mlp_norm = RMSNorm(d), RMSNorm(d)
            self.wq = nn.Linear(d, n_heads * head_dim, bias=False)
            self.wk = nn.Linear(d, n_kv * head_dim, bias=False)
            self.wv = nn.Linear(d, n_kv * head_dim, bias=False)
            self.wo = nn.Linear(n_heads * head_dim, d, bias=False)
            self.w1 = nn.Linear(d, hidden, bias=False)
            self.w3 = nn.Linear(d, hidden, bias=False)
            self.w2 = nn.Linear(hidden, d, bias=False)
            self.q_norm = RMSNorm(head_dim) if spec.get("qk_norm") else None
            self.k_norm = RMSNorm(head_dim) if spec.get("qk_norm") else None

        def forward(self, x, cos, sin):
            b, L, _ = x.shape
            h = self.attn_norm(x)
            q = self.wq(h).view(b, L, n_heads, head_dim).transpose(1, 2)
            k = self.wk(h).view(b, L, n_kv, head_dim).transpose(1, 2)
            v = self.wv(h).view(b, L, n_kv, head_dim).transpose(1, 2)
            if self.q_norm is not None:
                q, k = self.q_norm(q), self.k_norm(k)
            q, k = rope(q, cos, sin), rope(k, cos, sin)
            a = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=n_kv != n_heads)
            x = x + self.wo(a.transpose(1, 2).reshape(b, L, n_heads * head_dim))
            h = self.mlp_norm(x)
            return x + self.w2(F.silu(self.w1(h)) * self.w3(h))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(vocab, d)
            self.blocks = nn.ModuleList([Block() for _ in range(n_layers)])
            self.norm = RMSNorm(d)
            inv = 1.0 / (10000.0 ** (torch.arange(0, head_dim, 2).float() / head_dim))
            ang = torch.arange(seq).float()[:, None] * inv[None]
            self.register_buffer("cos", ang.cos(), persistent=False)
            self.register_buffer("sin", ang.sin(), persistent=False)
            for p in self.parameters():
                if p.dim() == 2:
                    nn.init.normal_(p, std=0.02)

        def forward(self, tokens, targets):
            x = self.embed(tokens)
            for block in self.blocks:
                x = block(x, self.cos, self.sin)
            logits = self.norm(x) @ self.embed.weight.T  # tied head
            return F.cross_entropy(logits.view(-1, vocab), targets.view(-1))

    return Model()


def measure(spec: dict) -> dict:
    import torch

    torch.set_num_threads(spec.get("threads", 2))
    torch.manual_seed(0)
    model = build(spec)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.95))
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, spec["vocab"], (spec["batch"], spec["seq_len"] + 1), generator=gen)
    x, y = tokens[:, :-1].contiguous(), tokens[:, 1:].contiguous()

    def step():
        loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return float(loss)

    for _ in range(spec.get("warmup", 2)):
        step()
    times = []
    for _ in range(spec["steps"]):
        start = time.perf_counter()
        loss = step()
        times.append(time.perf_counter() - start)
    step_s = min(times)  # load only ever slows a step down
    return {"tokens_per_s": spec["batch"] * spec["seq_len"] / step_s, "step_s": step_s, "loss": loss,
            "params": sum(p.numel() for p in model.parameters()), "torch": torch.__version__,
            "first_loss_ok": math.isfinite(loss)}


if __name__ == "__main__":
    print(json.dumps(measure(json.loads(sys.argv[1]))))
