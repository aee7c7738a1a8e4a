"""``spikefly bench``'s figures and table: held-out figures per task, intervals over seeds, the curves.

Each (method, seed) result of :mod:`spikefly.evolution.baselines.bench` holds its test figures
(:func:`flight_figures`, :func:`listening_figures`); :func:`aggregate` turns them into a mean and a
Student-t 95 % interval per column, :func:`markdown_table` into ``bench.md``, :func:`plot_curves`
into ``curves.png``.
"""

from __future__ import annotations

import math
import os
import platform
from pathlib import Path
from typing import Any

import numpy as np

LABELS = {"neat": "NEAT-LIF", "ppo": "PPO (MLP)", "recurrent_ppo": "RecurrentPPO (LSTM)", "spiking_ppo": "PPO (LIF actor)"}


def confidence_interval(values: list[float], level: float = 0.95) -> tuple[float, float]:
    """Mean and the half-width of its Student-t confidence interval over seeds (0 for one seed)."""
    data = np.asarray(values, dtype=float)
    if data.size < 2:
        return float(data.mean()) if data.size else math.nan, 0.0
    from scipy import stats

    half = stats.t.ppf(0.5 + level / 2, data.size - 1) * data.std(ddof=1) / math.sqrt(data.size)
    return float(data.mean()), float(half)


FLIGHT_COLUMNS = (("success", "test.success_rate", 1.0), ("collision", "test.collision_rate", 1.0),
                  ("time-out", "test.timeout_rate", 1.0), ("mean return", "test.mean_return", 1.0),
                  ("time to goal (s)", "test.time_to_goal_s", 1.0), ("holdout success", "test.holdout", 1.0),
                  ("suite success", "test.suite", 1.0))
"""The quadrotor task's columns of the table: (header, key path in a result, scale)."""
FLIGHT_ENERGY = ("energy / s of flight (mJ)", "test.energy_per_flight_s_j", 1e3)
LISTENING_COLUMNS = (("F1", "test.f1", 1.0), ("false alarms / h", "test.false_alarms_per_hour", 1.0),
                     ("holdout F1", "test.holdout", 1.0), ("mean return", "test.mean_return", 1.0))
"""The audio task's columns of the table."""
LISTENING_ENERGY = ("energy / h (J)", "test.energy_per_hour_j", 1.0)


def flight_figures(report: dict[str, Any], cost: dict[str, Any] | None) -> dict[str, Any]:
    """The quadrotor task's test figures of one evaluation report (``metric``: its success rate)."""
    summary = report["summary"]
    goals = [row["time_s"] for row in report["episodes"] if row["outcome"] == "goal"]
    figures = {"metric": summary["success_rate"], "success_rate": summary["success_rate"],
               "collision_rate": summary["collision_rate"], "timeout_rate": summary["timeout_rate"],
               "out_of_bounds_rate": summary["out_of_bounds_rate"], "time_to_goal_s": float(np.mean(goals)) if goals else None}
    if cost is not None:
        figures["energy_per_flight_s_j"] = cost["power_w"]  # J per second of flight = W
    return figures


def listening_figures(report: dict[str, Any], cost: dict[str, Any] | None) -> dict[str, Any]:
    """The audio task's test figures of one evaluation report (``metric``: its event F1)."""
    summary = report["summary"]
    figures = {"metric": summary["f1"], "f1": summary["f1"], "false_alarms_per_hour": summary["false_alarms_per_hour"]}
    if cost is not None:
        figures["energy_per_hour_j"] = cost["per_hour_j"]
    return figures


def table_columns(task) -> list[tuple[str, str, float]]:
    """(header, key path in a result, scale) of the table's numeric columns for ``task``."""
    tail = [("env steps to 50%", "to_50.env_steps", 1e-3), ("env steps to 90%", "to_90.env_steps", 1e-3),
            ("wall-clock to 50% (s)", "to_50.time_s", 1.0), ("wall-clock to 90% (s)", "to_90.time_s", 1.0),
            ("env steps used (k)", "env_steps", 1e-3), ("wall-clock (s)", "wall_clock_s", 1.0),
            ("neurons", "test.neurons", 1.0), ("synapses", "test.synapses", 1.0), ("parameters", "test.parameters", 1.0),
            ("synaptic ops / step", "test.synaptic_ops_per_step", 1.0), ("MACs / step", "test.macs_per_step", 1.0)]
    return [*task.baseline.columns, *tail, task.baseline.energy_column]


