"""The ``spikefly`` command line: one module per subcommand group, the parser and the smaller subcommands in :mod:`.commands`."""

from spikefly.evolution.cli.commands import build_parser, main

__all__ = ["build_parser", "main"]
