"""The strict NEAT config loader and the bundled lif_neat.ini."""

from __future__ import annotations

import configparser
import pickle
import re
from pathlib import Path

import neat
import pytest
from neat.genome import DefaultGenomeConfig

from spikefly.evolution.genome import DEFAULT_GENOME_PARAMETERS, LIFConnectionGene, LIFGenome, LIFNodeGene
from spikefly.evolution.neat_config import BUNDLED_CONFIG, SECTIONS, NeatConfigError, load_neat_config, section_parameters
from spikefly.evolution.speciation import DefaultSpeciesSet


def bundled_text() -> str:
    return BUNDLED_CONFIG.read_text(encoding="utf-8")


def write_variant(tmp_path: Path, replace: str, by: str) -> Path:
    text = bundled_text()
    assert text.count(replace) == 1, replace
    path = tmp_path / "variant.ini"
    path.write_text(text.replace(replace, by), encoding="utf-8")
    return path


def load(path: Path | None = None, **kwargs: object) -> neat.Config:
    return load_neat_config(path, num_inputs=4, num_outputs=3, **kwargs)


# --- the bundled file ------------------------------------------------------------------------


def test_bundled_config_loads_with_lif_types_and_encoder_sizes() -> None:
    config = load()
    assert config.genome_type is LIFGenome
    assert config.reproduction_type.__name__ == "LIFReproduction"
    assert config.species_set_type is DefaultSpeciesSet and issubclass(DefaultSpeciesSet, neat.DefaultSpeciesSet)
    assert config.stagnation_type is neat.DefaultStagnation
    genome = config.genome_config
    assert (genome.num_inputs, genome.num_outputs) == (4, 3)
    assert genome.input_keys == [-1, -2, -3, -4] and genome.output_keys == [0, 1, 2]
    assert genome.node_gene_type is LIFNodeGene and genome.connection_gene_type is LIFConnectionGene
    assert config.pop_size == 150 and config.fitness_criterion == "max" and config.no_fitness_termination is True
    assert genome.num_hidden == 2 and genome.feed_forward is False
    assert genome.evolve_adaptation is True and genome.evolve_delay is True and genome.adaptation_decay == 0.95


def test_bundled_config_has_every_key_once_each_documented_by_the_comment_line_above() -> None:
    known = section_parameters()
    lines = bundled_text().splitlines()
    seen: dict[str, set[str]] = {section: set() for section in SECTIONS}
    section = None
    for number, line in enumerate(lines):
        if line.startswith("["):
            section = line.strip("[]")
        elif line and not line.startswith("#"):
            key = line.split("=")[0].strip()
            assert key in known[section], f"line {number + 1}: {key}"
            assert key not in seen[section]
            seen[section].add(key)
            above = lines[number - 1]
            assert above.startswith("# ") and len(above) > 12, f"{key} needs a comment line above it"
    for section, keys in known.items():
        optional = {"seed"} if section == "NEAT" else {"num_inputs", "num_outputs"} if section == "LIFGenome" else set()
        assert set(keys) - optional == seen[section], section


def test_overrides_replace_file_values_and_encoder_sizes_replace_the_files() -> None:
    config = load(overrides={"NEAT": {"pop_size": 50}, "LIFGenome": {"evolve_delay": False, "initial_connection": "full_direct"},
                             "DefaultSpeciesSet": {"compatibility_threshold": 2.5}})
    assert config.pop_size == 50
    assert config.genome_config.evolve_delay is False
    assert config.genome_config.initial_connection == "full_direct"
    assert config.species_set_config.compatibility_threshold == 2.5


def test_file_values_of_num_inputs_and_outputs_are_replaced(tmp_path: Path) -> None:
    path = write_variant(tmp_path, "num_hidden = 2\n", "num_hidden = 2\nnum_inputs = 99\nnum_outputs = 98\n")
    genome = load(path).genome_config
    assert (genome.num_inputs, genome.num_outputs) == (4, 3)


