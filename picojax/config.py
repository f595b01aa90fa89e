"""The typed config tree and the depth dial.

One schema for every run. A field left at ``None`` is *derived*: `resolve()` fills it from
`model.depth` (and a few knobs), so a whole family of runs differs in one number. An
explicit value always wins over the derived one. Parsing overrides, loading presets and
JSON live in `picojax.config_io`; this file is only the schema and the derivations.

The file imports no JAX: the CLI prints configs without paying for a JAX import.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Literal, Optional

# Width at which the base learning rate is quoted; LRs scale as 1/sqrt(d_model / 768)
# (nanochat's rule, from muP-style width scaling).
LR_REFERENCE_WIDTH = 768


@dataclass
class ModelConfig:
    depth: int = 4  # number of transformer blocks: the one dial everything else derives from
    aspect_ratio: int = 64  # d_model = aspect_ratio * depth (nanochat's default ratio)
    head_dim: int = 64  # width of one attention head
    kv_group: int = 1  # query heads per kv head (1 = multi-head, >1 = grouped-query attention)
    mlp_multiple: int = 32  # SwiGLU hidden width is ~8/3 * d_model rounded up to this multiple
    vocab_size: int = 512  # tokenizer vocabulary; the tokenizer stage trains exactly this many ids
    seq_len: int = 256  # context length = training window length (tokens)
    tie_embeddings: bool = True  # share the embedding matrix with the output head
    qk_norm: bool = True  # RMSNorm on queries and keys (stabilises small-model training)
    logit_softcap: float = 0.0  # tanh soft-cap on output logits; 0 disables it
    rope_theta: float = 10000.0  # RoPE base frequency
    norm_eps: float = 1e-5  # RMSNorm epsilon
    init_std: float = 0.02  # stddev of the normal init of embeddings and matrices
    compute_dtype: Literal["auto", "float32", "bfloat16"] = "auto"  # auto: f32 on CPU, bf16 on GPU/TPU
    param_dtype: Literal["float32", "bfloat16"] = "float32"  # dtype parameters are stored in
    attention: Literal["auto", "xla", "einsum", "cudnn", "chunked"] = "auto"  # attention kernel; auto = fastest measured per backend (chunked on CPU, cuDNN on GPU)
    # Derived from depth (None = derive; an explicit value wins):
    d_model: Optional[int] = None  # residual width
    n_heads: Optional[int] = None  # query heads = d_model / head_dim (at least 1)
    n_kv_heads: Optional[int] = None  # key/value heads = n_heads / kv_group
    mlp_hidden: Optional[int] = None  # SwiGLU hidden width


@dataclass
class DataConfig:
    task: str = "rpg"  # which world the data comes from, a registered task (`picojax.tasks`); selects evals too
    dir: str = "data/rpg"  # folder holding train.txt/val.txt, the tokenizer and the token store
    tokenizer: Optional[str] = None  # SentencePiece model path; None = <dir>/tokenizer.model
    loss_on: Literal["all", "target"] = "all"  # train on every token, or only on RPG targets
    segment_mask: bool = True  # packed documents attend only within themselves
    long_docs: Literal["auto", "error", "split"] = "auto"  # docs over seq_len+1 tokens: error, or split into windows (auto: error for rpg, split for stories)
    shuffle_seed: int = 0  # seed of the Grain shuffle (epochs reshuffle from it)
    prefetch: int = 2  # batches prepared ahead of the step
    num_workers: int = 0  # Grain worker processes (0 = in-process; workers are slower on 2 cores)


@dataclass
class OptimConfig:
    name: Literal["adamw", "muon"] = "adamw"  # muon = Muon on 2-D matrices, AdamW on the rest
    base_lr: float = 2e-3  # AdamW LR quoted at d_model=768; scaled by (768/d_model)**0.5
    lr: Optional[float] = None  # peak LR actually used; None = derived from base_lr and width
    muon_lr: float = 0.02  # Muon LR for matrices (only with name=muon)
    weight_decay: float = 0.1  # decoupled; not applied to norms, biases or embeddings
    decay_embeddings: bool = False  # also decay the embedding table
    b1: float = 0.9  # Adam beta1
    b2: float = 0.95  # Adam beta2
    eps: float = 1e-8  # Adam epsilon
    clip_norm: float = 1.0  # global gradient-norm clip; 0 disables it
    schedule: Literal["cosine", "wsd", "constant"] = "cosine"  # warmup then cosine / warmup-stable-decay
    warmup_fraction: float = 0.05  # share of steps spent warming up (used when warmup_steps is None)
    warmup_steps: Optional[int] = None  # explicit warmup length; None = warmup_fraction * steps
    decay_fraction: float = 0.2  # wsd: share of steps spent in the final decay
    min_lr_ratio: float = 0.1  # LR at the end of the schedule, as a share of the peak
    grad_accum: int = 1  # micro-batches accumulated per optimizer step


@dataclass
class TrainConfig:
    batch_size: int = 32  # global batch, in sequences, across all processes
    tokens_per_param: float = 20.0  # compute-optimal horizon ratio (Chinchilla 20; nanochat has used 8-20)
    steps: Optional[int] = None  # optimizer steps; None = horizon tokens / (batch_size * seq_len)
    seed: int = 0  # model init and dropout-free training rng
    log_every: int = 10  # steps between logged metrics
    eval_every: int = 200  # steps between val-loss evals (0 = only at the end)
    eval_batches: int = 8  # val batches per eval (a fixed prefix of the val split)
    task_eval_every: int = 0  # steps between task evals (RPG exact match...); 0 = only at the end
    task_eval_limit: int = 200  # records per split in in-training task evals
    nan_guard: bool = True  # stop cleanly on a non-finite loss, keeping the last good checkpoint


@dataclass
class CheckpointConfig:
    every_steps: int = 500  # save every N steps (0 = only on exit)
    every_minutes: float = 10.0  # and at least every M minutes (0 = off)
    max_to_keep: int = 3  # older checkpoints are deleted
    async_save: bool = True  # save in a background thread; always waited for on exit


# The mesh axes each `mesh.strategy` splits the weights over. The sizes already say it (one
# rules table, `picojax.sharding`; an axis of size 1 splits nothing): the strategy is kept
# for configs that name it, and a size > 1 (or -1) on an axis it does not name is refused.
STRATEGY_AXES = {"dp": (), "fsdp": ("fsdp",), "tp": ("tensor",), "fsdp_tp": ("fsdp", "tensor")}


@dataclass
class MeshConfig:
    strategy: Literal["dp", "fsdp", "tp", "fsdp_tp"] = "dp"  # what the mesh splits the weights over; must agree with the sizes (STRATEGY_AXES)
    data: int = -1  # size of the data-parallel axis; -1 = all devices left over
    fsdp: int = 1  # size of the fully-sharded data-parallel axis
    tensor: int = 1  # size of the tensor-parallel axis
    cpu_devices: int = 0  # fake CPU devices on a CPU-only host; 0 = one per core


@dataclass
class Config:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    mesh: MeshConfig = field(default_factory=MeshConfig)


# ----------------------------------------------------------------------------------------
# The depth dial.


def _round_up(x: float, multiple: int) -> int:
    return int(math.ceil(x / multiple) * multiple)


def derive_model_dims(m: ModelConfig) -> ModelConfig:
    """Fills d_model, n_heads, n_kv_heads, mlp_hidden from depth (explicit values win)."""
    d_model = m.d_model if m.d_model is not None else m.aspect_ratio * m.depth
    n_heads = m.n_heads if m.n_heads is not None else max(1, d_model // m.head_dim)
    # The largest kv-head count that divides n_heads at (about) the asked grouping, so every
    # depth gives a valid GQA layout (depth 5 with kv_group=2 -> 5 heads, 1 kv head).
    n_kv_heads = m.n_kv_heads
    if n_kv_heads is None:
        n_kv_heads = max(1, n_heads // m.kv_group)
        while n_heads % n_kv_heads:
            n_kv_heads -= 1
    mlp_hidden = m.mlp_hidden if m.mlp_hidden is not None else _round_up(8 * d_model / 3, m.mlp_multiple)
    return dataclasses.replace(m, d_model=d_model, n_heads=n_heads, n_kv_heads=n_kv_heads, mlp_hidden=mlp_hidden)


@dataclass(frozen=True)
class ParamCount:
    embedding: int  # token embedding table (V x D)
    head: int  # untied output head (0 when tied)
    blocks: int  # all transformer blocks, norms included
    final_norm: int

    @property
    def total(self) -> int:
        return self.embedding + self.head + self.blocks + self.final_norm

    @property
    def scaling(self) -> int:
        """The count that sets the horizon: everything but the embedding lookup.

        An embedding row costs no matmul FLOPs (it is a gather), so like Kaplan et al. and
        nanochat we leave it out of the compute-optimal budget. A tied table still does the
        work of the output head, so it counts once in that role.
        """
        head_matmul = self.head if self.head else self.embedding
        return self.blocks + self.final_norm + head_matmul


def param_count(m: ModelConfig) -> ParamCount:
    """Exact parameter count of `picojax.model.Transformer` for a resolved ModelConfig."""
    d, hd = m.d_model, m.head_dim
    q = d * m.n_heads * hd
    kv = 2 * d * m.n_kv_heads * hd
    o = m.n_heads * hd * d
    mlp = 3 * d * m.mlp_hidden
    norms = 2 * d + (2 * hd if m.qk_norm else 0)
    per_block = q + kv + o + mlp + norms
    embedding = m.vocab_size * d
    return ParamCount(
        embedding=embedding,
        head=0 if m.tie_embeddings else d * m.vocab_size,
        blocks=m.depth * per_block,
        final_norm=d,
    )


def flops_per_token(m: ModelConfig) -> float:
    """Training FLOPs per token: 6N for the matmuls plus causal attention scores.

    Attention: QK^T and AV are 2 * 2 * L * (n_heads * head_dim) FLOPs per token forward at
    full context; causal masking halves the useful work but XLA computes it all, so we count
    it all (as PaLM's MFU does). x3 for forward + backward.
    """
    n = param_count(m).scaling
    attn = m.depth * 2 * 2 * m.seq_len * m.n_heads * m.head_dim
    return 6 * n + 3 * attn


def resolve(cfg: Config) -> Config:
    """Returns a copy with every derived (None) field filled in."""
    model = derive_model_dims(cfg.model)
    optim, train = cfg.optim, cfg.train
    lr = optim.lr if optim.lr is not None else optim.base_lr * (LR_REFERENCE_WIDTH / model.d_model) ** 0.5
    steps = train.steps
    if steps is None:
        horizon_tokens = train.tokens_per_param * param_count(model).scaling
        steps = max(1, int(math.ceil(horizon_tokens / (train.batch_size * model.seq_len))))
    warmup = optim.warmup_steps if optim.warmup_steps is not None else int(optim.warmup_fraction * steps)
    return dataclasses.replace(
        cfg,
        model=model,
        optim=dataclasses.replace(optim, lr=lr, warmup_steps=warmup),
        train=dataclasses.replace(train, steps=steps),
    )


def horizon_tokens(cfg: Config) -> float:
    """Compute-optimal training tokens for a resolved config."""
    return cfg.train.tokens_per_param * param_count(cfg.model).scaling
