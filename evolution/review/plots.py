"""The plots of ``spikefly report`` (matplotlib, Agg backend): one function per picture, each writing a PNG.

They read a :class:`~spikefly.evolution.review.report.RunData` (the run directory's files) or a
champion :class:`~spikefly.controllers.ControllerSpec`; the flights and clips they draw are
recorded with :mod:`spikefly.evolution.review.record`, so they are the flights ``spikefly evaluate``
flies.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np


if TYPE_CHECKING:
    from spikefly.controllers import ControllerSpec
    from spikefly.evolution.review.report import RunData

INSTALL_HINT = 'run reports need matplotlib. Fix: pip install "spikefly[render]"'


def pyplot():
    """matplotlib's pyplot on the Agg backend (files only, no display); ImportError with the install hint."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as error:
        raise ImportError(INSTALL_HINT) from error
    return plt


def plot_fitness(run: RunData, path: Path) -> Path:
    """Fitness (best, mean, mean +- std) and each non-zero term (best, mean) per generation."""
    plt = pyplot()
    x = run.series("generation")
    names = [name for name in run.generations[-1].get("best_terms", {})
             if np.nanmax(np.abs(np.r_[run.series("best_terms", name), run.series("mean_terms", name)])) > 0]
    columns = 3
    rows = 1 + math.ceil(len(names) / columns)
    figure = plt.figure(figsize=(11, 2.6 * rows), layout="constrained")
    grid = figure.add_gridspec(rows, columns)
    axis = figure.add_subplot(grid[0, :])
    best, mean, spread = run.series("best_fitness"), run.series("mean_fitness"), run.series("std_fitness")
    axis.fill_between(x, mean - spread, mean + spread, alpha=0.25, color="tab:blue", label="mean ± std")
    axis.plot(x, mean, color="tab:blue", label="mean")
    axis.plot(x, best, color="tab:red", label="best")
    low = np.nanpercentile(mean - spread, 5)
    axis.set_ylim(bottom=max(low, np.nanmin(best) - 0.2 * (np.nanmax(best) - np.nanmin(best) + 1e-9)) if np.isfinite(low) else None)
    axis.set(title="fitness per generation", xlabel="generation", ylabel="fitness")
    axis.legend(loc="lower right")
    for index, name in enumerate(names):
        axis = figure.add_subplot(grid[1 + index // columns, index % columns])
        axis.plot(x, run.series("mean_terms", name), color="tab:blue", label="mean")
        axis.plot(x, run.series("best_terms", name), color="tab:red", label="best genome")
        axis.set(title=name, xlabel="generation")
        if index == 0:
            axis.legend(fontsize=8)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_species_and_size(run: RunData, path: Path) -> Path:
    """Species over time; the best network's neurons, synapses and synaptic ops (and board energy) per step."""
    plt = pyplot()
    x = run.series("generation")
    figure, axes = plt.subplots(1, 3, figsize=(12, 3.2), layout="constrained")
    axes[0].step(x, run.series("species"), where="post", color="tab:purple")
    axes[0].set(title="species", xlabel="generation", ylabel="count")
    axes[1].plot(x, run.series("best_size", "neurons"), label="neurons")
    axes[1].plot(x, run.series("best_size", "synapses"), label="synapses")
    axes[1].set(title="best genome's size", xlabel="generation")
    axes[1].legend()
    cost = float(run.settings.get("synaptic_op_cost", 0.0) or 0.0)
    axis = axes[2]
    if cost > 0:
        axis.plot(x, -run.series("best_terms", "synaptic_ops_cost") / cost, color="tab:green")
        axis.set(title="best genome's synaptic ops", xlabel="generation", ylabel="per control step")
    energy = run.series("best_board", "energy_uj_per_step")
    if np.isfinite(energy).any():
        twin = axis.twinx() if cost > 0 else axis
        twin.plot(x, energy, color="tab:orange", alpha=0.8)
        board = next((line["best_board"]["board"] for line in run.generations if "best_board" in line), "board")
        twin.set_ylabel(f"µJ per step on {board}", color="tab:orange")
        if cost <= 0:
            axis.set(title="best genome's energy", xlabel="generation")
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_validation(run: RunData, path: Path) -> Path:
    """Success on the validation seeds at each validation (twin and PyBullet), champions marked."""
    plt = pyplot()
    rows = [(line["generation"], line["validation"]) for line in run.generations if isinstance(line.get("validation"), dict)]
    figure, axis = plt.subplots(figsize=(8, 3.2), layout="constrained")
    label = f"{run.task.metric} on validation {run.task.episode_word}s"
    if rows:
        x = np.array([g for g, _ in rows])
        pybullet = [(g, v["pybullet_success_rate"]) for g, v in rows if "pybullet_success_rate" in v]
        twin = " (twin)" if pybullet else ""  # validated on the twin, the champion re-flown in PyBullet
        axis.plot(x, [v.get("success_rate", math.nan) for _, v in rows], marker=".", label="best candidate" + twin)
        if pybullet:
            axis.plot(*zip(*pybullet), marker="s", linestyle="--", label="champion in PyBullet")
        quiet = next((v["baseline"]["success_rate"] for _, v in rows if "baseline" in v), None)
        if quiet is not None:  # the quiet network (no synapse, no bias) the candidates had to beat
            axis.axhline(quiet, color="grey", linestyle=":", label="quiet network")
        new = [(g, v.get("champion_success_rate", v["success_rate"])) for g, v in rows if v.get("new_champion")]
        if new:
            axis.scatter(*zip(*new), s=60, facecolors="none", edgecolors="tab:red", label="new champion", zorder=3)
        axis.legend(loc="lower right")
    else:
        axis.text(0.5, 0.5, "no validation yet", ha="center", va="center", transform=axis.transAxes)
    axis.set(title=label, xlabel="generation", ylim=(-0.02, 1.02))
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def pareto_front(reward: np.ndarray, energy: np.ndarray) -> np.ndarray:
    """Indices of the genomes no other genome beats on both (higher reward, lower energy), by energy."""
    order = np.lexsort((-reward, energy))
    front, best = [], -math.inf
    for index in order:
        if reward[index] > best:
            front.append(int(index))
            best = reward[index]
    return np.array(front, dtype=np.int64)


def plot_front(run: RunData, path: Path) -> Path | None:
    """Reward (flight return) against energy per control step of every genome of the latest generation."""
    population = run.population
    if not population:
        return None
    plt = pyplot()
    reward = np.array(population["terms"]["flight_return"], float)
    if "energy_uj_per_step" in population:
        energy, unit = np.array(population["energy_uj_per_step"], float), "network energy, µJ per control step (board model)"
    else:
        energy, unit = np.array(population["synaptic_ops_per_step"], float), "synaptic ops per control step"
    front = pareto_front(reward, energy)
    figure, axis = plt.subplots(figsize=(7, 4.2), layout="constrained")
    feasible = np.array(population.get("feasible", [True] * len(reward)), bool)
    axis.scatter(energy[feasible], reward[feasible], s=14, alpha=0.55, label="genome")
    if (~feasible).any():
        axis.scatter(energy[~feasible], reward[~feasible], s=14, marker="x", color="grey", label="does not fit the board")
    axis.step(energy[front], reward[front], where="post", color="tab:red", label="front (no genome better on both)")
    axis.scatter(energy[front], reward[front], s=30, color="tab:red", zorder=3)
    axis.set(title=f"reward vs energy, generation {population['generation']}", xlabel=unit,
             ylabel=f"mean {run.task.episode_word} return")
    axis.legend(fontsize=8)
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def plot_topology(spec: ControllerSpec, path: Path) -> Path:
    """The champion's network in layers: inputs (those with synapses), hidden neurons by depth, outputs."""
    plt = pyplot()
    from matplotlib.collections import LineCollection

    network = spec.network
    source, target, weight, _ = network.edges()
    weight = np.asarray(weight, float)
    n_in, n = network.n_inputs, network.n_neurons
    outputs = [int(v) for v in network.output_index]
    hidden = [j for j in range(n) if j not in set(outputs)]
    used_inputs = sorted({int(s) for s in source if s < n_in})
    depth = _hidden_depth(source, target, n_in, hidden)
    layers = max(depth.values(), default=0)
    position: dict[tuple[str, int], tuple[float, float]] = {}
    for rank, channel in enumerate(used_inputs):
        position[("in", channel)] = (0.0, _spread(rank, len(used_inputs)))
    for level in range(1, layers + 1):
        members = [j for j in hidden if depth[j] == level]
        for rank, j in enumerate(members):
            position[("n", j)] = (level / (layers + 1), _spread(rank, len(members)))
    for rank, j in enumerate(outputs):
        position[("n", j)] = (1.0, _spread(rank, len(outputs)))
    figure, axis = plt.subplots(figsize=(8, max(4.0, 0.18 * max(len(used_inputs), len(outputs), 1) + 2)), layout="constrained")
    segments, colours, loops = [], [], []
    scale = max(float(np.abs(weight).max(initial=0.0)), 1e-9)
    for s, t, w in zip(source.tolist(), target.tolist(), weight.tolist()):
        a = position[("in", s)] if s < n_in else position[("n", s - n_in)]
        b = position[("n", t)]
        if a == b:
            loops.append(a)
            continue
        segments.append([a, b])
        colours.append((0.85, 0.2, 0.2, 0.15 + 0.75 * abs(w) / scale) if w > 0 else (0.2, 0.35, 0.85, 0.15 + 0.75 * abs(w) / scale))
    axis.add_collection(LineCollection(segments, colors=colours, linewidths=1.0))
    if loops:
        axis.scatter(*zip(*loops), s=260, facecolors="none", edgecolors="grey", linewidths=0.8)
    names, labels = _io_names(spec)
    for channel in used_inputs:
        x, y = position[("in", channel)]
        axis.scatter(x, y, s=30, color="tab:blue", zorder=3)
        axis.text(x - 0.02, y, names.get(channel, f"in {channel}"), ha="right", va="center", fontsize=7)
    for j in hidden:
        if ("n", j) in position:
            axis.scatter(*position[("n", j)], s=60, color="tab:orange", zorder=3)
    for rank, j in enumerate(outputs):
        x, y = position[("n", j)]
        axis.scatter(x, y, s=60, color="tab:red", zorder=3)
        axis.text(x + 0.02, y, labels[rank] if rank < len(labels) else f"out {rank}", ha="left", va="center", fontsize=8)
    unused = n_in - len(used_inputs)
    axis.set_title(f"champion: {n} neurons ({len(hidden)} hidden), {len(source)} synapses; "
                   f"{len(used_inputs)} of {n_in} inputs connected{f', {unused} unused' if unused else ''}\n"
                   "red: excitatory, blue: inhibitory (opacity: |weight|); circles: self-connections", fontsize=9)
    axis.set_xlim(-0.35, 1.3)
    axis.set_ylim(-0.05, 1.05)
    axis.axis("off")
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return path


def _spread(rank: int, count: int) -> float:
    return 0.5 if count <= 1 else rank / (count - 1)


def _hidden_depth(source, target, n_in: int, hidden: list[int]) -> dict[int, int]:
    """Longest feed-forward distance from the inputs (cycles cut), at least 1, for each hidden neuron."""
    depth = dict.fromkeys(hidden, 1)
    hidden_set = set(hidden)
    for _ in range(len(hidden)):  # relax; a cycle stops growing after len(hidden) passes
        changed = False
        for s, t in zip(source.tolist(), target.tolist()):
            if s >= n_in and (s - n_in) in hidden_set and t in hidden_set and s - n_in != t:
                proposed = min(depth[s - n_in] + 1, len(hidden))
                if proposed > depth[t]:
                    depth[t], changed = proposed, True
        if not changed:
            break
    return depth


def _io_names(spec) -> tuple[dict[int, str], list[str]]:
    """The task's names of the input channels and the outputs (numbered when the task has none)."""
    from spikefly.evolution.tasks import TaskError, task_for

    try:
        review = task_for(spec.env_id).review
    except TaskError:  # a controller of a task not registered in this process: numbered
        return {}, []
    return review.io_names(spec) if review is not None and review.io_names is not None else ({}, [])


def quadrotor_io_names(spec) -> tuple[dict[int, str], list[str]]:
    """Rays and the state vector by name for a direct encoder (spike encoders: channel numbers); the four actions."""
    from spikefly.envs.quadrotor_settings import QuadrotorSettings
    from spikefly.envs.sim.range_sensor import sensor_rays

    actions = ["forward", "left", "up", "yaw"]
    if spec.network.n_outputs == 2 * spec.n_actions:  # signed pairs: + and - neuron per action
        outputs = [f"{a} {sign}" for a in actions[: spec.n_actions] for sign in ("+", "-")]
    else:
        outputs = actions[: spec.network.n_outputs]
    if getattr(spec.encoder, "kind", "") != "direct":
        return {}, outputs
    try:
        settings = QuadrotorSettings.from_kwargs(**spec.env_settings)
    except (TypeError, ValueError):
        return {}, outputs
    rays = len(sensor_rays(settings))
    tail = ["goal sin", "goal cos", "goal dist", "goal height", "v fwd", "v left", "v up", "roll", "pitch", "altitude"]
    names = {i: f"ray {i}" for i in range(rays)}
    names.update({rays + i: name for i, name in enumerate(tail)})
    return names, outputs


def listening_io_names(spec) -> tuple[dict[int, str], list[str]]:
    """Mel channels are numbered; an output per target class."""
    return {}, [f"class {i + 1}" for i in range(spec.network.n_outputs)]


def plot_trajectories(spec: ControllerSpec, worlds: list[str], seeds: list[int], path: Path) -> tuple[Path, list[dict[str, Any]]]:
    """The champion's PyBullet flights from above (one panel per world and seed): obstacles, path, outcome."""
    plt = pyplot()
    from matplotlib.patches import Circle, Polygon, Rectangle
    from spikefly.evolution.review.record import record_flight
    from spikefly.worlds import SHAPE_BOX

    flights = [(world, seed, record_flight(spec, world, seed)) for world in worlds for seed in seeds]
    columns = len(seeds)
    figure, axes = plt.subplots(len(worlds), columns, figsize=(5.2 * columns, 2.6 * len(worlds)), layout="constrained", squeeze=False)
    colours = {"goal": "tab:green", "collision": "tab:red", "out_of_bounds": "tab:orange", "timeout": "goldenrod"}
    summary = []
    for index, (world, seed, flight) in enumerate(flights):
        axis = axes[index // columns][index % columns]
        low, high = flight.bounds_min, flight.bounds_max
        axis.add_patch(Rectangle((low[0], low[1]), high[0] - low[0], high[1] - low[1], fill=False, edgecolor="grey"))
        for shape, centre, half, yaw in zip(flight.obstacle_shape, flight.obstacle_position_m, flight.obstacle_half_extents_m,
                                            flight.obstacle_yaw_rad):
            if shape == SHAPE_BOX:
                c, s = math.cos(yaw), math.sin(yaw)
                corners = [(centre[0] + c * dx - s * dy, centre[1] + s * dx + c * dy)
                           for dx, dy in ((-half[0], -half[1]), (half[0], -half[1]), (half[0], half[1]), (-half[0], half[1]))]
                axis.add_patch(Polygon(corners, closed=True, color="0.45"))
            else:
                axis.add_patch(Circle((centre[0], centre[1]), half[0], color="saddlebrown" if half[2] > half[0] else "0.45"))
        axis.add_patch(Circle(tuple(flight.goal_position[:2]), flight.goal_radius_m, color="tab:green", alpha=0.35))
        axis.plot(flight.position_m[:, 0], flight.position_m[:, 1], color=colours.get(flight.outcome, "k"), linewidth=1.8)
        axis.plot(*flight.position_m[0, :2], marker="o", color="k", markersize=4)
        axis.set_aspect("equal")
        axis.set_xlim(low[0], high[0])
        axis.set_ylim(low[1], high[1])
        axis.set_title(f"{Path(world).stem}, seed {seed}: {flight.outcome} in {flight.time_s[-1]:.1f} s", fontsize=9)
        axis.tick_params(labelsize=7)
        summary.append({"world": str(world), "seed": seed, "outcome": flight.outcome, "time_s": round(float(flight.time_s[-1]), 2),
                        "return": round(flight.total_return, 3)})
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path, summary


def plot_detections(spec: ControllerSpec, worlds: list[str], seed: int, path: Path) -> tuple[Path, list[dict[str, Any]]]:
    """The champion's detections on one clip of each soundscape: features, event windows, triggers."""
    plt = pyplot()
    from spikefly.evolution.review.record import record_listening

    clips = [(world, record_listening(spec, world, seed, with_audio=False)) for world in worlds]
    figure, axes = plt.subplots(len(clips), 1, figsize=(11, 2.0 * len(clips)), layout="constrained", squeeze=False)
    summary = []
    for axis, (world, clip) in zip(axes[:, 0], clips):
        duration = clip.steps * clip.frame_s
        axis.imshow(clip.features.T, aspect="auto", origin="lower", cmap="magma", vmin=-1, vmax=6, extent=(0, duration, 0, clip.features.shape[1]))
        targets = set(clip.classes.tolist())
        for onset, offset, label in zip(clip.event_onset_s, clip.event_offset_s, clip.event_label):
            axis.axvspan(onset, offset, color="lime" if label in targets else "white", alpha=0.25)
        previous = np.concatenate([[0], clip.detections[:-1]])
        for frame in np.flatnonzero((clip.detections != 0) & (clip.detections != previous)):
            axis.axvline(frame * clip.frame_s, color="red", linewidth=1.2)
        counts = clip.counts
        axis.set_title(f"{Path(world).stem}, seed {seed}: {counts.get('hits', 0)} hits, {counts.get('misses', 0)} misses, "
                       f"{counts.get('false_alarms', 0)} false alarms (green: target events, white: distractors, red: detections)",
                       fontsize=9)
        axis.set(ylabel="mel band", xlabel="s")
        summary.append({"world": str(world), "seed": seed, **counts})
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path, summary


def flights_section(spec: ControllerSpec, worlds: list[str], n: int, folder: Path) -> tuple[str, Path, str, list[dict[str, Any]]]:
    """The report's section of the champion's flights: ``n`` seeds per world from above (``folder``/trajectories.png)."""
    path, table = plot_trajectories(spec, worlds, list(range(n)), folder / "trajectories.png")
    return ("Champion flights from above", path,
            f"The champion flown in PyBullet on each world with episode seeds 0..{n - 1} (layouts no run trained or selected "
            "on); green path: reached the goal, red: collision, orange: out of bounds, yellow: timeout.", table)


def detections_section(spec: ControllerSpec, worlds: list[str], n: int, folder: Path) -> tuple[str, Path, str, list[dict[str, Any]]]:
    """The report's section of the champion's detections: one clip (seed 0) per soundscape (``folder``/detections.png)."""
    path, table = plot_detections(spec, worlds, 0, folder / "detections.png")
    return "Champion on unseen clips", path, "One clip (seed 0, never trained on) of each soundscape.", table
