"""One module per `picojax` verb (see picojax/app/cli.py for the protocol)."""
