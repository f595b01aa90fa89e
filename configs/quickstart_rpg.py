"""The RPG quickstart (`picojax quickstart --task rpg`): sized to finish, data to evals, in
about 10 minutes on a 2-core CPU. DATA holds the dataset sizes the quickstart generates."""

from picojax.config import Config

# data_gen.rpg.Options fields
DATA = {"seed": 0, "train_records": 100_000, "val_records": 2_000, "eval_records": 200, "eval_fights": 50}


def get_config() -> Config:
    cfg = Config()
    cfg.data.task = "rpg"
    cfg.data.dir = "data/rpg"
    cfg.data.loss_on = "target"  # prompts are random states: only the next state is worth learning
    cfg.model.depth = 2
    cfg.model.aspect_ratio = 64
    cfg.model.head_dim = 32
    cfg.model.vocab_size = 128  # the char-level RPG tokenizer has 122 pieces (names letter by letter)
    cfg.model.seq_len = 320  # records reach ~290 tokens (12-letter names, crowded states, aliases)
    cfg.train.batch_size = 32
    cfg.train.steps = 800
    cfg.train.log_every = 25
    cfg.train.eval_every = 200
    cfg.train.eval_batches = 4
    cfg.train.task_eval_every = 400
    cfg.train.task_eval_limit = 32
    cfg.checkpoint.every_steps = 250
    cfg.checkpoint.every_minutes = 2.0
    return cfg
