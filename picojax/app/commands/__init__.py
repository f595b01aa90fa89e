"""One module per `picojax` verb (see picojax/cli.py for the protocol)."""