def test_saved_config_loads_again(tmp_path: Path) -> None:
    config = load(overrides={"NEAT": {"pop_size": 40}})
    config.save(tmp_path / "saved.ini")  # neat writes seed = None and no comments
    again = load(tmp_path / "saved.ini")
    assert again.pop_size == 40
    for parameter in LIFGenome.config_parameters():
        assert getattr(again.genome_config, parameter.name) == getattr(config.genome_config, parameter.name), parameter.name


# --- the parameter lists are neat's ------------------------------------------------------------


def test_mirrored_parameter_lists_match_what_neat_declares() -> None:
    parser = configparser.ConfigParser()
    parser.read(BUNDLED_CONFIG)
    genome_params = dict(parser["LIFGenome"]) | {"num_inputs": "2", "num_outputs": "1"}
    genome_params |= {"node_gene_type": LIFNodeGene, "connection_gene_type": LIFConnectionGene}
    neat_genome = DefaultGenomeConfig(genome_params, "LIFGenome")
    declared = [(p.name, p.value_type) for p in neat_genome._params]
    assert [(p.name, p.value_type) for p in DEFAULT_GENOME_PARAMETERS] == declared[:len(DEFAULT_GENOME_PARAMETERS)]
    assert [p.name for p in LIFGenome.config_parameters()][:len(declared)] == [name for name, _ in declared]
    known = section_parameters()
    for cls in (neat.DefaultSpeciesSet, neat.DefaultStagnation):
        parsed = cls.parse_config(dict(parser[cls.__name__]))
        assert [(p.name, p.value_type) for p in parsed._params] == [(p.name, p.value_type) for p in known[cls.__name__].values()]


def test_attribute_derived_keys_are_known() -> None:
    genome_keys = section_parameters()["LIFGenome"]
    for key in ("bias_init_mean", "threshold_min_value", "beta_mutate_power", "refractory_init_stdev",
                "adaptation_replace_rate", "weight_init_type", "enabled_rate_to_false_add", "delay_mutate_rate",
                "adaptation_decay", "evolve_adaptation", "evolve_delay"):
        assert key in genome_keys


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("section", "line", "typo", "right"), [
    ("NEAT", "pop_size = 150", "pop_sise = 150", "pop_size"),
    ("LIFGenome", "bias_mutate_rate = 0.5", "bias_mutate_rat = 0.5", "bias_mutate_rate"),
    ("LIFGenome", "delay_mutate_rate = 0.1", "delay_mutation_rate = 0.1", "delay_mutate_rate"),
    ("DefaultSpeciesSet", "compatibility_threshold = 2.0", "compatability_threshold = 2.0", "compatibility_threshold"),
    ("DefaultStagnation", "max_stagnation = 20", "max_stagnaton = 20", "max_stagnation"),
    ("LIFReproduction", "survival_threshold = 0.2", "survival_treshold = 0.2", "survival_threshold"),
])
def test_misspelled_key_names_file_section_key_and_the_right_key(tmp_path: Path, section: str, line: str, typo: str, right: str) -> None:
    path = write_variant(tmp_path, line + "\n", typo + "\n")
    with pytest.raises(NeatConfigError) as error:
        load(path)
    message = str(error.value)
    assert str(path) in message and f"[{section}]" in message
    assert f"'{typo.split()[0]}'" in message and f"did you mean '{right}'?" in message


def test_key_in_the_wrong_section_names_its_section(tmp_path: Path) -> None:
    path = write_variant(tmp_path, "compatibility_threshold = 2.0\n", "compatibility_threshold = 2.0\npop_size = 10\n")
    with pytest.raises(NeatConfigError, match=r"\[DefaultSpeciesSet\] unknown key 'pop_size'. Fix: 'pop_size' belongs in \[NEAT\]"):
        load(path)


def test_missing_key_names_it_and_the_bundled_default(tmp_path: Path) -> None:
    path = write_variant(tmp_path, "beta_mutate_power = 0.05\n", "")
    with pytest.raises(NeatConfigError) as error:
        load(path)
    assert str(path) in str(error.value)
    assert "[LIFGenome] missing key 'beta_mutate_power'. Fix: add the line 'beta_mutate_power = 0.05'" in str(error.value)


