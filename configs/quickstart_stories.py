"""The stories quickstart (`picojax quickstart --task stories`): synthetic TinyStories-style
data and a small storyteller, about 10 minutes on a 2-core CPU. DATA: dataset sizes."""

from picojax.config import Config

# data_gen.stories.generator.generate_stories arguments, and stories sampled in the eval
DATA = {"seed": 0, "stories": 20_000, "samples": 16}


def get_config() -> Config:
    cfg = Config()
    cfg.data.task = "stories"
    cfg.data.dir = "data/stories"
    cfg.model.depth = 2
    cfg.model.aspect_ratio = 64
    cfg.model.head_dim = 32
    cfg.model.vocab_size = 1024
    cfg.model.seq_len = 256
    cfg.train.batch_size = 32
    cfg.train.steps = 800
    cfg.train.log_every = 25
    cfg.train.eval_every = 200
    cfg.train.eval_batches = 4
    cfg.train.task_eval_every = 400
    cfg.checkpoint.every_steps = 250
    cfg.checkpoint.every_minutes = 2.0
    return cfg
