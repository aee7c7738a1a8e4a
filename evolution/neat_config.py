"""Strict loading of neat-python 2.0.0 configs for :class:`~spikefly.evolution.genome.LIFGenome`.

neat-python reads its INI file leniently: misspelled keys in the genome section are ignored
(the default value, or nothing, silently takes their place), values are checked only as far as
``int()`` goes, and errors name neither the file nor the fix. :func:`load_neat_config` checks
the whole file first — every section, and every key against the parameters that section's
class declares (attribute-derived keys such as ``bias_init_mean`` and ``delay_mutate_rate``
included), every value's type and range — and raises :class:`NeatConfigError` naming the file,
the section, the key and the fix. Only then does it build the :class:`neat.Config` with
:class:`~spikefly.evolution.genome.LIFGenome`,
:class:`~spikefly.evolution.reproduction.LIFReproduction`,
:class:`~spikefly.evolution.speciation.DefaultSpeciesSet` (neat's, with distances over arrays) and
``DefaultStagnation``.

Every key is required except: ``seed`` in ``[NEAT]`` (spikefly seeds with
:func:`~spikefly.evolution.genome.seed_everything` instead; ``seed = None`` counts as absent);
``num_inputs`` / ``num_outputs`` (always taken from the arguments: the encoder and decoder
decide them); the ``adaptation_*`` keys and ``adaptation_decay`` when
``evolve_adaptation = False``; the ``delay_*`` keys when ``evolve_delay = False``.

Pickling: pickling the returned config does not advance its node-key counter (neat 2.0.0's
does; see :class:`~spikefly.evolution.genome.LIFGenomeConfig`). spikefly's evaluators never send
the config to workers anyway, only compact genome arrays
(:func:`~spikefly.evolution.compile.genome_to_arrays`).
"""

from __future__ import annotations

from spikefly.core import SpikeflyError

import configparser
import difflib
import math
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

import neat
from neat.config import ConfigParameter
from neat.math_util import stat_functions

from spikefly.evolution.genome import LIFConnectionGene, LIFGenome, LIFNodeGene
from spikefly.evolution.reproduction import LIFReproduction
from spikefly.evolution.speciation import DefaultSpeciesSet

__all__ = ["BUNDLED_CONFIG", "SECTIONS", "NeatConfigError", "load_neat_config", "section_parameters"]

BUNDLED_CONFIG = Path(__file__).with_name("lif_neat.ini")
"""The default config shipped with spikefly (every key documented)."""

SECTIONS = ("NEAT", "LIFGenome", "DefaultSpeciesSet", "DefaultStagnation", "LIFReproduction")
"""The sections of a spikefly NEAT config, in file order."""


class NeatConfigError(SpikeflyError):
    """A NEAT config file (or override) that spikefly cannot use; the message says the fix."""


# neat 2.0.0's DefaultSpeciesSet and DefaultStagnation declare their parameters only inside
# parse_config; these copies are pinned against neat by tests/evolution/test_neat_config.py.
_SPECIES_SET_PARAMETERS = (ConfigParameter("compatibility_threshold", float),)
_STAGNATION_PARAMETERS = (
    ConfigParameter("species_fitness_func", str, "mean"),
    ConfigParameter("max_stagnation", int, 15),
    ConfigParameter("species_elitism", int, 0),
)
_SET_BY_PROGRAM = ("num_inputs", "num_outputs")  # [LIFGenome] keys the encoder/decoder decide
_SWITCHES = {"evolve_adaptation": "adaptation", "evolve_delay": "delay"}  # switch -> gene attribute
_INIT_TYPES = {"gaussian", "normal", "uniform"}
_SURER_VALUES = {"default", "true", "false", "1", "0", "yes", "no", "on", "off"}
_ENABLED_DEFAULTS = {"1", "on", "yes", "true", "0", "off", "no", "false", "random", "none"}
_ATTRIBUTES = {a.name: a for a in (*LIFNodeGene._gene_attributes, *LIFConnectionGene._gene_attributes)}


def section_parameters() -> dict[str, dict[str, ConfigParameter]]:
    """Section name -> {key: neat ConfigParameter}: every key each section's class declares."""
    parameters = (
        neat.Config._Config__params,  # neat keeps the [NEAT] parameters name-mangled on the class
        LIFGenome.config_parameters(),
        _SPECIES_SET_PARAMETERS,
        _STAGNATION_PARAMETERS,
        LIFReproduction.PARAMETERS,
    )
    return {section: {p.name: p for p in params} for section, params in zip(SECTIONS, parameters)}


