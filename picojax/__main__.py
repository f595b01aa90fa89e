import sys

from picojax.cli import main

sys.exit(main())