@pytest.mark.parametrize(("section", "line"), [
    ("NEAT", "no_fitness_termination = True"),
    ("LIFReproduction", "min_species_size = 2"),
    ("DefaultStagnation", "species_elitism = 2"),
    ("LIFGenome", "enabled_rate_to_true_add = 0.0"),
])
def test_keys_with_neat_defaults_are_still_required(tmp_path: Path, section: str, line: str) -> None:
    path = write_variant(tmp_path, line + "\n", "")
    with pytest.raises(NeatConfigError, match=rf"\[{section}\] missing key '{line.split()[0]}'"):
        load(path)


def test_unknown_and_missing_sections(tmp_path: Path) -> None:
    path = write_variant(tmp_path, "[LIFReproduction]", "[DefaultReproduction]")
    with pytest.raises(NeatConfigError, match=r"unknown section \[DefaultReproduction\]. Fix: did you mean 'LIFReproduction'"):
        load(path)
    text = bundled_text()
    path.write_text(text[:text.index("[DefaultSpeciesSet]")] + text[text.index("[DefaultStagnation]"):])
    with pytest.raises(NeatConfigError, match=r"missing section \[DefaultSpeciesSet\]"):
        load(path)


@pytest.mark.parametrize(("line", "bad", "expected"), [
    ("pop_size = 150", "pop_size = many", "expected a whole number"),
    ("pop_size = 150", "pop_size = 1.5", "expected a whole number"),
    ("bias_mutate_rate = 0.5", "bias_mutate_rate = -0.1", "a probability must be in [0, 1]"),
    ("conn_add_prob = 0.5", "conn_add_prob = 1.5", "a probability must be in [0, 1]"),
    ("weight_mutate_power = 0.5", "weight_mutate_power = -1", "must be >= 0"),
    ("threshold_init_mean = 1.0", "threshold_init_mean = one", "expected a number"),
    ("weight_init_stdev = 1.0", "weight_init_stdev = nan", "expected a finite number"),
    ("feed_forward = False", "feed_forward = maybe", "expected True or False"),
    ("threshold_min_value = 0.05", "threshold_min_value = 0.0", "thresholds must stay > 0"),
    ("beta_max_value = 0.99", "beta_max_value = 1.0", "must stay < 1"),
    ("delay_min_value = 0", "delay_min_value = -1", "delays are >= 0"),
    ("bias_max_value = 1.0", "bias_max_value = -2.0", "is below bias_min_value"),
    ("adaptation_decay = 0.95", "adaptation_decay = 1.5", "must be in [0, 1]"),
    ("initial_connection = unconnected", "initial_connection = partial_direct", "not a neat initial connection"),
    ("initial_connection = unconnected", "initial_connection = fully", "not a neat initial connection"),
    ("bias_init_type = gaussian", "bias_init_type = cauchy", "unknown initial distribution"),
    ("species_fitness_func = max", "species_fitness_func = best", "unknown function"),
    ("fitness_criterion = max", "fitness_criterion = maximum", "unknown fitness criterion"),
    ("survival_threshold = 0.2", "survival_threshold = 0", "must be in (0, 1]"),
    ("min_species_size = 2", "min_species_size = 0", "must be >= 1"),
    ("compatibility_threshold = 2.0", "compatibility_threshold = -1", "must be > 0"),
])
def test_bad_value_names_key_and_problem(tmp_path: Path, line: str, bad: str, expected: str) -> None:
    path = write_variant(tmp_path, line + "\n", bad + "\n")
    key = bad.split()[0]
    with pytest.raises(NeatConfigError) as error:
        load(path)
    message = str(error.value)
    assert str(path) in message and f"] {key} = " in message and expected in message and "Fix:" in message


