"""The grader's report: Gradescope's results.json schema, and the validator catching what breaks it."""
from __future__ import annotations

import json

from autograder.report import CheckResult, Report, check_id, validate_results, write_json


def _report() -> Report:
    return Report("facial_keypoints", [
        CheckResult("dataset", "Dataset", 10, score=10, output="ok"),
        CheckResult("accuracy", "Accuracy", 15, score=7.5, output="Expected: ...", visibility="after_published",
                    extras={"nme": 0.12}, media={"faces": ["not saved"]}),
    ], output="summary", execution_time=3.25)


def test_a_report_is_valid_gradescope_json(tmp_path):
    path = write_json(tmp_path / "out" / "results.json", _report().as_json())
    data = json.loads(path.read_text())
    assert validate_results(data) == []
    assert data["score"] == 17.5 and data["max_score"] == 25 and data["execution_time"] == 3.25
    assert [t["status"] for t in data["tests"]] == ["passed", "failed"]
    assert set(data["tests"][0]) == {"name", "score", "max_score", "status", "output", "visibility", "extra_data"}
    assert [check_id(t) for t in data["tests"]] == ["dataset", "accuracy"]
    assert data["extras"]["accuracy"]["nme"] == 0.12
    assert "faces" not in json.dumps(data), "media stays out of results.json"


def test_the_validator_finds_each_kind_of_problem():
    data = _report().as_json()
    data["tests"][0]["status"] = "ok"
    data["tests"][1]["visibility"] = "students"
    data["tests"][1]["score"] = 99
    data["execution_time"] = "slow"
    problems = "\n".join(validate_results(data))
    for fragment in ("tests[0].status", "tests[1].visibility", "outside [0, 15]", "execution_time", "not the sum"):
        assert fragment in problems
    data["tests"][0]["extra_data"] = {"id": 3}
    assert "tests[0].extra_data: expected an object with a string id" in validate_results(data)
    data["extra_data"] = ["isolation"]
    assert "extra_data: expected an object" in validate_results(data)
    assert validate_results([]) == ["top level: expected an object, got list"]
    assert validate_results({"score": 0, "max_score": 0, "execution_time": 0}) == ["tests: expected a list"]
