"""Failure-first task evals; they reach the model only through picojax.sample."""
