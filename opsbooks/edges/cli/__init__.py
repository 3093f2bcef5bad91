"""The ``opsbooks`` command line: one module per group of subcommands."""
