"""``spikefly report RUN_DIR``: plots (PNG, matplotlib) and one self-contained HTML page for a run.

Reads what ``spikefly evolve`` writes (settings.json, log.jsonl, champion.json, population.json)
and draws: fitness terms per generation (best, mean, spread), species over time, the best
network's size and synaptic ops, success on the validation seeds, the reward-versus-energy
front of the latest generation, the champion's topology, and the champion's flights over the
run's worlds seen from above (flown in PyBullet with test seeds 0, 1, ...; audio: its
detections on a clip of each soundscape). Videos found in the run directory (or rendered with
``--videos``) are embedded. The PNGs are written next to ``report.html``, and the page embeds
them as data URIs, so the single HTML file works on its own.

A run that is still going or was interrupted reports fine: a half-written last log line is
skipped, a missing final line means "not finished".
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spikefly.core import SpikeflyError
from spikefly.core.outputs import check_output_folder
from spikefly.evolution.review.plots import (
    pyplot,
    plot_fitness,
    plot_front,
    plot_species_and_size,
    plot_topology,
    plot_validation,
)
from spikefly.evolution.tasks import Task, task_for

SETTINGS_FILE, LOG_FILE, CHAMPION_FILE, POPULATION_FILE = "settings.json", "log.jsonl", "champion.json", "population.json"


class ReportError(SpikeflyError):
    """A run directory that cannot be reported on: the message names the file and the fix."""


@dataclass
class RunData:
    """What a run directory holds, read leniently where a live or killed run may leave it unfinished."""

    run_dir: Path
    settings: dict[str, Any]
    generations: list[dict[str, Any]]
    final: dict[str, Any] | None
    """The ``final_champion`` line, or None while the run goes on (or when it was killed)."""
    population: dict[str, Any] | None
    champion_path: Path | None
    notes: list[str] = field(default_factory=list)

    @property
    def task(self) -> Task:
        """The run's task (a ReportError when this process has no such task registered)."""
        from spikefly.evolution.tasks import TaskError

        try:
            return task_for(self.settings.get("env_id"))
        except TaskError as error:
            raise ReportError(f"{self.run_dir / SETTINGS_FILE}: {error}") from None

    def series(self, *keys: str) -> np.ndarray:
        """A float per logged generation (NaN where missing), following nested ``keys``."""
        values = []
        for line in self.generations:
            value: Any = line
            for key in keys:
                value = value.get(key) if isinstance(value, dict) else None
            values.append(float(value) if isinstance(value, (int, float)) else math.nan)
        return np.array(values)


def read_run(run_dir: str | os.PathLike[str]) -> RunData:
    """Read a run directory; a missing or corrupt one raises :class:`ReportError`."""
    run_dir = Path(run_dir)
    fix = "pass the --out directory of a spikefly evolve run"
    if not run_dir.exists():
        raise ReportError(f"{run_dir}: no such directory. Fix: {fix}")
    if not run_dir.is_dir():
        raise ReportError(f"{run_dir}: not a directory. Fix: {fix}")
    settings_path = run_dir / SETTINGS_FILE
    if not settings_path.is_file():
        islands = sorted(run_dir.glob("island-*/" + SETTINGS_FILE))
        if islands:
            fix = f"report one island at a time, e.g. spikefly report {islands[0].parent}"
        raise ReportError(f"{run_dir}: no {SETTINGS_FILE}, so not a spikefly run directory. Fix: {fix}")
    try:
        settings = json.loads(settings_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ReportError(f"{settings_path}: not valid JSON ({error}). Fix: restore it from the run's checkpoint or start the run again") from error
    if not isinstance(settings, dict) or "worlds" not in settings:
        raise ReportError(f"{settings_path}: not a spikefly settings file (no 'worlds'). Fix: {fix}")
    log_path = run_dir / LOG_FILE
    if not log_path.is_file():
        raise ReportError(f"{log_path}: missing; the run has not finished a generation yet. Fix: wait for the first generation")
    generations, final, notes = _read_log(log_path)
    if not generations:
        raise ReportError(f"{log_path}: no generation logged yet. Fix: wait for the first generation to finish")
    population = None
    population_path = run_dir / POPULATION_FILE
    if population_path.is_file():
        try:
            population = json.loads(population_path.read_text())
        except (OSError, json.JSONDecodeError):
            notes.append(f"{POPULATION_FILE} could not be read (being rewritten?); the front is left out")
    champion = run_dir / CHAMPION_FILE
    return RunData(run_dir, settings, generations, final, population, champion if champion.is_file() else None, notes)


def _read_log(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any] | None, list[str]]:
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise ReportError(f"{path}: cannot read it ({error}). Fix: check the file") from error
    generations, final, notes = [], None, []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
        except json.JSONDecodeError as error:
            if number == len(lines):  # a line being written, or cut by a kill
                notes.append(f"the last line of {LOG_FILE} is incomplete (a running or killed run); it is skipped")
                break
            raise ReportError(f"{path}: line {number} is not JSON ({error.msg}). Fix: delete that line, or resume the run "
                              "with spikefly evolve --resume, which rewrites the log from its checkpoint") from error
        if isinstance(line, dict) and "final_champion" in line:
            final = line["final_champion"]
        elif isinstance(line, dict) and isinstance(line.get("generation"), int):
            generations.append(line)
        else:
            raise ReportError(f"{path}: line {number} is not a generation record. Fix: pass the log of a spikefly evolve run")
    return generations, final, notes