def _get(result: dict[str, Any], path: str) -> float | None:
    value: Any = result
    for key in path.split("."):
        if not isinstance(value, dict) or value.get(key) is None:
            return None
        value = value[key]
    return float(value)


def aggregate(results: list[dict[str, Any]], task) -> dict[str, dict[str, Any]]:
    """Per method and column: mean, CI half-width, and how many seeds have a value (thresholds may not be reached)."""
    table: dict[str, dict[str, Any]] = {}
    for method in dict.fromkeys(r["method"] for r in results):
        mine = [r for r in results if r["method"] == method]
        row: dict[str, Any] = {"seeds": len(mine)}
        for header, path, _ in table_columns(task):
            values = [v for v in (_get(r, path) for r in mine) if v is not None]
            mean, half = confidence_interval(values) if values else (None, None)
            row[header] = {"mean": mean, "ci95": half, "n": len(values)}
        table[method] = row
    return table


def markdown_table(aggregates: dict[str, dict[str, Any]], task) -> str:
    columns = table_columns(task)
    threshold_headers = {"env steps to 50%", "env steps to 90%", "wall-clock to 50% (s)", "wall-clock to 90% (s)"}
    lines = ["| method | seeds | " + " | ".join(h.replace("env steps to", "env steps (k) to") for h, _, _ in columns) + " |",
             "|---|---|" + "---|" * len(columns)]
    for method, row in aggregates.items():
        cells = []
        for header, _, scale in columns:
            entry = row[header]
            if entry["n"] == 0:
                cells.append("not reached" if header in threshold_headers else "—")
                continue
            mean, half = entry["mean"] * scale, entry["ci95"] * scale
            digits = 2 if abs(mean) < 10 else 0
            text = f"{mean:.{digits}f} ± {half:.{digits}f}" if row["seeds"] > 1 else f"{mean:.{digits}f}"
            if header in threshold_headers and entry["n"] < row["seeds"]:
                text += f" ({entry['n']}/{row['seeds']} seeds)"
            cells.append(text)
        lines.append(f"| {LABELS[method]} | {row['seeds']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_curves(results: list[dict[str, Any]], path: Path, task) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(1, 2, figsize=(11, 4))
    colours = {"neat": "tab:green", "ppo": "tab:blue", "recurrent_ppo": "tab:orange", "spiking_ppo": "tab:purple"}
    for result in results:
        curve = [{"env_steps": 0, "time_s": 0.0, "success_rate": 0.0}, *result["curve"]]
        label = LABELS[result["method"]] if result["seed"] == 0 else None
        steps = [p["env_steps"] for p in curve]
        seconds = [p["time_s"] for p in curve]
        scores = [p["success_rate"] for p in curve]
        axes[0].step(steps, scores, where="post", color=colours[result["method"]], alpha=0.8, label=label)
        axes[1].step(seconds, scores, where="post", color=colours[result["method"]], alpha=0.8, label=label)
    metric = f"best validation {task.metric}"
    for axis, xlabel in zip(axes, ("env steps", "wall-clock (s)")):
        axis.set_xlabel(xlabel)
        axis.set_ylabel(metric)
        axis.set_ylim(-0.02, 1.02)
        axis.grid(alpha=0.3)
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    pyplot.close(figure)


def hardware() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


OVERSPEND = 1.10
"""A run that used more than this times the budget is named under the table: NEAT stops only between
generations, so a budget smaller than a few generations buys it more steps than the baselines."""


def overspend_note(results: list[dict[str, Any]], budget: float, seconds: bool = False) -> str:
    """Lines under the table naming every run that overspent its step (or, with ``seconds``, its
    wall-clock) budget by more than 10% ("" if none)."""
    key = "wall_clock_s" if seconds else "env_steps"
    over = [f"{r['method']} seed {r['seed']}: {r[key] / budget:.1f}x" for r in results if r[key] > OVERSPEND * budget]
    if not over:
        return ""
    if seconds:
        return ("\n\nOver time (" + ", ".join(over) + f" of {budget:g} s): a NEAT generation and a PPO rollout are not "
                "cut short, and each ends with a last validation.")
    return ("\n\nOver budget (" + ", ".join(over) + f" of {budget:,} steps): a NEAT generation is not cut short, "
            "nor a PPO rollout, so give a budget of many generations (--budget-steps) or a smaller --neat-population.")