def test_population_too_small_for_one_species() -> None:
    with pytest.raises(NeatConfigError, match=r"\[NEAT\] pop_size = 1: cannot hold one species.*raise pop_size to at least 2"):
        load(overrides={"NEAT": {"pop_size": 1}})


def test_override_errors_name_the_overrides() -> None:
    with pytest.raises(NeatConfigError, match=r"overrides: \[NEAT\] unknown key 'popsize'. Fix: did you mean 'pop_size'"):
        load(overrides={"NEAT": {"popsize": 50}})
    with pytest.raises(NeatConfigError, match=r"overrides: unknown section \[Neat\]"):
        load(overrides={"Neat": {"pop_size": 50}})
    with pytest.raises(NeatConfigError, match=r"num_inputs is set by the encoder/decoder"):
        load(overrides={"LIFGenome": {"num_inputs": 5}})
    with pytest.raises(NeatConfigError, match=r"^overrides \(on top of .*lif_neat.ini\): \[NEAT\] pop_size = -5: must be >= 1"):
        load(overrides={"NEAT": {"pop_size": -5}})


@pytest.mark.parametrize("sizes", [{"num_inputs": 0, "num_outputs": 3}, {"num_inputs": 4, "num_outputs": 0},
                                   {"num_inputs": 2.0, "num_outputs": 3}])
def test_encoder_and_decoder_sizes_are_checked(sizes: dict[str, object]) -> None:
    with pytest.raises(NeatConfigError, match="must be an int >= 1"):
        load_neat_config(**sizes)


def test_no_such_file_and_invalid_ini(tmp_path: Path) -> None:
    with pytest.raises(NeatConfigError, match="no such NEAT config file"):
        load(tmp_path / "absent.ini")
    path = write_variant(tmp_path, "pop_size = 150\n", "pop_size = 150\npop_size = 151\n")
    with pytest.raises(NeatConfigError, match="not a valid INI file"):
        load(path)


def test_switched_off_genes_make_their_keys_optional(tmp_path: Path) -> None:
    text = bundled_text().replace("evolve_adaptation = True", "evolve_adaptation = False")
    text = text.replace("evolve_delay = True", "evolve_delay = False")
    text = "\n".join(line for line in text.splitlines()
                     if not re.match(r"(adaptation|delay)_\w+ = ", line))
    path = tmp_path / "no_adaptation.ini"
    path.write_text(text)
    genome = load(path).genome_config
    assert genome.evolve_adaptation is False and genome.delay_mutate_rate == 0.0 and genome.adaptation_decay == 1.0
    with pytest.raises(NeatConfigError, match="missing key 'delay_"):
        load(path, overrides={"LIFGenome": {"evolve_delay": True}})


def test_genome_config_built_by_neat_directly_rejects_unknown_keys(tmp_path: Path) -> None:
    path = write_variant(tmp_path, "num_hidden = 2\n", "num_hidden = 2\nnum_inputs = 2\nnum_outputs = 1\nbias_mutate_rat = 0.1\n")
    from spikefly.evolution.reproduction import LIFReproduction

    with pytest.raises(neat.config.UnknownConfigItemError, match="bias_mutate_rat"):
        neat.Config(LIFGenome, LIFReproduction, neat.DefaultSpeciesSet, neat.DefaultStagnation, str(path))


# --- pickling does not consume node keys ---------------------------------------------------------


def test_pickling_the_config_does_not_advance_the_node_key_counter() -> None:
    config = load()
    genome_config = config.genome_config
    assert genome_config.get_new_node_key({0: None, 1: None, 7: None}) == 8
    for _ in range(3):
        copy = pickle.loads(pickle.dumps(config))
    assert genome_config.get_new_node_key({}) == 9  # neat 2.0.0 would give 12: each pickle ate one
    assert copy.genome_config.get_new_node_key({}) == 9  # the copy continues where the original stood
    reference = neat.genome.DefaultGenomeConfig.__getstate__(genome_config)  # neat's own, for contrast
    assert reference["_node_indexer_next_value"] == 10 and genome_config.get_new_node_key({}) == 11
