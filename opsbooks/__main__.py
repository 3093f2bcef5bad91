"""``python -m opsbooks``: the same command line as the ``opsbooks`` console script."""

from __future__ import annotations

from opsbooks.edges.cli.main import main

raise SystemExit(main())
