"""The smallest sensible model: for tests and smoke runs (seconds, not minutes)."""

from picojax.config import Config


def get_config() -> Config:
    cfg = Config()
    cfg.model.depth = 1
    cfg.model.aspect_ratio = 32
    cfg.model.head_dim = 16
    cfg.model.vocab_size = 256
    cfg.model.seq_len = 64
    cfg.train.batch_size = 8
    cfg.train.steps = 20
    cfg.train.log_every = 1
    cfg.checkpoint.every_steps = 10
    return cfg
