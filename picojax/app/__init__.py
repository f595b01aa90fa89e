"""The application layer: the `picojax` CLI, its verbs, the quickstart and the benchmarks.

It sits above the library (`picojax.*`), the task implementations (`eval/`), the worlds
(`data_gen/`) and the presets (`configs/`); nothing below it imports it.
"""

# Every entry point of the app (the CLI, the quickstart, the benches) needs the built-in
# tasks registered before the library asks for one.
from picojax.app import tasks as _tasks  # noqa: E402,F401


def _register_presets() -> None:
    """Bare preset names (`--config rpg`) are the files of the repository's `configs/`."""
    from pathlib import Path

    import configs
    from picojax import config_io

    config_io.add_preset_dir(Path(configs.__file__).parent)


_register_presets()
