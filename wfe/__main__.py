"""``python -m wfe``: the controller's entry point."""

import sys

from wfe.cmd import main

sys.exit(main())
