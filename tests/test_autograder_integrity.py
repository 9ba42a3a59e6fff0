"""Broken and hostile submissions: each gets a correct report and no points it did not earn.

The submissions are copies of the facial keypoints reference (no saved model)
with one file replaced, so the untouched parts still earn their points and the
broken part must earn none. The attacks that probe the child's confinement run
in both isolation modes (``isolation_mode``: the sandbox and the fallback);
``test_autograder_attacks`` has the hostile ones.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from grading import THREADS, by_id, copy_solution, grade
from isolation_modes import fallback_level, isolation_mode, sandbox_level  # noqa: F401 -- fixtures

from autograder.detection import detect
from autograder.isolation import Limits
from autograder.paths import LESSONS_DIR

PROJECT = "facial_keypoints"
DATA_CHECKS = ("dataset", "rescale", "random-crop", "center-crop", "random-rotate", "flip", "color-jitter", "normalize")
MODEL_CHECKS = ("net-shape", "training", "photo-faces", "sunglasses")
"""The checks that import ``models`` (the Haar pipeline and the filters through ``face_pipeline``, which imports
``data_load`` too)."""
FAST = Limits(check_timeout=20, slow_check_timeout=30, submission_timeout=300, threads=THREADS)


def _submission(tmp_path: Path, name: str, source: str) -> Path:
    folder = copy_solution(PROJECT, tmp_path / "submission")
    (folder / name).write_text(source)
    return folder


def _assert_models_broken(data: dict, expected: str) -> dict:
    tests = by_id(data)
    for name in DATA_CHECKS:
        assert tests[name]["status"] == "passed", (name, tests[name]["output"])
    for name in MODEL_CHECKS:
        assert tests[name]["score"] == 0 and expected in tests[name]["output"], (name, tests[name]["output"])
    assert data["score"] == sum(tests[n]["max_score"] for n in DATA_CHECKS)
    return tests


def test_a_syntax_error(tmp_path):
    folder = _submission(tmp_path, "models.py", "import torch\n\nclass Net(torch.nn.Module:\n    pass\n")
    _assert_models_broken(grade(PROJECT, folder, tmp_path / "results.json", limits=FAST),
                          "Your code raised SyntaxError")


def test_exiting_the_process_on_import(tmp_path, isolation_mode):
    """``filters.py`` ends the process as it is imported: the check that imports it (the sunglasses) says so; the
    others pass, the checks after it in a fresh child."""
    folder = _submission(tmp_path, "filters.py", "import os\nos._exit(0)\n")
    tests = by_id(grade(PROJECT, folder, tmp_path / "results.json", limits=FAST))
    ended = tests[MODEL_CHECKS[-1]]
    assert ended["score"] == 0, ended
    assert "the process ended (exit code 0) before returning a result" in ended["output"], ended["output"]
    for name in DATA_CHECKS + MODEL_CHECKS[:-1]:
        assert tests[name]["status"] == "passed", (name, tests[name]["output"])


def test_a_crash_costs_only_the_probes_that_crash(tmp_path):
    """All probes run in one child; one that ends it does not take the later ones with it: they run in a fresh
    child (``data_load`` ends the process, so the network's checks, which do not import it, still pass)."""
    folder = _submission(tmp_path, "data_load.py", "print('leaving now', flush=True)\nimport os\nos._exit(3)\n")
    tests = by_id(grade(PROJECT, folder, tmp_path / "results.json", limits=FAST))
    for name in DATA_CHECKS + MODEL_CHECKS[2:]:  # the Haar pipeline and the filters import data_load too
        assert "the process ended (exit code 3)" in tests[name]["output"], (name, tests[name]["output"])
    for name in MODEL_CHECKS[:2]:
        assert tests[name]["status"] == "passed", (name, tests[name]["output"])
    data = json.loads((tmp_path / "results.json").read_text())
    assert "leaving now" in data["extras"][DATA_CHECKS[0]]["log"]
    assert "leaving now" not in data["extras"][MODEL_CHECKS[0]].get("log", ""), "each probe shows its own output"


def test_an_endless_loop_is_stopped(tmp_path):
    """``filters.py`` never finishes importing: the one check that imports it (the sunglasses) is stopped at its
    timeout, and the checks after it run in a fresh child."""
    folder = _submission(tmp_path, "filters.py", "while True:\n    pass\n")
    endless = Limits(check_timeout=12, submission_timeout=300, threads=THREADS)
    data = grade(PROJECT, folder, tmp_path / "results.json", limits=endless)
    tests = by_id(data)
    looped = tests[MODEL_CHECKS[-1]]
    assert looped["score"] == 0 and "timed out after 12 s" in looped["output"], looped["output"]
    assert "endless loop" in looped["output"]
    for name in DATA_CHECKS + MODEL_CHECKS[:-1]:
        assert tests[name]["status"] == "passed", (name, tests[name]["output"])
    assert data["score"] == data["max_score"] - looped["max_score"] - tests["heldout-nme"]["max_score"] - \
        tests["mirrored-nme"]["max_score"]  # no saved model in the copy: the accuracy checks are not run


def test_a_forged_results_file_is_overwritten(tmp_path, isolation_mode):
    results = tmp_path / "graded" / "results.json"
    forged = {"score": 1000, "max_score": 100, "execution_time": 0, "tests": []}
    source = (
        "import json, os\n"
        f"FORGED = {json.dumps(json.dumps(forged))}\n"
        f"for path in ('results.json', '../results.json', {str(results)!r}):\n"
        "    try:\n"
        "        open(path, 'w').write(FORGED)\n"
        "    except OSError:\n"
        "        pass\n"
        "raise NotImplementedError('not implemented yet: everything')\n"
    )
    folder = shutil.copytree(LESSONS_DIR / PROJECT, tmp_path / "submission")  # every part a stub: 0 points
    (folder / "data_load.py").write_text(source)
    data = grade(PROJECT, folder, results, limits=FAST)
    assert json.loads(results.read_text()) == data
    assert data["score"] == 0 and data["max_score"] == 100
    assert not (folder / "results.json").exists(), "the child never runs in the submission folder"


def test_the_child_gets_no_seed_and_runs_as_the_level_says(tmp_path, monkeypatch, isolation_mode):
    monkeypatch.setenv("AUTOGRADER_SEED", "424242")
    source = ("import os\nprint('uid', os.getuid(), 'seed', os.environ.get('AUTOGRADER_SEED'), "
              "'cwd', os.getcwd(), flush=True)\nraise RuntimeError('look at the log')\n")
    folder = _submission(tmp_path, "models.py", source)
    data = grade(PROJECT, folder, tmp_path / "results.json", limits=FAST, allow_unsandboxed=True)
    assert data["seed_source"] == "instructor" and "424242" not in json.dumps(data)
    assert "RuntimeError: look at the log" in by_id(data)[MODEL_CHECKS[0]]["output"]
    log = data["extras"][MODEL_CHECKS[0]]["log"]
    assert "seed None" in log and "autograder-facial_keypoints-" in log
    confinement = detect()
    expected_uid = 65534 if confinement.level == "bubblewrap" else confinement.uid
    assert f"uid {expected_uid}" in log and data["extra_data"]["isolation"]["level"] == isolation_mode


def test_only_expected_files_are_copied(tmp_path):
    folder = copy_solution(PROJECT, tmp_path / "submission")
    (folder / "conftest.py").write_text("raise SystemExit('never imported')\n")
    (folder / "torch.py").write_text("raise SystemExit('shadowing torch')\n")
    (folder / "training.py").write_text("raise SystemExit('the grader uses its own training.py')\n")
    data = grade(PROJECT, folder, tmp_path / "results.json", limits=FAST)
    tests = by_id(data)
    for name in DATA_CHECKS + MODEL_CHECKS:
        assert tests[name]["status"] == "passed", (name, tests[name]["output"])


@pytest.mark.parametrize("name", ["models.py", "data_load.py"])
def test_a_missing_file_is_named(tmp_path, name):
    folder = copy_solution(PROJECT, tmp_path / "submission")
    (folder / name).unlink()
    data = grade(PROJECT, folder, tmp_path / "results.json", limits=FAST)
    assert f"{name} is missing from the submission" in data["output"] or any(
        f"{name} is missing" in t["output"] for t in data["tests"])
    assert all(t["score"] == 0 for t in data["tests"] if f"{name} is missing" in t["output"])


def test_a_misspelled_probe_is_the_graders_fault_not_the_students(tmp_path, monkeypatch):
    import dataclasses

    import autograder.checks.facial_keypoints as checks
    from autograder.errors import GraderError

    renamed = [dataclasses.replace(checks.CHECKS[0], probe="no_such_probe"), *checks.CHECKS[1:]]
    monkeypatch.setattr(checks, "CHECKS", renamed)
    results = tmp_path / "results.json"
    with pytest.raises(GraderError, match="no_such_probe"):
        grade(PROJECT, copy_solution(PROJECT, tmp_path / "submission"), results, limits=FAST)
    data = json.loads(results.read_text())
    assert data["output"].startswith("The grader failed") and "no_such_probe" in data["output"]
    assert "exit()" not in json.dumps(data)


def test_check_ids_are_short_unique_and_checked_when_the_checks_are_loaded(monkeypatch):
    import dataclasses

    import autograder.checks.facial_keypoints as checks
    from autograder.checks import CHECK_ID
    from autograder.errors import GraderError
    from autograder.grader import project_checks
    from autograder.projects import project_names

    for project in project_names():
        ids = [check.id for check in project_checks(project)[1]]
        assert len(set(ids)) == len(ids) and all(CHECK_ID.fullmatch(i) for i in ids), ids
    reworded = dataclasses.replace(checks.CHECKS[0], name="Dataset, reworded")  # same id, another check
    monkeypatch.setattr(checks, "CHECKS", [*checks.CHECKS, reworded])
    with pytest.raises(GraderError, match="not unique: dataset"):
        project_checks(PROJECT)
