"""Grading the image captioning project: the reference gets full marks, the lessons zero for every stub."""
from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path

import pytest
from grading import by_id, copy_solution, grade, grade_lessons, plant, train_copy

from autograder.checks import Context
from autograder.checks import image_captioning as ic_checks
from autograder.checks import image_captioning_attention as attention_checks
from autograder.checks.image_captioning import CHECKS, prepare
from autograder.checks.image_captioning_attention import CHECKS as ATTENTION_CHECKS
from autograder.heldout_seed import PUBLIC_SEED
from autograder.paths import LESSONS_DIR
from autograder.projects import get_project
from autograder.sandbox import make_sandbox, remove_sandbox
from cvdata.caption_metrics import caption_tokens
from cvdata.coco_captions import load_coco_captions

PROJECT = "image_captioning"


@pytest.fixture(scope="module")
def trained_reference(tmp_path_factory, data_root_full):
    return train_copy(PROJECT, copy_solution(PROJECT, tmp_path_factory.mktemp("ic_ref")), data_root_full)


def test_the_reference_gets_full_marks(trained_reference, tmp_path):
    data = grade(PROJECT, trained_reference, tmp_path / "results.json")
    failed = {t["name"]: t["output"] for t in data["tests"] if t["status"] != "passed"}
    assert not failed, failed
    assert data["score"] == data["max_score"] == sum(c.points for c in CHECKS)


def test_the_lessons_get_zero_for_every_stub(tmp_path):
    tests = grade_lessons(PROJECT, tmp_path / "results.json", "models/encoder.pt", "models/attention/encoder.pt")
    assert "not implemented yet: frequent_words" in tests[CHECKS[0].id]["output"]
    assert "not implemented yet: EncoderCNN.__init__" in tests[CHECKS[3].id]["output"]
    assert "not implemented yet: caption_loss" in tests["caption-loss"]["output"]
    attention, decoder = (tests[check.id]["output"] for check in ATTENTION_CHECKS[:2])
    assert "not implemented yet: Attention.forward" in attention
    assert "not implemented yet: DecoderWithAttention.step" in decoder
    assert "not implemented yet" in tests[ATTENTION_CHECKS[2].id]["output"]


def _graded_with(trained_reference: Path, tmp_path: Path, name: str, line: str, mistake: str, only=None) -> dict:
    """The trained reference with one planted mistake (``plant``), graded (``only``: just these checks): its tests
    by id."""
    folder = Path(shutil.copytree(trained_reference, tmp_path / "submission"))
    plant(folder, name, line, mistake)
    return by_id(grade(PROJECT, folder, tmp_path / "results.json", only=only))


def test_uniform_attention_fails_the_spatial_check_only(trained_reference, tmp_path):
    tests = _graded_with(trained_reference, tmp_path, "attention.py",
                         "alpha = F.softmax(scores, dim=1)  # (N, P)",
                         "alpha = torch.full_like(scores, 1.0 / scores.shape[1])  # (N, P): looks nowhere",
                         only={check.id for check in ATTENTION_CHECKS})
    spatial = tests["attention-spatial"]
    assert spatial["score"] == 0 and "uniform attention" in spatial["output"], spatial["output"]
    for check in ATTENTION_CHECKS[:2]:  # still a distribution over the cells, the right shapes
        assert tests[check.id]["status"] == "passed", tests[check.id]["output"]


def test_a_caption_loss_that_counts_the_padding_is_caught(trained_reference, tmp_path):
    """Only the caption-loss check runs the student's ``training.py``; the checks that use it (the saved models'
    quality) still pass and are not blamed: the models were trained before the mistake."""
    users = {check.id for check in [*CHECKS, *ATTENTION_CHECKS] if "caption-loss" in check.uses}
    assert users == {"caption-quality", "attention-quality"}, users
    assert [check.id for check in CHECKS if "training.py" in check.needs] == ["caption-loss"]
    tests = _graded_with(trained_reference, tmp_path, "training.py",
                         "    if lengths is None:\n        return losses.mean()\n",
                         "    if True:  # lengths ignored: the padding counts too\n        return losses.mean()\n",
                         only={"caption-loss", *users})
    loss = tests["caption-loss"]
    assert loss["score"] < loss["max_score"] and loss["status"] == "failed", loss
    assert "the 16 padding positions left out" in loss["output"] and "lengths ignored" in loss["output"], loss["output"]
    assert "Hint: " in loss["output"]
    blamed = {name: test["output"] for name, test in tests.items() if name != "caption-loss" and
              (test["status"] != "passed" or "caption_loss" in test["output"])}
    assert not blamed, blamed


