"""One registry (``autograder.projects.PROJECTS``): everything reads it, and a third project is one entry.

The toy project below lives in a temp folder: a solutions folder with one student file (a tiny ``Net``
whose answer is "2 x the input's mean", stubbed in its lesson) and a checks module of one check. It
borrows the facial keypoints probe module (``net_outputs`` builds ``models.Net()`` and runs it), because
probes run in the sandboxed child, which sees only the installed ``autograder`` package.
"""
from __future__ import annotations

import sys
import textwrap

import pytest

from autograder.grader import grade_submission
from autograder.lessons import generate_lessons
from autograder.projects import PROJECTS, SOLUTIONS_ENV, Registration, get_project, project_names
from autograder.report import check_id, validate_results
from cvdata.cli import KINDS

TOY_NET = '''\
"""The toy project's network."""
import torch


class Net(torch.nn.Module):
    """(N, 1, H, W) -> (N, 136): every output is twice the image's mean."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        return 2 * x.mean(dim=(1, 2, 3))[:, None].expand(-1, 136)
        ### END SOLUTION
'''

TOY_CHECKS = '''\
"""The toy project's checks."""
from autograder.checks import Check, Fail, Scored, describe_error


def prepare(ctx):
    pass


def _score(ctx, value):
    outputs = value["outputs"]
    if "error" in outputs[0]:
        raise Fail(describe_error(outputs[0]["error"]))
    if tuple(outputs[0]["value"]["shape"]) != (2, 136):
        raise Fail("Expected: (2, 136)")
    return Scored(1.0, "Net: (N, 136).")


CHECKS = [Check("toy-net", "Toy Net: output shape", 7, "net_outputs", lambda ctx: {"batch_sizes": [2]}, _score,
                needs=("models.py",))]
'''


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """Register the toy project (one entry) with its solutions folder in ``tmp_path``; returns that folder."""
    solutions = tmp_path / "solutions"
    (solutions / "toy").mkdir(parents=True)
    (solutions / "toy" / "models.py").write_text(TOY_NET)
    (tmp_path / "toy_checks.py").write_text(textwrap.dedent(TOY_CHECKS))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(SOLUTIONS_ENV, str(solutions))
    monkeypatch.setitem(PROJECTS, "toy", Registration("Toy", (), (), data="faces", checks="toy_checks",
                                                      probes="autograder.probes.facial_keypoints"))
    yield solutions
    sys.modules.pop("toy_checks", None)


def test_a_third_project_is_one_registry_entry_plus_its_files(toy, tmp_path):
    assert "toy" in project_names() and get_project("toy").student_files == ("models.py",)
    generate_lessons(toy, tmp_path / "lessons", names=["toy"])
    reference = grade_submission("toy", toy / "toy", tmp_path / "reference.json")
    lesson = grade_submission("toy", tmp_path / "lessons" / "toy", tmp_path / "lesson.json")
    for report in (reference, lesson):
        assert validate_results(report.as_json()) == []
    assert [check_id(t) for t in reference.as_json()["tests"]] == ["toy-net"]
    assert reference.score == 7 and lesson.score == 0
    assert "not implemented yet" in lesson.results[0].output


def test_every_registration_names_real_data_and_trains_by_steps():
    for name, registration in PROJECTS.items():
        assert registration.data in KINDS, name
        assert registration.title and registration.artefacts and registration.training, name
        assert get_project(name).checks_module == f"autograder.checks.{name}"


USES_CHECKS = '''\
"""Checks whose failures hang together: "toy-value" uses "toy-shape"."""
from autograder.checks import Check, Fail, Scored


def prepare(ctx):
    pass


def _wrong_shape(ctx, value):
    raise Fail("Expected: (2, 135)")


def _wrong_value(ctx, value):
    raise Fail("Expected: other numbers\\nHint: train longer")


def _args(ctx):
    return {"batch_sizes": [2]}


CHECKS = [Check("toy-shape", "Toy shape", 1, "net_outputs", _args, _wrong_shape),
          Check("toy-value", "Toy value", 1, "net_outputs", _args, _wrong_value, uses=("toy-shape",)),
          Check("toy-alone", "Toy alone", 1, "net_outputs", _args, _wrong_value)]
'''


def test_a_failing_check_names_the_earlier_failure_it_uses_first(toy, tmp_path, monkeypatch):
    from autograder.errors import GraderError
    from autograder.grader import project_checks

    (tmp_path / "toy_uses.py").write_text(USES_CHECKS)
    monkeypatch.setitem(PROJECTS, "toy", Registration("Toy", (), (), data="faces", checks="toy_uses",
                                                      probes="autograder.probes.facial_keypoints"))
    report = grade_submission("toy", toy / "toy", tmp_path / "results.json")
    shape, value, alone = (r.output for r in report.results)
    assert value.startswith('Probably caused by an earlier failure: "Toy shape" failed above'), value
    assert value.endswith("Hint: train longer"), "the check's own feedback follows"
    assert "earlier failure" not in shape + alone, "only a check that uses the failed one says so"

    (tmp_path / "toy_later.py").write_text(USES_CHECKS.replace('uses=("toy-shape",)', 'uses=("toy-alone",)'))
    monkeypatch.setitem(PROJECTS, "toy", Registration("Toy", (), (), data="faces", checks="toy_later",
                                                      probes="autograder.probes.facial_keypoints"))
    with pytest.raises(GraderError, match="toy-value uses toy-alone"):
        project_checks("toy")
    sys.modules.pop("toy_uses", None)
    sys.modules.pop("toy_later", None)
