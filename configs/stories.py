"""TinyStories-style storyteller: a few-million-parameter model for this CPU."""

from picojax.config import Config


def get_config() -> Config:
    cfg = Config()
    cfg.data.task = "stories"
    cfg.data.dir = "data/stories"
    cfg.model.depth = 4
    cfg.model.vocab_size = 2048
    cfg.model.seq_len = 256
    cfg.train.batch_size = 32
    return cfg
