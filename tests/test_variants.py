"""A variant of the held-out data per student: HMAC(secret, student id, project); the public seed stays shared."""
from __future__ import annotations

import json

import numpy as np
import pytest

from autograder.checks import Context
from autograder.checks.facial_keypoints import heldout_set, prepare
from autograder.errors import UsageError
from autograder.heldout_seed import PUBLIC_SEED, Seed
from autograder.paths import LESSONS_DIR
from autograder.projects import get_project
from autograder.sandbox import make_sandbox, remove_sandbox
from autograder.variants import for_student, student_from_metadata, student_id

PROJECT = "facial_keypoints"
SECRET = Seed(2718281828459045, "instructor", "the caller")


def _heldout(seed: Seed) -> tuple[list[np.ndarray], bytes]:
    """The held-out faces the grader renders for ``seed``: its own copies, and the bytes of the first file the
    child would read."""
    box = make_sandbox(get_project(PROJECT), LESSONS_DIR / PROJECT)
    try:
        ctx = Context(get_project(PROJECT), box, seed.value)
        prepare(ctx)
        return ctx.answers["heldout_images"], (box.root / ctx.inputs["heldout"] / "face_000.jpg").read_bytes()
    finally:
        remove_sandbox(box)


def test_two_students_get_different_heldout_images_and_a_regrade_the_same():
    alice, bob = for_student(SECRET, "alice", PROJECT), for_student(SECRET, "bob", PROJECT)
    (alice_images, alice_file), (bob_images, bob_file) = _heldout(alice), _heldout(bob)
    assert alice_file != bob_file and not any(np.array_equal(a, b) for a, b in zip(alice_images, bob_images))
    again = for_student(SECRET, " Alice ", PROJECT)  # a regrade: the same secret and student id ...
    heldout_set.cache_clear()  # ... in another grader process: the faces rendered again
    again_images, again_file = _heldout(again)
    assert again.variant == alice.variant and again_file == alice_file
    assert all(np.array_equal(a, b) for a, b in zip(alice_images, again_images))


def test_variant_ids_name_the_variant_without_revealing_the_seed_or_secret():
    alice = for_student(SECRET, "alice", PROJECT)
    ids = {alice.variant, for_student(SECRET, "bob", PROJECT).variant,
           for_student(SECRET, "alice", "image_captioning").variant,
           for_student(Seed(SECRET.value + 1, "instructor"), "alice", PROJECT).variant}
    assert len(ids) == 4 and all(len(v) == 12 for v in ids), "student, project and secret each change the variant"
    assert alice.value != SECRET.value and alice.value < 2**62 and alice.student == "alice"
    assert str(SECRET.value) not in alice.variant and f"{alice.value:x}" not in alice.variant
    assert int(alice.variant, 16) != alice.value % 2**48


def test_the_public_seed_and_a_missing_student_keep_one_variant_for_all():
    public = Seed(PUBLIC_SEED, "public")
    assert for_student(public, "alice", PROJECT) == public and for_student(SECRET, None, PROJECT) == SECRET
    assert for_student(public, "alice", PROJECT).variant == ""


def test_student_ids_from_gradescope_metadata(tmp_path):
    metadata = tmp_path / "submission_metadata.json"
    metadata.write_text(json.dumps({"id": 123, "users": [{"email": "Zoe@uni.edu", "id": 7, "name": "Zoe"},
                                                         {"email": "adam@uni.edu", "id": 8, "name": "Adam"}]}))
    assert student_from_metadata(metadata) == "adam@uni.edu+zoe@uni.edu", "a group: sorted, lower-cased, joined"
    metadata.write_text(json.dumps({"users": [{"id": 42}]}))
    assert student_from_metadata(metadata) == "42"
    for bad in ("{}", "not json", json.dumps({"users": [{"name": "no id"}]})):
        metadata.write_text(bad)
        with pytest.raises(UsageError, match="submission-metadata"):
            student_from_metadata(metadata)
    with pytest.raises(UsageError, match="printable"):
        student_id("  ")
    with pytest.raises(UsageError, match="printable"):
        student_id("a\nb")
