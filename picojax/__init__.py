"""picojax: a JAX/Flax trainer for tiny specialist language models.

Importing the package is cheap (no JAX); import the submodules you need, or use
``picojax.load(path)`` to run a trained specialist from a program (`picojax.app.api`).
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    # `picojax.load(path)`: the program-facing entry point lives in the app layer (it needs
    # the registered tasks), imported only when asked for, so `import picojax` stays cheap.
    if name == "load":
        from picojax.app.api import load

        return load
    raise AttributeError(f"module 'picojax' has no attribute {name!r}")
