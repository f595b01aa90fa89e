"""TinyStories-style storyteller: the depth-3 model of the dial (vocab 1024) trained to its
compute-optimal horizon (~30M tokens, ~3,700 steps of 32 x 256): an hour or two on an idle
2-core CPU. `configs/quickstart_stories.py` is the 10-minute version."""

from picojax.config import Config


def get_config() -> Config:
    cfg = Config()
    cfg.data.task = "stories"
    cfg.data.dir = "data/stories"
    cfg.model.depth = 3
    cfg.model.head_dim = 32  # d_model 192 -> 6 heads
    cfg.model.vocab_size = 1024  # the synthetic stories use ~1,500 words; 1024 BPE pieces cover them well
    cfg.model.seq_len = 256
    cfg.train.batch_size = 32
    cfg.train.log_every = 25
    cfg.train.eval_every = 250
    cfg.train.eval_batches = 8
    cfg.train.task_eval_every = 1000
    cfg.checkpoint.every_steps = 500
    cfg.checkpoint.every_minutes = 10.0
    return cfg
