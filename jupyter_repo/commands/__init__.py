"""The ``jupyter repo`` command and its subcommands."""
