"""RPG state-transition specialist: the depth-3 model of the dial trained to its
compute-optimal horizon (20 tokens per parameter, ~28M tokens, ~3,500 steps): about an
hour on an idle 2-core CPU. `configs/quickstart_rpg.py` is the 10-minute version."""

from picojax.config import Config


def get_config() -> Config:
    cfg = Config()
    cfg.data.task = "rpg"
    cfg.data.dir = "data/rpg"
    cfg.data.loss_on = "target"  # a prompt is a random state: only the next state is learnable
    cfg.model.depth = 3
    cfg.model.head_dim = 32  # d_model 192 -> 6 heads: more attention patterns than 3 wide heads
    cfg.model.vocab_size = 128  # the char-level RPG tokenizer has 122 pieces (names letter by letter)
    cfg.model.seq_len = 320  # records reach ~290 tokens (12-letter names, crowded states, aliases); rows pack several
    cfg.train.batch_size = 32
    cfg.train.log_every = 25
    cfg.train.eval_every = 250
    cfg.train.eval_batches = 8
    cfg.train.task_eval_every = 500
    cfg.train.task_eval_limit = 100
    cfg.checkpoint.every_steps = 500
    cfg.checkpoint.every_minutes = 10.0
    return cfg
