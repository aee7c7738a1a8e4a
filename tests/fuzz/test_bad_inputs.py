"""Every bad input is one clear line and exit 2, with nothing left behind: generated cases over every
user file kind and every flag (tests/fuzz/fuzz_cases.py says what a case is)."""

from __future__ import annotations

import json
import os
import signal
import tomllib
from pathlib import Path

import numpy as np
import pytest

from fuzz_cases import FILE, OUT, ROOT, Case, document_cases, file_cases, json_dump, toml_dump
from spikefly.evolution.cli.commands import main
from spikefly.evolution.settings import EvolveSettings

SECONDS = 60
"""A case that runs longer hangs (a generous bound: a check takes well under a second)."""

EVOLVE = ["evolve", "--out", OUT, "--quiet", "--generations", "1", "--population", "6", "--episodes", "1", "--world", "empty"]
"""A tiny run: a bad input that is accepted by mistake costs seconds, not minutes."""
FROM_SETTINGS = ["evolve", "--out", OUT, "--quiet"]
"""A run whose every setting comes from the settings file (flags would override the mutated values)."""
CHECK = ["evolve", "--out", OUT, "--quiet", "--check"]


def _controller_document() -> dict:
    from spikefly.controllers import ControllerSpec, decoder_from_dict, encoder_from_dict, quantize, random_network, save
    from spikefly.envs.quadrotor_settings import QuadrotorSettings, observation_space
    from spikefly.evolution.settings import DEFAULT_ENCODER

    import tempfile

    space = observation_space(QuadrotorSettings.from_kwargs())
    encoder, decoder = encoder_from_dict(dict(DEFAULT_ENCODER)), decoder_from_dict({"kind": "rate", "signed_pairs": True})
    network = quantize(random_network(np.random.default_rng(0), encoder.n_channels(space.shape[0]), 10, 8, 0.05, max_delay=1))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "pilot.json"
        save(ControllerSpec(network, encoder, decoder, 2, space.low, space.high, 4, env_id="spikefly/QuadrotorAvoid-v0",
                            board={"board": "stm32f405", "feasible": True}, generation=3,
                            fitness={"validation_success_rate": 0.5, "validation_mean_return": 1.0},
                            metadata={"run_seed": 0, "worlds": ["empty"]}), path)
        return json.loads(path.read_text())


def _settings_document() -> dict:
    values = EvolveSettings(worlds=("empty",), population=6, generations=1, episodes_per_world=1, validation_episodes=1,
                            validation_every=1, pybullet_every=0).to_dict()
    return values


def _cases() -> list[Case]:
    cases: list[Case] = []
    # worlds: a procedural course with generators, a static one, one of every obstacle kind
    for stem in ("forest", "windows"):
        path = ROOT / "worlds" / f"{stem}.toml"
        document = tomllib.loads(path.read_text())
        cases += document_cases(f"world-{stem}", document, toml_dump, ".toml", ["worlds", FILE],
                                strict_delete=(("kind",), ("goal",), ("start",), ("bounds",)))
        cases += file_cases(f"world-{stem}", path.read_bytes(), ".toml", ["worlds", FILE])
    mixed = tomllib.loads((ROOT / "worlds" / "mixed.toml").read_text())
    cases += document_cases("world-mixed", mixed, toml_dump, ".toml", ["worlds", FILE])
    # soundscapes
    kitchen = ROOT / "worlds" / "kitchen.toml"
    cases += document_cases("soundscape", tomllib.loads(kitchen.read_text()), toml_dump, ".toml", ["worlds", FILE],
                            strict_delete=(("kind",),))
    cases += file_cases("soundscape", kitchen.read_bytes(), ".toml", ["worlds", FILE])
    cases += list(_wav_cases())
    # run settings: a failed start leaves no run directory; a lenient one is only checked (--check)
    settings = _settings_document()
    cases += document_cases("settings", settings, json_dump, ".json", [*CHECK, "--settings", FILE])
    cases += file_cases("settings", json_dump(settings), ".json", [*FROM_SETTINGS, "--settings", FILE], creates=True)
    # NEAT configs
    ini = (ROOT / "evolution" / "lif_neat.ini").read_text()
    cases += list(_ini_cases(ini))
    # boards
    boards = ROOT / "controllers" / "boards.toml"
    board_document = tomllib.loads(boards.read_text())
    one_board = {"boards": {name: board_document["boards"][name] for name in ("stm32f405", "loihi")}}
    cases += document_cases("board", one_board, toml_dump, ".toml", ["boards", FILE], named=(("boards",),))
    cases += file_cases("board", toml_dump(one_board), ".toml", ["boards", FILE])
    # controller files
    controller = _controller_document()
    evaluate = ["evaluate", FILE, "--world", "empty", "--episodes", "1", "--physics", "twin", "--json"]
    cases += document_cases("controller", controller, json_dump, ".json", evaluate, skip=(("metadata",),),
                            named=(("board",), ("fitness",)))  # records of the run: spikefly reads only some keys
    # the worlds a controller was trained on are its default worlds
    cases += document_cases("controller-metadata", {"metadata": controller["metadata"]},
                            lambda part: json_dump({**controller, **part}), ".json",
                            ["evaluate", FILE, "--episodes", "1", "--physics", "twin", "--json"], named=(("metadata",),))
    cases += file_cases("controller", json_dump(controller), ".json", evaluate)
    cases += file_cases("controller-export", json_dump(controller), ".json", ["export", FILE, "--format", "c", "--out", OUT])
    # randomisation files
    randomisation = {"range_noise_std_m": 0.02, "wind_speed_mps": [0.0, 1.0], "mass_scale": [0.9, 1.1]}
    cases += document_cases("randomise", randomisation, toml_dump, ".toml",
                            ["evaluate", "@CONTROLLER", "--world", "empty", "--episodes", "1", "--physics", "twin",
                             "--randomise", FILE, "--json"])
    cases += list(_flag_cases())
    return cases


