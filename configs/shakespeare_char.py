"""Tiny Shakespeare, character level: nanoGPT's `shakespeare_char` benchmark on picojax.

nanoGPT's CPU setting (4 layers, 4 heads, d 128, context 64, batch 12, 2,000 iterations)
reports a val loss of about 1.88 nats/char in about three minutes on a laptop. This preset
is the same model shape and context; see the README for the figures measured here.

    picojax data text --from ../shared/data/tinyshakespeare.txt --out data/shakespeare
    picojax tokenizer --data data/shakespeare --vocab-size 128 --model char
    picojax data tokenize --data data/shakespeare
    picojax train --config configs/shakespeare_char.py --workdir runs/shakespeare
"""

from picojax.config import Config


def get_config() -> Config:
    cfg = Config()
    cfg.data.task = "text"
    cfg.data.dir = "data/shakespeare"
    cfg.data.segment_mask = False  # one stream cut into windows: no document boundaries to respect
    cfg.model.depth = 4
    cfg.model.aspect_ratio = 32  # d_model 128, as nanoGPT's CPU setting
    cfg.model.head_dim = 32  # 4 heads
    cfg.model.vocab_size = 128  # ~100 pieces: every printable ASCII character, the specials, newline
    cfg.model.seq_len = 64
    cfg.train.batch_size = 12
    cfg.train.steps = 2000
    cfg.optim.lr = 1e-3
    cfg.optim.b2 = 0.99  # nanoGPT's choice for this small-batch run
    cfg.optim.warmup_steps = 100
    cfg.train.log_every = 50
    cfg.train.eval_every = 250
    cfg.train.eval_batches = 50
    cfg.train.task_eval_every = 1000
    cfg.checkpoint.every_steps = 1000
    cfg.checkpoint.every_minutes = 5.0
    return cfg