def load_neat_config(
    path: str | os.PathLike[str] | None = None,
    *,
    num_inputs: int,
    num_outputs: int,
    overrides: Mapping[str, Mapping[str, object]] | None = None,
) -> neat.Config:
    """Read, check and build a neat config for LIF genomes.

    ``path``: an INI file (None: :data:`BUNDLED_CONFIG`). ``num_inputs`` / ``num_outputs``: the
    encoder's channels and the decoder's output neurons; they replace the file's values.
    ``overrides``: ``{section: {key: value}}`` applied on top of the file (for command-line
    flags, e.g. ``{"NEAT": {"pop_size": 50}}``), checked like the file's own keys.
    Raises :class:`NeatConfigError` (a ValueError) with the file, section, key and fix.
    """
    path = BUNDLED_CONFIG if path is None else Path(path)
    parser = _read(path)
    origin = {(section, key): str(path) for section in parser.sections() for key in parser[section]}
    _check_sections(parser, path)
    known = section_parameters()
    for section in SECTIONS:  # unknown keys first: a misspelled key is also a missing one
        for key in parser[section]:
            _check_known(section, key, known, str(path))
    if parser["NEAT"].get("seed", "").strip().lower() == "none":  # what neat's Config.save writes
        parser.remove_option("NEAT", "seed")
    for section in SECTIONS:  # the file's own values, even those the overrides replace
        for key in parser[section]:
            _typed(known[section][key], parser[section][key], section, origin[section, key])
    for section, entries in (overrides or {}).items():
        if section not in known:
            raise NeatConfigError(f"overrides: unknown section [{section}]. Fix: {_suggest(section, SECTIONS, 'section')}")
        for key, value in entries.items():
            _check_known(section, key, known, "overrides")
            if section == "LIFGenome" and key in _SET_BY_PROGRAM:
                raise NeatConfigError(f"overrides: [LIFGenome] {key} is set by the encoder/decoder. Fix: drop it")
            parser[section][key] = _ini_text(value)
            origin[section, key] = f"overrides (on top of {path})"
    for key, value in zip(_SET_BY_PROGRAM, (num_inputs, num_outputs)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise NeatConfigError(f"load_neat_config: {key} must be an int >= 1, got {value!r}")
        parser["LIFGenome"][key] = str(value)
        origin["LIFGenome", key] = "load_neat_config arguments"

    values = {section: {key: _typed(known[section][key], parser[section][key], section, origin[section, key])
                        for key in parser[section]} for section in SECTIONS}
    _fill_switched_off(values, parser, path)
    for section in SECTIONS:
        for key in known[section]:
            if key not in values[section] and key not in _optional(section):
                raise NeatConfigError(
                    f"{path}: [{section}] missing key '{key}'. Fix: add the line '{key} = {_bundled_value(section, key)}' "
                    f"to [{section}] (the bundled default; see {BUNDLED_CONFIG.name} for what it means)")
    for section, key, problem in _value_problems(values):
        raise NeatConfigError(f"{origin[section, key]}: [{section}] {key} = {parser[section][key]}: {problem}")
    return _build(parser)


def _read(path: Path) -> configparser.ConfigParser:
    if not path.is_file():
        raise NeatConfigError(f"{path}: no such NEAT config file. Fix: pass an existing file (or None for the bundled one)")
    parser = configparser.ConfigParser()  # neat's own settings: full-line comments only, keys lower-cased
    try:
        parser.read_string(path.read_text(encoding="utf-8"), source=str(path))
    except configparser.Error as error:
        raise NeatConfigError(f"{path}: not a valid INI file: {str(error).splitlines()[0]}. Fix: one 'key = value' per line, "
                              "comments on their own lines, each key once per section") from None
    except UnicodeDecodeError as error:
        raise NeatConfigError(f"{path}: not UTF-8 text (byte {error.start}). Fix: save the NEAT config as UTF-8") from None
    except OSError as error:
        raise NeatConfigError(f"{path}: cannot read it ({error.strerror}). Fix: pass a readable NEAT config file") from None
    return parser


def _check_sections(parser: configparser.ConfigParser, path: Path) -> None:
    if parser.defaults():
        raise NeatConfigError(f"{path}: [DEFAULT] would apply its keys to every section. Fix: move "
                              f"{', '.join(parser.defaults())} into the section they belong to")
    for section in parser.sections():
        if section not in SECTIONS:
            raise NeatConfigError(f"{path}: unknown section [{section}]. Fix: {_suggest(section, SECTIONS, 'section')}")
    for section in SECTIONS:
        if not parser.has_section(section):
            raise NeatConfigError(f"{path}: missing section [{section}]. Fix: add it (copy it from {BUNDLED_CONFIG})")


def _check_known(section: str, key: str, known: dict[str, dict[str, ConfigParameter]], source: str) -> None:
    if key in known[section]:
        return
    home = [other for other in SECTIONS if key in known[other]]
    if home:
        fix = f"'{key}' belongs in [{home[0]}]; move it there"
    else:
        fix = _suggest(key, list(known[section]), "key", bundled_hint=section == "LIFGenome")
    raise NeatConfigError(f"{source}: [{section}] unknown key '{key}'. Fix: {fix}")


def _suggest(word: str, choices: list[str] | tuple[str, ...], what: str, bundled_hint: bool = False) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.5)
    if close:
        return f"did you mean '{close[0]}'?"
    if bundled_hint:
        return f"remove it; every valid {what} is listed and explained in {BUNDLED_CONFIG}"
    return f"remove it; valid {what}s: {', '.join(choices)}"