# -- the page ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReportResult:
    html: Path
    images: list[Path]
    videos: list[Path]
    notes: list[str]


def build_report(run_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str] | None = None, flights: int = 2,
                 videos: bool = False, progress: bool = False) -> ReportResult:
    """Write the PNGs and ``report.html`` into ``out_dir`` (default RUN_DIR/report)."""
    run = read_run(run_dir)
    try:
        pyplot()
    except ImportError as error:
        raise ReportError(str(error)) from error
    out = check_output_folder(Path(out_dir) if out_dir is not None else run.run_dir / "report")
    out.mkdir(parents=True, exist_ok=True)
    sections: list[tuple[str, Path, str]] = []
    notes = list(run.notes)
    sections.append(("Fitness terms per generation", plot_fitness(run, out / "fitness.png"),
                     ("Total fitness of the best genome, the population mean and its spread (± one standard deviation), "
                      "and each fitness term of the best genome and the population mean.")))
    sections.append(("Species, size and synaptic ops", plot_species_and_size(run, out / "species_size.png"),
                     ("Species alive each generation; neurons, synapses and synaptic ops per control step of each "
                      "generation's best genome (and its energy per step on the run's board).")))
    sections.append(("Validation", plot_validation(run, out / "validation.png"),
                     "The best of the top candidates on the validation seeds (never trained on) at each validation."))
    front = plot_front(run, out / "front.png")
    if front:
        sections.append(("Reward versus energy", front, ("Every genome of the latest generation: its mean return against "
                         "what its network costs per control step; the red line joins the genomes no other beats on both.")))
    else:
        notes.append(f"no {POPULATION_FILE} in the run directory (runs of spikefly before it was written): the reward-versus-"
                     "energy front is left out; resume the run for one more generation to get it")
    table: list[dict[str, Any]] = []
    video_paths: list[Path] = []
    spec = None
    if run.champion_path is not None:
        from spikefly.controllers import ControllerFileError, load

        try:
            spec = load(run.champion_path)
        except ControllerFileError as error:
            notes.append(f"champion not drawn: {error}")
    if spec is not None:
        sections.append(("Champion topology", plot_topology(spec, out / "topology.png"),
                         f"The champion (generation {spec.generation}) as a graph: inputs left, hidden neurons by depth, outputs right."))
        worlds = [str(w) for w in run.settings.get("worlds", [])]
        review = run.task.review
        if flights > 0 and review is not None:
            title, path, caption, table = review.plot_episodes(spec, worlds, flights, out)
            sections.append((title, path, caption))
        if videos:
            video_paths.append(_render_champion_video(spec, run, worlds[0] if worlds else None, out, progress))
    else:
        notes.append("no champion yet (it is saved at the first validation): topology and flights are left out")
    video_paths += sorted({p.resolve() for folder in {run.run_dir, out} for pattern in ("*.mp4", "*.gif") for p in folder.glob(pattern)}
                          - {p.resolve() for p in video_paths})
    page = _html(run, sections, table, video_paths, notes, sections[-1][0] if table else None)
    html_path = out / "report.html"
    temporary = out / ".report.html.tmp"
    temporary.write_text(page)
    os.replace(temporary, html_path)
    return ReportResult(html_path, [path for _, path, _ in sections], video_paths, notes)


def _render_champion_video(spec, run: RunData, world: str | None, out: Path, progress: bool) -> Path:
    from spikefly.envs.render.draw import render_recording

    review = run.task.review
    if review is None:
        raise ReportError(f"--videos: the {run.task.name} task records no episodes. Fix: leave out --videos")
    if world is None:
        from spikefly.evolution.settings import EvolveSettings

        world = EvolveSettings.of_task(run.task.env_id).worlds[0]
    return render_recording(review.record(spec, world, 0), out / f"champion-{Path(world).stem}-seed0.mp4", progress=progress).path


def _data_uri(path: Path, kind: str) -> str:
    return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def _status(run: RunData) -> str:
    last = run.generations[-1]
    planned = run.settings.get("generations")
    if run.final is not None:
        return f"finished after {last['generation'] + 1} generations"
    return (f"not finished: {last['generation'] + 1} of {planned} generations logged (still running, or interrupted: "
            "resume with spikefly evolve --resume)")


