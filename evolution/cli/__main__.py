"""``python -m spikefly.evolution.cli``: the ``spikefly`` command."""

import sys

from spikefly.evolution.cli.commands import main

sys.exit(main())
