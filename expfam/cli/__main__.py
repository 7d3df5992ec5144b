"""``python -m expfam.cli``: the command line."""

import sys

from expfam.cli import main

sys.exit(main())