def _wav_cases():
    """A soundscape whose event is a WAV file, the WAV file broken in every way."""
    import io

    import soundfile

    soundscape = (b'name = "w"\nkind = "soundscape"\nduration_s = 10.0\ntarget = ["clip"]\n'
                  b'[[backgrounds]]\nsource = "pink_noise"\nlevel_dbfs = [-45.0, -35.0]\n'
                  b'[[events]]\nsource = "wav"\nname = "clip"\npath = "clip.wav"\nrate_per_min = [1.0, 2.0]\nsnr_db = [0.0, 10.0]\n')
    tone = (0.3 * np.sin(np.linspace(0, 2000 * np.pi, 8000))).astype(np.float32)

    def wav(samples, subtype="FLOAT") -> bytes:
        buffer = io.BytesIO()
        soundfile.write(buffer, samples, 16000, format="WAV", subtype=subtype)
        return buffer.getvalue()

    good = wav(tone)
    broken = {"nan": wav(np.full(8000, np.nan, np.float32)), "silent": wav(np.zeros(8000, np.float32)),
              "empty": wav(np.zeros(0, np.float32)), "truncated-header": good[:30], "truncated-data": good[: len(good) // 2 + 3],
              "random-bytes": bytes(range(256)) * 40, "not-a-wav": b"RIFF" + b"\x00" * 100, "inf": wav(np.full(8000, np.inf, np.float32))}
    yield Case("wav:good", ["worlds", FILE], soundscape, ".toml", False, (), extra={"files": {"clip.wav": good}})
    for label, data in broken.items():
        yield Case(f"wav:{label}", ["worlds", FILE], soundscape, ".toml", True, ("clip.wav",), extra={"files": {"clip.wav": data}})


def _ini_cases(ini: str):
    argv = [*EVOLVE, "--neat-config", FILE]
    lines = ini.splitlines()
    for index, line in enumerate(lines):
        if "=" not in line or line.lstrip().startswith("#"):
            continue
        key = line.split("=", 1)[0].strip()
        for label, value, strict in (("text", "ten", True), ("huge", "1e300", True), ("nan", "nan", True),
                                     ("minus-one", "-1", False), ("empty", "", True)):
            mutated = [*lines[:index], f"{key} = {value}", *lines[index + 1:]]
            yield Case(f"neat:{key}:{label}", argv, "\n".join(mutated).encode(), ".ini", strict, (key,), True)
        yield Case(f"neat:{key}:deleted", argv, "\n".join(lines[:index] + lines[index + 1:]).encode(), ".ini", False,
                   (key,), True)
        yield Case(f"neat:{key}:misspelt", argv, "\n".join([*lines[:index], line.replace(key, key + "x", 1),
                                                              *lines[index + 1:]]).encode(), ".ini", True, (key + "x",), True)
    yield from file_cases("neat", ini.encode(), ".ini", argv, creates=True)


FLAG_VALUES = {
    "evolve": [("--population", ["0", "-5", "ten", "100000000000", "1e3"]), ("--generations", ["0", "-1", "x", "10000000000"]),
               ("--episodes", ["0", "1000000000"]), ("--seed", ["-1", "x", str(2**70)]),
               ("--world", ["nope", "/nonexistent/world.toml", ""]), ("--board", ["nope", "/nonexistent.toml"]),
               ("--workers", ["-2", "many"]), ("--time-budget", ["-5", "nan", "inf"]), ("--energy-weight", ["nan", "-inf"]),
               ("--env", ["nope"]), ("--resume", ["/nonexistent-run"]), ("--steps-per-action", ["0", "100000000"]),
               ("--validation-episodes", ["0", "100000000"]), ("--out", ["/proc/run", "/etc/hostname", "/etc/hostname/run"])],
    "evaluate": [("--episodes", ["0", "-1", "1000000000"]), ("--seed", ["-1", str(2**70), "x"]),
                 ("--world", ["nope", "/nonexistent.toml"]), ("--suite", ["nope"]), ("--board", ["nope"]),
                 ("--physics", ["warp"]), ("--randomise", ["nope", "/nonexistent.toml"]), ("--prune", ["2", "-1", "nan"]),
                 ("--snr", ["0"]), ("--background", ["jackhammer"])],
    "export": [("--format", ["exe"]), ("--out", ["/proc/x.h", "/etc/hostname/x.h", "/etc"])],
    "render": [("--size", ["0x0", "100000x100000", "axb", "641x480"]), ("--seed", ["-1", str(2**70)]),
               ("--world", ["nope"]), ("--out", ["x.avi", "/proc/x.mp4", "/etc/hostname/x.mp4"])],
    "report": [("--flights", ["-1", "100000"]), ("--out", ["/proc/x"])],
}


def _flag_cases():
    for command, flags in FLAG_VALUES.items():
        for flag, values in flags:
            for value in values:
                if command == "evolve":
                    argv = [*EVOLVE, flag, value] if flag != "--resume" else ["evolve", "--resume", value, "--quiet"]
                elif command == "report":
                    argv = ["report", "@RUN", flag, value]
                else:
                    argv = [command, "@CONTROLLER", flag, value] + (["--episodes", "1", "--physics", "twin", "--json"]
                                                                     if command == "evaluate" and flag != "--episodes" else [])
                    if command == "export" and flag != "--format":
                        argv += ["--format", "c"]
                    if command == "render":
                        argv += ["--quiet"] if flag != "--world" else ["--quiet"]
                yield Case(f"flag:{command}{flag}={value}", argv, None, "", True, (flag.lstrip("-"), value), command == "evolve")


CASES = _cases()


@pytest.fixture(scope="module")
def controller_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("fuzz") / "pilot.json"
    path.write_text(json.dumps(_controller_document()))
    return path


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fuzz") / "run"
    settings = tmp_path_factory.mktemp("fuzz") / "settings.json"
    settings.write_text(json.dumps(_settings_document()))
    assert main(["evolve", "--settings", str(settings), "--out", str(out), "--quiet"]) == 0
    return out


def _timeout(signum, frame):
    raise TimeoutError(f"no answer within {SECONDS} s")


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_bad_input_is_one_line_and_exit_2_with_nothing_left_behind(case: Case, tmp_path, capsys, request, monkeypatch):
    monkeypatch.chdir(tmp_path)  # default output paths land here
    file = tmp_path / f"input{case.suffix}"
    if case.data is not None:
        file.write_bytes(case.data)
    if case.extra.get("folder"):
        file.mkdir()
    for name, data in case.extra.get("files", {}).items():
        (tmp_path / name).write_bytes(data)
    out = tmp_path / "out"
    argv = []
    for arg in case.argv:
        arg = arg.replace(FILE, str(file)).replace(OUT, str(out))
        if arg == "@CONTROLLER":
            arg = str(request.getfixturevalue("controller_file"))
        if arg == "@RUN":
            arg = str(request.getfixturevalue("run_dir"))
        argv.append(arg)
    previous = signal.signal(signal.SIGALRM, _timeout)
    signal.alarm(SECONDS)
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    if case.strict:
        assert code == 2, f"accepted (exit {code}): {' '.join(argv)}\n{captured.out[-500:]}"
    else:
        assert code in (0, 2), f"exit {code}: {captured.err}"
    if code == 2:
        lines = captured.err.strip().splitlines()
        assert len(lines) == 1, f"not one line: {captured.err}"
        named = [file.name, *case.names] if case.data is not None or case.extra.get("folder") else list(case.names)
        assert any(name and name in lines[0] for name in named) or not named, f"names neither {named}: {lines[0]}"
        if case.creates:
            assert not out.exists(), f"left {sorted(os.listdir(out)) if out.is_dir() else out} behind"
