"""``python -m wfe.cli`` runs the kubectl plugin (the console script is ``kubectl-wfe``)."""

import sys

from wfe.cli.main import main

sys.exit(main())
