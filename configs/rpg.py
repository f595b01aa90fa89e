"""RPG state-transition specialist: a small model that trains in minutes on this CPU."""

from picojax.config import Config


def get_config() -> Config:
    cfg = Config()
    cfg.data.task = "rpg"
    cfg.data.dir = "data/rpg"
    cfg.model.depth = 4
    cfg.model.vocab_size = 512
    cfg.model.seq_len = 256
    cfg.train.batch_size = 32
    return cfg
