"""Checkpoint files: written atomically as JSON, read back with every required key checked
(the state itself is :mod:`spikefly.evolution.checkpoint`'s)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from spikefly.core import SpikeflyError

FORMAT = "spikefly-checkpoint"
FORMAT_VERSION = 1

# Required keys, section by section ("" is the top level); read_checkpoint checks them all.
_REQUIRED_KEYS = {
    "": ("format", "format_version", "generation", "extra", "random_state", "genome_layout",
         "population", "outside_genomes", "species_set", "reproduction", "genome_config"),
    "genome_layout": ("genome_type", "node_gene_type", "connection_gene_type", "node_columns",
                      "connection_columns", "num_inputs", "num_outputs"),
    "population": ("generation", "genomes", "best_genome"),
    "species_set": ("next_species_key", "species", "genome_to_species"),
    "reproduction": ("next_genome_key", "ancestors", "innovation_tracker"),
    "reproduction.innovation_tracker": ("global_counter", "generation_innovations"),
    "genome_config": ("next_node_key",),
}
_GENOME_KEYS = ("key", "fitness", "nodes", "connections")
_SPECIES_KEYS = ("key", "created", "last_improved", "representative", "members", "fitness",
                 "adjusted_fitness", "fitness_history")


_UMASK = os.umask(0o022)  # reading the umask means setting it: put it straight back
os.umask(_UMASK)


class CheckpointError(SpikeflyError):
    """A checkpoint file or state dict that cannot be resumed from; the message names the fix."""


def write_checkpoint(path: str | os.PathLike[str], state: Mapping[str, object]) -> None:
    """Write ``state`` to ``path`` atomically: a reader (or a SIGKILL) sees the old file or the new one.

    Writes a temporary file in the same folder, fsyncs it, ``os.replace``s it over ``path`` and
    fsyncs the folder. Compact JSON (no indentation); floats are written by ``repr`` and so
    read back exactly.
    """
    if state.get("format") != FORMAT:
        raise ValueError("write_checkpoint takes the dict returned by checkpoint_state")
    path = Path(path)
    try:
        text = json.dumps(state, separators=(",", ":"))
    except TypeError as error:
        raise TypeError(f"checkpoint state is not JSON-serialisable ({error}); `extra` may hold "
                        "only dicts, lists, strings, numbers, booleans and None") from error
    write_text_atomic(path, text)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Replace ``path`` by ``text`` atomically and durably (any run-directory file, not only checkpoints)."""
    path = Path(path)
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        if hasattr(os, "fchmod"):  # mkstemp makes 0600 files; give the usual umask-based mode
            os.fchmod(descriptor, 0o666 & ~_UMASK)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable (POSIX only)
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def read_checkpoint(path: str | os.PathLike[str]) -> dict[str, object]:
    """Read and check a checkpoint file; :class:`CheckpointError` names the file and the fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CheckpointError(f"checkpoint {path} does not exist; pass the path of a checkpoint "
                              "the run wrote, or start the run afresh") from None
    except (OSError, UnicodeDecodeError) as error:
        raise CheckpointError(f"checkpoint {path} cannot be read ({error})") from error
    try:
        state = json.loads(text)
    except json.JSONDecodeError as error:
        raise CheckpointError(
            f"checkpoint {path} is not valid JSON ({error}): it is truncated or corrupted. "
            "spikefly writes checkpoints atomically, so it was damaged after writing; resume "
            "from an earlier checkpoint in the same folder") from error
    try:
        validate_state(state)
    except CheckpointError as error:
        raise CheckpointError(f"checkpoint {path}: {error}") from None
    return state


def validate_state(state: object) -> None:
    """A checkpoint state dict as read from a file: check format, version and every required key; raise CheckpointError naming what is wrong."""
    if not isinstance(state, Mapping) or state.get("format") != FORMAT:
        found = state.get("format") if isinstance(state, Mapping) else type(state).__name__
        raise CheckpointError(f"not a spikefly checkpoint (format {found!r}, expected {FORMAT!r}); "
                              "pass a file written by spikefly's write_checkpoint")
    if state.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(
            f"format_version {state.get('format_version')!r} is not the version this spikefly "
            f"reads ({FORMAT_VERSION}); resume with the spikefly version that wrote it")
    for section, keys in _REQUIRED_KEYS.items():
        mapping = state
        for part in filter(None, section.split(".")):
            mapping = mapping.get(part) if isinstance(mapping, Mapping) else None
        _require(mapping, keys, section or "the top level")
    for where, records, keys in (("population.genomes", state["population"]["genomes"], _GENOME_KEYS),
                                 ("outside_genomes", state["outside_genomes"], _GENOME_KEYS),
                                 ("species_set.species", state["species_set"]["species"], _SPECIES_KEYS)):
        if not isinstance(records, list):
            raise CheckpointError(f"{where} is not a list; the file is not a complete checkpoint "
                                  "— resume from an earlier one")
        for record in records:
            _require(record, keys, f"an entry of {where}")


def _require(mapping: object, keys: tuple[str, ...], where: str) -> None:
    if not isinstance(mapping, Mapping):
        raise CheckpointError(f"{where} is missing or not an object; the file is not a complete "
                              "checkpoint — resume from an earlier one")
    missing = [key for key in keys if key not in mapping]
    if missing:
        raise CheckpointError(f"{where} lacks key(s) {missing}; the file is not a complete "
                              "checkpoint — resume from an earlier one")
