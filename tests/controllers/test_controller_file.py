"""The controller file: exact round trips, and clear errors for anything malformed."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spikefly.controllers as controllers
from spikefly.controllers import ControllerFileError, ControllerSpec, DeltaEncoder, RateDecoder, quantize, random_network
from spikefly.controllers.controller_file import from_dict, to_dict

N_OBS = 10
LOW = np.linspace(-2, 0, N_OBS).astype(np.float32)
HIGH = np.linspace(0.5, 3, N_OBS).astype(np.float32)


def make_spec(seed: int = 0, integer: bool = False) -> ControllerSpec:
    encoder, decoder = DeltaEncoder(threshold=0.07), RateDecoder(signed_pairs=True)
    net = random_network(np.random.default_rng(seed), encoder.n_channels(N_OBS), 12, 8, 0.3, max_delay=3)
    return ControllerSpec(
        network=quantize(net) if integer else net, encoder=encoder, decoder=decoder, steps_per_action=6,
        observation_low=LOW, observation_high=HIGH, n_actions=4, env_id="spikefly/QuadrotorAvoid-v0",
        env_settings={"action_mode": "velocity", "n_rays": 16}, board={"name": "stm32f405"},
        fitness={"flight_return": 12.5, "compute_cost": -0.25}, generation=17, metadata={"run": "test"},
    )


def array_fields(network) -> dict[str, np.ndarray]:
    return {name: value for name, value in vars(network).items() if isinstance(value, np.ndarray)}


@pytest.mark.parametrize("integer", [False, True], ids=["float", "integer"])
@pytest.mark.parametrize("seed", range(4))
def test_round_trip_is_exact_and_acts_identically(tmp_path, seed, integer):
    spec = make_spec(seed, integer)
    path = controllers.save(spec, tmp_path / "champion.json")
    back = controllers.load(path)
    before, after = array_fields(spec.network), array_fields(back.network)
    assert before.keys() == after.keys()
    for name in before:
        assert before[name].dtype == after[name].dtype, name
        np.testing.assert_array_equal(before[name], after[name], err_msg=name)
    assert (back.generation, back.fitness, back.board, back.env_settings) == (17, spec.fitness, spec.board, spec.env_settings)
    assert back.encoder == spec.encoder and back.decoder == spec.decoder
    a, b = spec.controller(seed=3), back.controller(seed=3)
    for observation in np.random.default_rng(seed).uniform(LOW, HIGH, size=(30, N_OBS)).astype(np.float32):
        np.testing.assert_array_equal(a.act(observation), b.act(observation))


def test_the_file_is_plain_json_with_format_and_version(tmp_path):
    path = controllers.save(make_spec(), tmp_path / "c.json")
    document = json.loads(path.read_text())
    assert document["format"] == "spikefly-controller" and document["format_version"] == 1
    assert document["spikefly_version"].startswith("0.")
    assert not list(tmp_path.glob(".*.tmp"))  # the atomic write left no temporary file


def write(tmp_path, document) -> str:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(document))
    return str(path)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["network"]["neurons"].pop("beta"), r"network\.neurons\.beta: missing"),
        (lambda d: d["network"]["synapses"]["weight"].pop(), r"network\.synapses\.weight: has \d+ values, expected"),
        (lambda d: d["network"].__setitem__("n_neurons", "12"), r"network\.n_neurons: expected an integer, got str"),
        (lambda d: d["network"]["neurons"]["threshold"].__setitem__(0, True), r"threshold\[0\]: expected a number"),
        (lambda d: d.__setitem__("format", "something-else"), r"format: is 'something-else'"),
        (lambda d: d.__setitem__("format_version", 99), r"format_version: is 99.*upgrade spikefly"),
        (lambda d: d["encoder"].__setitem__("treshold", 0.1), r"unknown key 'treshold' \(did you mean 'threshold'\?\)"),
        (lambda d: d.__setitem__("steps_per_action", 0), r"steps_per_action=0"),
        (lambda d: d["env"]["observation_high"].pop(), r"env\.observation_high: has 9 values, expected 10"),
        (lambda d: d["network"]["neurons"].__setitem__("gain", [1.0]), r"network\.neurons\.gain: unknown key"),
        (lambda d: d["network"]["synapses"]["weight"].__setitem__(0, 1e300), r"network\.synapses\.weight: value 1e\+300 does not fit float32"),
    ],
)
def test_malformed_documents_name_the_file_and_the_key(tmp_path, mutate, message):
    document = to_dict(make_spec())
    mutate(document)
    with pytest.raises(ControllerFileError, match=message) as error:
        controllers.load(write(tmp_path, document))
    assert "bad.json" in str(error.value)


def test_nan_written_into_a_file_is_rejected(tmp_path):
    # Python's json module reads the NaN token, so the loader itself must refuse it.
    document = to_dict(make_spec())
    document["network"]["neurons"]["bias"][0] = float("nan")
    path = tmp_path / "nan.json"
    path.write_text(json.dumps(document))
    assert "NaN" in path.read_text()
    with pytest.raises(ControllerFileError, match=r"network\.neurons\.bias\[0\]: expected a finite number"):
        controllers.load(path)


def test_truncated_and_missing_files_are_clear_errors(tmp_path):
    path = controllers.save(make_spec(), tmp_path / "c.json")
    text = path.read_text()
    for cut in (len(text) // 3, len(text) - 5, len(text) // 2 + 7):
        path.write_text(text[:cut])
        with pytest.raises(ControllerFileError, match=r"c\.json: line \d+ column \d+: not valid JSON \(it ends early: truncated\?\)"):
            controllers.load(path)
    with pytest.raises(ControllerFileError, match="no such file"):
        controllers.load(tmp_path / "absent.json")


def _paths(value, prefix=()):
    """Every (path, value) in a nested JSON document, parents before children."""
    yield prefix, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list) and value:
        yield from _paths(value[0], (*prefix, 0))


BASE = to_dict(make_spec(seed=1))
PATHS = [path for path, _ in _paths(BASE) if path]
JSON_VALUES = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True), st.text(max_size=5),
                        st.lists(st.integers(-3, 3), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(PATHS), st.sampled_from(["delete", "replace"]), JSON_VALUES)
def test_any_mutation_loads_or_raises_controller_file_error(path, how, value):
    document = copy.deepcopy(BASE)
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    if how == "delete" and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    try:
        from_dict(document, "fuzz.json")
    except ControllerFileError as error:
        assert "fuzz.json" in str(error)
