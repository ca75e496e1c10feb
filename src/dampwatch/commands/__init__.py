"""Subcommands of the ``dampwatch`` program."""
