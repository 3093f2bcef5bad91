"""invoke tasks for every runbook in the catalog: `invoke --list`, `invoke release.deploy`."""

from opsbooks.tasks import collection

ns = collection()
