"""The pairs task: a user's own prompt -> completion data (`data_gen.pairs`)."""
