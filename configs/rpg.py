"""RPG state-transition specialist: the depth-3 model of the dial (1.35M parameters, q8_0
GGUF ~1.45 MB), 3,200 steps of 10,240 tokens: about an hour on an idle 2-core CPU.
`configs/quickstart_rpg.py` is the 10-minute version. Measured (docs/rpg-recipe.md, run
r3): 79% exact on in-distribution and on never-seen names, rollout median 6.5 turns.

    picojax data rpg --out data/rpg --seed 1 --train-records 1500000 --val-records 5000
    picojax tokenizer --data data/rpg --vocab-size 128 && picojax data tokenize --data data/rpg
    picojax train --config configs/rpg.py --workdir runs/rpg && picojax eval --workdir runs/rpg
"""

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
    cfg.train.steps = 3200  # past the 20-tokens-per-parameter horizon (2,643 steps): still improving there
    cfg.train.log_every = 25
    cfg.train.eval_every = 250
    cfg.train.eval_batches = 8
    cfg.train.task_eval_every = 800
    cfg.train.task_eval_limit = 100
    cfg.checkpoint.every_steps = 500
    cfg.checkpoint.every_minutes = 10.0
    return cfg