def test_a_beam_search_that_ignores_k_is_caught(trained_reference, tmp_path):
    tests = _graded_with(trained_reference, tmp_path, "model.py",
                         "top_scores, top = totals.topk(min(beam_size, totals.numel()))",
                         "top_scores, top = totals.topk(1)  # one beam, whatever beam_size says",
                         only={"beam-search", "beam-search-uses-k"})
    assert tests["beam-search"]["status"] == "passed", tests["beam-search"]["output"]  # k=1 is still greedy
    uses_k = tests["beam-search-uses-k"]
    assert uses_k["score"] == 0 and "is more probable than greedy's on 0," in uses_k["output"], uses_k["output"]


def test_a_decoder_that_ignores_the_image_is_caught(tmp_path):
    folder = copy_solution(PROJECT, tmp_path / "submission")
    plant(folder, "model.py", "inputs = torch.cat([features.unsqueeze(1), words], dim=1)",
          "inputs = torch.cat([torch.zeros_like(features).unsqueeze(1), words], dim=1)")
    tests = by_id(grade(PROJECT, folder, tmp_path / "results.json", only={"training", "uses-image"}))
    assert tests["training"]["status"] == "passed"
    uses_image = tests["uses-image"]
    assert uses_image["score"] == 0 and "shuffled pairs" in uses_image["output"]


def test_reference_captions_never_reach_the_sandbox():
    box = make_sandbox(get_project(PROJECT), LESSONS_DIR / PROJECT)
    try:
        ctx = Context(get_project(PROJECT), box, seed=12345)
        prepare(ctx)
        heldout = box.root / ctx.inputs["heldout"]
        assert sorted(p.name for p in heldout.iterdir()) == ctx.answers["heldout_names"]
        jsons = sorted(p.relative_to(box.root).as_posix() for p in box.root.rglob("*.json"))
        assert jsons == ["grader_inputs/shapes/annotations/captions_train.json",
                         "grader_inputs/shapes/generation.json"], jsons
        visible = " ".join((box.root / name).read_text() for name in jsons)
        assert not any(name in visible for name in ctx.answers["heldout_names"])
    finally:
        remove_sandbox(box)


def _scored_as_captions(ctx, captions: list[str]):
    """``_score_quality`` of a model that would caption the held-out images with ``captions``."""
    words = ["<start>", "<end>", "<unk>"] + sorted({w for c in captions for w in c.split()})
    ids = [[words.index(w) for w in c.split()] + [1] for c in captions]
    return ic_checks._score_quality(ctx, {"words": words, "ids": ids})


def test_quality_bars_sit_between_the_baseline_and_the_reference():
    box = make_sandbox(get_project(PROJECT), LESSONS_DIR / PROJECT)
    try:
        ctx = Context(get_project(PROJECT), box, seed=PUBLIC_SEED)
        prepare(ctx)
        n = len(ctx.answers["heldout_names"])
        visible = load_coco_captions(box.root / ctx.inputs["annotations"])
        frequent = Counter(" ".join(caption_tokens(a["caption"])) for a in visible.anns.values()).most_common(1)[0][0]
        baseline = _scored_as_captions(ctx, [frequent] * n)
        assert baseline.fraction == 0, (frequent, baseline.output)  # the most frequent caption earns nothing
        human = _scored_as_captions(ctx, [" ".join(refs[0]) for refs in ctx.answers["references"]])
        assert human.fraction == 1, human.output  # a careful human's captions earn full marks
    finally:
        remove_sandbox(box)
    figures = ic_checks.REFERENCE_FIGURES
    for metric, table in (("bleu4", ic_checks.BLEU_CREDIT), ("semantic_accuracy", ic_checks.SEMANTIC_CREDIT)):
        lowest = min(figures[metric])
        assert table[0][0] <= lowest - 0.02, f"full marks for {metric} must sit below every recorded reference run"
        assert table[-1][0] > ic_checks.BASELINE_FIGURES[metric] + 0.05, f"no credit near the {metric} baseline"
    attention = attention_checks.ATTENTION_FIGURES
    for metric, table in (("bleu4", attention_checks.ATTENTION_BLEU_CREDIT),
                          ("semantic_accuracy", attention_checks.ATTENTION_SEMANTIC_CREDIT),
                          ("spatial_mass", attention_checks.SPATIAL_CREDIT)):
        assert table[0][0] <= min(attention[metric]) - 0.02, f"attention: full marks for {metric} below the reference"
    assert attention_checks.SPATIAL_CREDIT[-1][0] > 0.21 + 0.05, "no credit near uniform attention (0.21)"
