"""The world file format: DESIGN.md's example loads as written, and every mistake is a
WorldError naming the file, the key and the fix."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest
from spikefly.worlds import (
    Box,
    Cylinder,
    ForestGenerator,
    Sphere,
    WorldError,
    load_world,
    loads_world,
)

DATA = Path(__file__).parent / "data"
EMPTY = (Path(load_world("empty").source)).read_text(encoding="utf-8")
SPHERE_AT_START = '\n[[obstacles]]\nshape = "sphere"\nposition = [0.0, 0.0, 1.2]\nradius = 0.5\n'
BOX_NEAR_START = '\n[[obstacles]]\nshape = "box"\nposition = [0.5, 0.0, 1.0]\nsize = [0.9, 1.0, 1.0]\n'


def test_design_example_loads_with_each_shape_parsed() -> None:
    course = load_world(DATA / "pillars_demo.toml")
    assert course.name == "pillars-demo"
    assert course.time_limit_s == 20.0
    assert course.bounds_min == (-2.0, -6.0, 0.0)
    assert course.bounds_max == (26.0, 6.0, 4.0)
    assert course.start_position == (0.0, 0.0, 1.0)
    assert course.start_yaw == 0.0
    assert course.goal_position == (24.0, 0.0, 1.0)
    assert course.goal_radius == 0.5
    assert course.obstacles == (
        Box(position=(6.0, 1.5, 2.0), size=(0.4, 3.0, 4.0), yaw=0.3),
        Cylinder(position=(10.0, -1.0, 2.0), radius=0.2, height=4.0),
        Sphere(position=(14.0, 0.5, 1.2), radius=0.4),
    )
    (forest,) = course.generators
    assert forest == ForestGenerator(
        region_min=(-1.5, -5.5), region_max=(25.5, 5.5), height=4.0, density_per_m2=0.1
    )
    assert course.is_procedural


def test_integers_are_accepted_where_numbers_are_expected() -> None:
    course = loads_world(
        EMPTY.replace("time_limit_s = 20.0", "time_limit_s = 20").replace(
            "position = [0.0, 0.0, 1.0]", "position = [0, 0, 1]"
        )
    )
    assert course.time_limit_s == 20.0 and isinstance(course.time_limit_s, float)
    assert all(isinstance(value, float) for value in course.start_position)


def test_optional_yaws_default_to_zero() -> None:
    course = loads_world(EMPTY.replace("yaw = 0.0\n", "") + BOX_NEAR_START.replace("0.5, 0.0", "5.0, 0.0"))
    assert course.start_yaw == 0.0
    assert course.obstacles[0].yaw == 0.0


# (case id, text edit applied to the empty world, expected key, words the problem must contain)
ERROR_CASES = [
    (
        "unknown key",
        lambda t: t.replace("time_limit_s", "time_limt_s"),
        "time_limt_s",
        "did you mean 'time_limit_s'",
    ),
    (
        "unknown nested key",
        lambda t: t.replace("radius = 0.5", "radius = 0.5\nradios = 1"),
        "goal.radios",
        "did you mean 'radius'",
    ),
    ("missing key", lambda t: t.replace("radius = 0.5", ""), "goal.radius", "missing required key"),
    (
        "misspelt shape",
        lambda t: t + '\n[[obstacles]]\nshap = "box"\n',
        "obstacles[0].shap",
        "did you mean 'shape'",
    ),
    ("missing table", lambda t: t.replace("[start]", "[starts]"), "starts", "did you mean 'start'"),
    (
        "wrong type",
        lambda t: t.replace("time_limit_s = 20.0", 'time_limit_s = "20"'),
        "time_limit_s",
        "expected a number",
    ),
    ("bool as number", lambda t: t.replace("yaw = 0.0", "yaw = true"), "start.yaw", "boolean"),
    (
        "vector length",
        lambda t: t.replace("min = [-2.0, -6.0, 0.0]", "min = [-2.0, -6.0]"),
        "bounds.min",
        "expected 3 numbers, got 2",
    ),
    ("nan", lambda t: t.replace("radius = 0.5", "radius = nan"), "goal.radius", "finite"),
    (
        "infinity in vector",
        lambda t: t.replace("max = [26.0, 6.0, 4.0]", "max = [inf, 6.0, 4.0]"),
        "bounds.max[0]",
        "finite",
    ),
    (
        "non-positive size",
        lambda t: t + BOX_NEAR_START.replace("[0.9, 1.0, 1.0]", "[0.9, 0.0, 1.0]"),
        "obstacles[0].size[1]",
        "positive",
    ),
    (
        "non-positive time",
        lambda t: t.replace("time_limit_s = 20.0", "time_limit_s = 0"),
        "time_limit_s",
        "positive",
    ),
    ("empty name", lambda t: t.replace('name = "empty"', 'name = ""'), "name", "non-empty"),
    ("start inside obstacle", lambda t: t + SPHERE_AT_START, "start.position", "inside obstacles[0]"),
    ("start too close", lambda t: t + BOX_NEAR_START, "start.position", "only 0.05 m from obstacles[0]"),
    (
        "goal outside bounds",
        lambda t: t.replace("[24.0, 0.0, 1.0]", "[30.0, 0.0, 1.0]"),
        "goal.position",
        "outside the bounds",
    ),
    (
        "start outside bounds",
        lambda t: t.replace("[0.0, 0.0, 1.0]", "[0.0, 0.0, 4.5]"),
        "start.position",
        "outside the bounds",
    ),
    (
        "goal inside obstacle",
        lambda t: t + SPHERE_AT_START.replace("[0.0, 0.0, 1.2]", "[24.0, 0.0, 1.0]"),
        "goal.position",
        "inside obstacles[0]",
    ),
    (
        "bounds inverted",
        lambda t: t.replace("max = [26.0, 6.0, 4.0]", "max = [26.0, 6.0, 0.0]"),
        "bounds.max",
        "not above",
    ),
    (
        "unknown shape",
        lambda t: t + '\n[[obstacles]]\nshape = "cube"\n',
        "obstacles[0].shape",
        "unknown value 'cube'",
    ),
    (
        "key of another shape",
        lambda t: t + BOX_NEAR_START.replace("size =", "radius = 0.3\nsize ="),
        "obstacles[0].radius",
        "unknown key 'radius' in a box",
    ),
    ("single table for array", lambda t: t + '\n[obstacles]\nshape = "box"\n', "obstacles", "[[obstacles]]"),
    (
        "bad generator key",
        lambda t: t + '\n[[generators]]\nkind = "forest"\ndensity = 0.1\n',
        "generators[0].density",
        "did you mean 'density_per_m2'",
    ),
    (
        "bad generator value",
        lambda t: t + '\n[[generators]]\nkind = "forest"\nmin_gap_m = -1\n',
        "generators[0].min_gap_m",
        ">= 0",
    ),
    (
        "unknown generator kind",
        lambda t: t + '\n[[generators]]\nkind = "forrest"\n',
        "generators[0].kind",
        'did you mean "forest"',
    ),
    (
        "generator does not fit",
        lambda t: t + '\n[[generators]]\nkind = "windows"\ncount = 30\n',
        "generators[0].count",
        "do not fit",
    ),
    (
        "syntax error",
        lambda t: t.replace("time_limit_s = 20.0", "time_limit_s = 20,0"),
        "line 4 (time_limit_s)",
        "TOML syntax error",
    ),
    (
        "soundscape",
        lambda t: t.replace('"obstacle_course"', '"soundscape"'),
        "kind",
        "this is a soundscape: it is heard by the audio environment",
    ),
    (
        "unknown kind",
        lambda t: t.replace('"obstacle_course"', '"obstacle-course"'),
        "kind",
        'did you mean "obstacle_course"',
    ),
]


@pytest.mark.parametrize(
    ("edit", "key", "words"), [case[1:] for case in ERROR_CASES], ids=[c[0] for c in ERROR_CASES]
)
def test_mistakes_name_the_file_the_key_and_the_fix(tmp_path: Path, edit, key: str, words: str) -> None:
    path = tmp_path / "broken_world.toml"
    path.write_text(edit(EMPTY), encoding="utf-8")
    with pytest.raises(WorldError) as caught:
        load_world(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: {key}: "), message
    assert words in message
    assert "Fix: " in message and caught.value.fix
    assert caught.value.path == str(path)
    assert caught.value.key == key
    assert message.count("\n") <= 3


def test_text_errors_name_the_string_source() -> None:
    with pytest.raises(WorldError, match=r"^<string>: goal.radius: missing required key. Fix: add"):
        loads_world(EMPTY.replace("radius = 0.5", ""))
    with pytest.raises(WorldError, match=r"^course-42: time_limit_s: "):
        loads_world(EMPTY.replace("20.0", "-1.0"), source="course-42")


def test_unknown_bundled_name_lists_the_bundled_worlds() -> None:
    with pytest.raises(WorldError) as caught:
        load_world("forst")
    message = str(caught.value)
    assert message.startswith("forst: no bundled world named 'forst'; did you mean 'forest'?")
    assert "Fix: " in message
    for name in ("corridor", "empty", "forest", "slalom", "windows"):
        assert name in caught.value.fix


def test_missing_file_is_a_world_error(tmp_path: Path) -> None:
    with pytest.raises(WorldError, match=r"nowhere\.toml: no such file\. Fix: check the path"):
        load_world(tmp_path / "nowhere.toml")


def test_a_bundled_file_name_without_its_folder_points_to_the_name() -> None:
    with pytest.raises(WorldError, match=r"^forest\.toml: no such file\. Fix: .*load_world\('forest'\)"):
        load_world("forest.toml")


def test_world_error_is_a_value_error_and_survives_pickling() -> None:
    with pytest.raises(ValueError) as caught:
        loads_world(EMPTY.replace("radius = 0.5", "radius = -0.5"), source="w.toml")
    copy = pickle.loads(pickle.dumps(caught.value))
    assert isinstance(copy, WorldError)
    assert (str(copy), copy.path, copy.key) == (str(caught.value), "w.toml", "goal.radius")


def test_relative_paths_resolve_against_the_world_file_folder(tmp_path: Path) -> None:
    from spikefly.worlds.table_reader import TableReader

    reader = TableReader({"path": "clips/a.wav"}, "w.toml", base_dir=tmp_path)
    assert reader.file_path("path", 'path = "x.wav"', "a file") == tmp_path / "clips" / "a.wav"
