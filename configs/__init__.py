"""Presets: each module's get_config() returns a picojax.config.Config.

Use one with `--config configs/rpg.py` (a path) or `--config rpg` (a built-in name).
"""
