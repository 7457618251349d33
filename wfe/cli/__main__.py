"""``python -m wfe.cli`` runs the kubectl plugin (the console script is ``kubectl-wfe``)."""

from wfe.cli.main import entry

entry()
