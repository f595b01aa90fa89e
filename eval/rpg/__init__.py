"""RPG eval, failure first (data_gen/rpg/FORMAT.md, "Evals").

`compare` checks one output against the engine (exact match, fields, failure taxonomy);
`records` reads split files and fights; `report` aggregates and prints; `rollout` plays
fights on the model's own outputs; `evaluate` runs files through a `complete` function;
`model` builds that function from a checkpointed model and hooks the eval into training.
"""
