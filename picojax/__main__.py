import sys

from picojax.app.cli import main

sys.exit(main())
