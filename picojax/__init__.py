"""picojax: a JAX/Flax trainer for tiny specialist language models.

Importing the package is cheap (no JAX); import the submodules you need.
"""

__version__ = "0.1.0"