def _html(run: RunData, sections, table: list[dict[str, Any]], videos: list[Path], notes: list[str],
          table_title: str | None = None) -> str:
    e = html.escape
    last = run.generations[-1]
    facts = [
        ("run directory", str(run.run_dir)), ("task", run.settings.get("env_id", "?")),
        ("worlds", ", ".join(str(w) for w in run.settings.get("worlds", []))), ("status", _status(run)),
        ("population", run.settings.get("population")), ("board", run.settings.get("board")),
        ("wall-clock", f"{last.get('time_s', math.nan):.0f} s"),
        ("best fitness (last generation)", f"{last.get('best_fitness', math.nan):.3f}"),
    ]
    if run.final is not None:
        facts += [(f"final champion: {key.replace('_', ' ')}", value) for key, value in run.final.items()]
    parts = [
        ("<!doctype html><html><head><meta charset='utf-8'><title>spikefly run report</title><style>"
         "body{font-family:system-ui,sans-serif;max-width:1150px;margin:2em auto;color:#222}"
         "img{max-width:100%;border:1px solid #ddd}table{border-collapse:collapse}td,th{padding:2px 10px;text-align:left}"
         "tr:nth-child(even){background:#f4f4f4}.note{color:#8a5a00}video{max-width:100%}</style></head><body>"),
        f"<h1>spikefly run report: {e(run.run_dir.name)}</h1><table>",
        *[f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>" for k, v in facts],
        "</table>",
        *[f"<p class='note'>{e(note)}</p>" for note in notes],
    ]
    for title, path, caption in sections:
        parts.append(f"<h2>{e(title)}</h2><p>{e(caption)}</p><img src='{_data_uri(path, 'image/png')}' alt='{e(title)}'>")
        if title == table_title and table:
            keys = list(table[0])
            parts.append("<table><tr>" + "".join(f"<th>{e(k)}</th>" for k in keys) + "</tr>")
            parts += ["<tr>" + "".join(f"<td>{e(str(row.get(k, '')))}</td>" for k in keys) + "</tr>" for row in table]
            parts.append("</table>")
    if videos:
        parts.append("<h2>Videos</h2>")
        for path in videos:
            kind = "image/gif" if path.suffix.lower() == ".gif" else "video/mp4"
            uri = _data_uri(path, kind)
            body = f"<img src='{uri}'>" if kind == "image/gif" else f"<video controls src='{uri}'></video>"
            parts.append(f"<h3>{e(path.name)}</h3>{body}")
    parts.append("</body></html>")
    return "\n".join(parts)


# -- command line --------------------------------------------------------------------------------
MAX_FLIGHTS = 20
"""The most champion flights per world the top-down picture draws."""


def add_report_parser(commands) -> None:
    from spikefly.evolution.cli.args import bounded_int

    report = commands.add_parser(
        "report",
        help="plots and one self-contained HTML page for a run directory (running, interrupted or finished)",
        description="Draw a run: fitness terms per generation, species, the best genome's size and synaptic ops, "
        "validation success, the reward-versus-energy front of the latest generation, the champion's topology and its "
        "flights from above (flown in PyBullet on the run's worlds with seeds 0, 1, ...). Writes PNGs and report.html "
        "(images embedded, so the file works alone). Needs pip install \"spikefly[render]\".",
    )
    report.add_argument("run_dir", metavar="RUN_DIR", help="the --out directory of spikefly evolve")
    report.add_argument("--out", metavar="DIR", help="where to write the report (default: RUN_DIR/report)")
    report.add_argument("--flights", type=bounded_int(0, MAX_FLIGHTS), default=2, metavar="N",
                        help="champion flights per world for the top-down plot (default: 2; 0 leaves them out)")
    report.add_argument("--videos", action="store_true", help="also render the champion's review video on the first world (seed 0)")
    report.add_argument("--json", action="store_true", help="print the written files as JSON")
    report.set_defaults(run=run_report)


def run_report(args: argparse.Namespace) -> int:
    if args.flights < 0:
        raise ReportError(f"--flights {args.flights}: give 0 or more")
    result = build_report(args.run_dir, args.out, flights=args.flights, videos=args.videos, progress=not args.json)
    if args.json:
        print(json.dumps({"html": str(result.html), "images": [str(p) for p in result.images],
                          "videos": [str(p) for p in result.videos], "notes": result.notes}, indent=2))
        return 0
    for note in result.notes:
        print(f"note: {note}")
    print(f"wrote {result.html} ({len(result.images)} plots{f', {len(result.videos)} video(s)' if result.videos else ''}; "
          f"PNGs beside it)")
    return 0


__all__ = ["ReportError", "RunData", "add_report_parser", "build_report", "read_run", "run_report"]
