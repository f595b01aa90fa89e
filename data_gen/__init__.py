"""The worlds picojax learns: text generators and importers. Pure Python, no JAX."""
