"""What a run writes as it goes: the per-genome record of a generation (population.json), the log's
board figures of a network, and the progress bar's line."""

from __future__ import annotations

from typing import Any

import numpy as np

from spikefly.evolution.fitness import OP_SYNAPTIC_OPS, TERM_NAMES


def population_record(generation: int, terms, successes, results, networks: list, reports) -> dict[str, Any]:
    """Per-genome columns of one generation (population order): what ``spikefly report`` draws the reward-energy front from."""
    steps = np.maximum(results.steps.sum(axis=1), 1)
    record: dict[str, Any] = {
        "generation": generation,
        "terms": {name: terms[:, i].round(6).tolist() for i, name in enumerate(TERM_NAMES)},
        "success_rate": np.round(successes, 6).tolist(),
        "synaptic_ops_per_step": np.round(results.ops[:, :, OP_SYNAPTIC_OPS].sum(axis=1) / steps, 3).tolist(),
        "neurons": [network.n_neurons for network in networks],
        "synapses": [network.n_synapses for network in networks],
    }
    if reports:
        record["energy_uj_per_step"] = [round(report.energy_j * 1e6, 6) for report in reports]
        record["feasible"] = [bool(report.feasible) for report in reports]
    return record


def board_summary(report) -> dict[str, Any]:
    """The log's compact board figures of one network."""
    return {
        "board": report.board, "energy_uj_per_step": round(report.energy_j * 1e6, 4),
        "latency_us_per_step": round(report.latency_s * 1e6, 3), "power_mw": round(report.power_w * 1e3, 5),
        "flash_bytes": report.flash_bytes, "ram_bytes": report.ram_bytes, "feasible": report.feasible,
    }


def progress_text(record: dict[str, Any]) -> str:
    text = f"best {record['best_fitness']:.2f} mean {record['mean_fitness']:.2f} species {record['species']}"
    text += f" size {record['best_size']['neurons']}n/{record['best_size']['synapses']}s success {record['best_success_rate']:.2f}"
    if "best_board" in record:
        text += f" {record['best_board']['energy_uj_per_step']:.2f} uJ/step"
    if "validation" in record:
        validation = record["validation"]
        text += f" val {validation['success_rate']:.2f}"
        if "champion_success_rate" in validation:  # the best candidate, then the champion it had to beat
            text += f" (champion {validation['champion_success_rate']:.2f})"
    return text


def progress_bar(total: int, done: int, enabled: bool):
    from tqdm import tqdm

    return tqdm(total=total, initial=done, desc="evolving", unit="gen", disable=not enabled, dynamic_ncols=True)


__all__ = ["board_summary", "population_record", "progress_bar", "progress_text"]
