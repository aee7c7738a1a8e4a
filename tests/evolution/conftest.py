"""Fixtures shared by the evolution tests."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def wired_neat_config(tmp_path_factory) -> Path:
    """The bundled NEAT config file with random first wiring (``partial_direct 0.15``), for tests of what acts on
    synapses: the bundled config's first genomes are unconnected (they fly the guidance law alone)."""
    from spikefly.evolution.neat_config import BUNDLED_CONFIG

    text = Path(BUNDLED_CONFIG).read_text()
    assert "initial_connection = unconnected" in text
    path = tmp_path_factory.mktemp("neat") / "wired.ini"
    path.write_text(text.replace("initial_connection = unconnected", "initial_connection = partial_direct 0.15"))
    return path
