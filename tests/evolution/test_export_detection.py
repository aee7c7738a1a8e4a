"""A detector's decision rule as C: `spikefly export --format c` writes it, and it gives the Python rule's classes."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest

from spikefly.controllers import ControllerSpec, LevelEncoder, RateDecoder, random_network, save
from spikefly.envs.audio_env import detected_class
from spikefly.evolution.audio_task import SEVEN_BANDS
from spikefly.evolution.cli.commands import main
from spikefly.evolution.export_detection import DetectionExportError, detection_rule_c

GCC = shutil.which("gcc")


def _python_classes(decoder: RateDecoder, spikes: np.ndarray, n_classes: int) -> list[int]:
    state = decoder.initial_state(n_classes)
    return [detected_class(decoder.decode(frame, n_classes, state)) for frame in spikes]


def _c_classes(tmp_path, decoder: RateDecoder, spikes: np.ndarray, n_classes: int) -> list[int]:
    frames, k, n_out = spikes.shape
    (tmp_path / "rule_detect.h").write_text(detection_rule_c(decoder, n_classes, k, "rule"))
    source = tmp_path / "rule.c"
    source.write_text(
        '#include <stdio.h>\n#include <string.h>\n#include "rule_detect.h"\n'
        f"int main(void) {{ uint8_t o[{k}][{n_out}]; rule_detect_state s; memset(&s, 0, sizeof s); unsigned v;\n"
        f"  while (1) {{ for (int i = 0; i < {k * n_out}; i++) {{ if (scanf(\"%u\", &v) != 1) return 0; "
        f"o[i / {n_out}][i % {n_out}] = (uint8_t)v; }}\n"
        "    printf(\"%d\\n\", rule_detect((const uint8_t (*)[RULE_N_OUT])o, &s)); } }\n"
    )
    binary = tmp_path / "rule"
    subprocess.run([GCC, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", str(source), "-o", str(binary)], check=True)
    lines = [" ".join(str(int(v)) for v in frame.ravel()) for frame in spikes]
    out = subprocess.run([str(binary)], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True).stdout
    return [int(line) for line in out.split()]


@pytest.mark.skipif(GCC is None, reason="gcc is not installed")
@pytest.mark.parametrize(("signed_pairs", "hold_steps", "n_classes", "k"),
                         [(False, 0, 1, 1), (False, 150, 1, 1), (False, 5, 3, 4), (True, 0, 2, 3), (True, 4, 3, 2)])
def test_the_c_rule_detects_the_same_class_as_the_python_rule_frame_for_frame(tmp_path, signed_pairs, hold_steps, n_classes, k):
    decoder = RateDecoder(signed_pairs=signed_pairs, hold_steps=hold_steps)
    rng = np.random.default_rng(hold_steps + n_classes + k)
    n_out = decoder.n_outputs_needed(n_classes)
    # bursts of spikes with long silences between them, so holds start, run out and restart
    active = np.repeat(rng.random((60, 1, n_out)) < 0.3, 10, axis=0)
    spikes = ((rng.random((600, k, n_out)) < 0.2) & active).astype(np.uint8)
    from_python = _python_classes(decoder, spikes, n_classes)
    assert _c_classes(tmp_path, decoder, spikes, n_classes) == from_python
    # every class occurs, and silence too (with signed pairs a silent pair reads 0, which detects: no 0 then)
    assert set(from_python) == set(range(1 if signed_pairs else 0, n_classes + 1))
    if hold_steps:  # the hold is in play: a frame whose neurons are all silent still detects a class
        assert any(c != 0 and not frame.any() for c, frame in zip(from_python, spikes))


def test_only_a_rate_decoder_has_a_c_rule():
    from spikefly.controllers import MembraneDecoder

    with pytest.raises(DetectionExportError, match="membrane decoder's decision rule has no C export"):
        detection_rule_c(MembraneDecoder(), 1, 1, "rule")


@pytest.mark.skipif(GCC is None, reason="gcc is not installed")
def test_export_of_an_audio_controller_writes_its_rule_beside_the_network(tmp_path, capsys):
    network = random_network(np.random.default_rng(2), 14, 3, 1, 0.5)
    spec = ControllerSpec(network=network, encoder=LevelEncoder(n_levels=2), decoder=RateDecoder(hold_steps=150),
                          steps_per_action=1, observation_low=np.full(7, -0.05, np.float32),
                          observation_high=np.full(7, 0.7, np.float32), n_actions=1,
                          env_id="spikefly/AudioEventDetection-v0", env_settings={"front_end": dict(SEVEN_BANDS)})
    path = save(spec, tmp_path / "detector.json")
    assert main(["export", str(path), "--format", "c", "--name", "alarm", "--out", str(tmp_path / "out" / "alarm.h")]) == 0
    printed = capsys.readouterr().out
    rule = tmp_path / "out" / "alarm_detect.h"
    assert "substep dt = 10 ms" in printed  # the audio task's frame, not the quadrotor's control period
    assert str(rule) in printed and "a 150-frame hold" in printed and "alarm_detect" in printed
    assert "#define ALARM_HOLD_STEPS 150" in rule.read_text()
    source = tmp_path / "both.c"
    source.write_text('#include "out/alarm.h"\n#include "out/alarm_detect.h"\nint main(void) { return 0; }\n')
    subprocess.run([GCC, "-std=c99", "-Wall", "-Werror", "-Wno-unused-function", str(source), "-o", str(tmp_path / "both")],
                   check=True)