def _ini_text(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return str(value)


MAX_FLOAT = 1e9
"""No NEAT setting of LIF genomes means anything beyond this magnitude (weights, powers, thresholds)."""
MAX_INT = 10**9
"""Nor any count (generations of stagnation, ...) beyond this."""
MAX_POPULATION = 100_000
"""The largest population (as ``spikefly evolve --population`` allows)."""


def _typed(parameter: ConfigParameter, text: str, section: str, source: str) -> object:
    """The value of ``text`` as ``parameter``'s type; NeatConfigError naming the key otherwise."""
    text = text.strip()
    kind = parameter.value_type
    where = f"{source}: [{section}] {parameter.name} = {text}"
    if kind is bool:
        if text.lower() not in ("true", "false"):
            raise NeatConfigError(f"{where}: expected True or False. Fix: write True or False")
        return text.lower() == "true"
    if kind is int:
        try:
            value = int(text)
        except ValueError:
            raise NeatConfigError(f"{where}: expected a whole number. Fix: write an integer such as 3") from None
        if abs(value) > MAX_INT:
            raise NeatConfigError(f"{where}: out of range. Fix: write a whole number within +-{MAX_INT:,}")
        return value
    if kind is float:
        try:
            value = float(text)
        except ValueError:
            raise NeatConfigError(f"{where}: expected a number. Fix: write a number such as 0.5") from None
        if not math.isfinite(value):
            raise NeatConfigError(f"{where}: expected a finite number. Fix: write a number such as 0.5")
        if abs(value) > MAX_FLOAT:
            raise NeatConfigError(f"{where}: out of range. Fix: write a number within +-{MAX_FLOAT:g}")
        return value
    if kind is list:
        return text.split()
    return text


def _optional(section: str) -> set[str]:
    return {"seed"} if section == "NEAT" else set(_SET_BY_PROGRAM) if section == "LIFGenome" else set()


def _fill_switched_off(values: dict[str, dict[str, object]], parser: configparser.ConfigParser, path: Path) -> None:
    """Give the keys of a switched-off gene (``evolve_* = False``) neutral values when absent."""
    genome = values["LIFGenome"]
    for switch, attribute in _SWITCHES.items():
        if genome.get(switch, True):
            continue
        keys = [p.name for p in _ATTRIBUTES[attribute].get_config_params()]
        keys += ["adaptation_decay"] if attribute == "adaptation" else []
        for key in keys:
            if key not in genome:
                neutral = "gaussian" if key.endswith("_init_type") else "1.0" if key == "adaptation_decay" else "0"
                parser["LIFGenome"][key] = neutral
                genome[key] = _typed(section_parameters()["LIFGenome"][key], neutral, "LIFGenome", str(path))


def _value_problems(values: dict[str, dict[str, object]]):
    """(section, key, "problem. Fix: ...") for every value out of its range, section by section."""
    neat_values, genome = values["NEAT"], values["LIFGenome"]
    reproduction, stagnation = values["LIFReproduction"], values["DefaultStagnation"]

    def check(section: str, key: str, ok: bool, problem: str, fix: str):
        return [] if ok else [(section, key, f"{problem}. Fix: {fix}")]

    problems = []
    problems += check("NEAT", "fitness_criterion", neat_values["fitness_criterion"] in ("max", "min", "mean"),
                      "unknown fitness criterion", "write max, min or mean")
    problems += check("NEAT", "pop_size", neat_values["pop_size"] >= 1, "must be >= 1", "write a population size such as 150")
    problems += check("NEAT", "pop_size", neat_values["pop_size"] <= MAX_POPULATION, f"at most {MAX_POPULATION:,}",
                      "write a population size such as 150")
    for key, value in genome.items():
        if key.endswith(("_rate", "_prob", "_add")):
            problems += check("LIFGenome", key, 0.0 <= value <= 1.0, "a probability must be in [0, 1]", "write a value between 0 and 1")
        elif key.endswith(("_mutate_power", "_init_stdev")) or key.startswith("compatibility_"):
            problems += check("LIFGenome", key, value >= 0.0, "must be >= 0", "write 0 or a positive number")
        elif key.endswith("_init_type"):
            problems += check("LIFGenome", key, value.lower() in _INIT_TYPES, "unknown initial distribution", "write gaussian or uniform")
    for attribute in _ATTRIBUTES:
        low, high = f"{attribute}_min_value", f"{attribute}_max_value"
        if low in genome:
            problems += check("LIFGenome", high, genome[low] <= genome[high], f"is below {low} = {genome[low]}",
                              f"make {high} >= {low}")
    for key, ok, problem in (
        ("threshold_min_value", genome["threshold_min_value"] > 0.0, "thresholds must stay > 0"),
        ("beta_min_value", genome["beta_min_value"] >= 0.0, "beta (membrane decay) must stay >= 0"),
        ("beta_max_value", genome["beta_max_value"] < 1.0, "beta (membrane decay) must stay < 1 (every neuron leaks)"),
        ("refractory_min_value", genome["refractory_min_value"] >= 0, "refractory periods are >= 0 steps"),
        ("adaptation_min_value", genome["adaptation_min_value"] >= 0.0, "adaptation increments are >= 0"),
        ("delay_min_value", genome["delay_min_value"] >= 0, "delays are >= 0 steps"),
        ("adaptation_decay", 0.0 <= genome["adaptation_decay"] <= 1.0, "the adaptation decay factor must be in [0, 1]"),
        ("num_hidden", genome["num_hidden"] >= 0, "must be >= 0"),
    ):
        problems += check("LIFGenome", key, ok, problem, "change the value into that range")
    connection = genome["initial_connection"].split()
    allowed = neat.genome.DefaultGenomeConfig.allowed_connectivity
    fraction_ok = len(connection) == 1 and not connection[0].startswith("partial")
    if len(connection) == 2 and connection[0].startswith("partial"):
        try:
            fraction_ok = 0.0 <= float(connection[1]) <= 1.0
        except ValueError:
            fraction_ok = False
    problems += check("LIFGenome", "initial_connection", bool(connection) and connection[0] in allowed and fraction_ok,
                      "not a neat initial connection",
                      f"write one of {', '.join(a for a in allowed if not a.startswith('partial'))}, "
                      "or partial_nodirect P / partial_direct P with P in [0, 1]")
    problems += check("LIFGenome", "structural_mutation_surer", genome["structural_mutation_surer"].lower() in _SURER_VALUES,
                      "unknown value", "write default, True or False")
    problems += check("LIFGenome", "enabled_default", genome["enabled_default"].lower() in _ENABLED_DEFAULTS,
                      "unknown value", "write True, False or random")
    problems += check("DefaultSpeciesSet", "compatibility_threshold", values["DefaultSpeciesSet"]["compatibility_threshold"] > 0.0,
                      "must be > 0", "write a genetic distance such as 3.0")
    problems += check("DefaultStagnation", "species_fitness_func", stagnation["species_fitness_func"] in stat_functions,
                      "unknown function", f"write one of {', '.join(stat_functions)}")
    problems += check("DefaultStagnation", "max_stagnation", stagnation["max_stagnation"] >= 1, "must be >= 1", "write a number of generations such as 20")
    problems += check("DefaultStagnation", "species_elitism", stagnation["species_elitism"] >= 0, "must be >= 0", "write 0 or more")
    problems += check("LIFReproduction", "elitism", reproduction["elitism"] >= 0, "must be >= 0", "write 0 or more")
    problems += check("LIFReproduction", "min_species_size", reproduction["min_species_size"] >= 1, "must be >= 1",
                      "write 1 or more (every surviving species breeds)")
    problems += check("LIFReproduction", "survival_threshold", 0.0 < reproduction["survival_threshold"] <= 1.0,
                      "must be in (0, 1]", "write a fraction such as 0.2")
    smallest = max(reproduction["min_species_size"], reproduction["elitism"])
    problems += check("NEAT", "pop_size", neat_values["pop_size"] >= smallest,
                      f"cannot hold one species of max(min_species_size, elitism) = {smallest}",
                      f"raise pop_size to at least {smallest}")
    return problems


def _bundled_value(section: str, key: str) -> str:
    parser = configparser.ConfigParser()
    parser.read(BUNDLED_CONFIG, encoding="utf-8")
    return parser.get(section, key, fallback="...")


def _build(parser: configparser.ConfigParser) -> neat.Config:
    """neat.Config from the checked values (neat reads only files, so through a temporary one)."""
    handle, name = tempfile.mkstemp(suffix=".ini", prefix="spikefly-neat-")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            parser.write(file)
        return neat.Config(LIFGenome, LIFReproduction, DefaultSpeciesSet, neat.DefaultStagnation, name)
    finally:
        os.unlink(name)
