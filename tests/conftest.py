"""Shared fixtures: small generated data sets, made once per test session.

``faces_small`` and ``shapes_small`` are each project's folder; ``data_root_small``
is the root holding both (what ``CVDATA_ROOT`` points notebooks at), and
``backbone_root_small`` the same root once a tiny shapes backbone is cached in it.
"""
from __future__ import annotations

import os

import pytest

from cvdata.faces import FacesConfig, generate_faces
from cvdata.meta import is_current
from cvdata.paths import GENERATED_DIR, faces_dir, shapes_dir
from cvdata.shapes_backbone import BackboneConfig, ensure_backbone
from cvdata.shapes_backbone import is_current as backbone_is_current
from cvdata.shapes_world import ShapesConfig, generate_shapes

SLOWEST_FIRST = ("test_autograder_image_captioning.py", "test_autograder_facial_keypoints.py",
                 "test_autograder_integrity.py", "test_ic_notebooks.py", "test_autograder_attacks.py",
                 "test_autograder_cli.py", "test_fk_notebooks.py", "test_selfcheck.py", "test_ic_training.py",
                 "test_gradescope_bundle.py", "test_ic_ddp.py")
"""The test files that take longest (``--durations``, 2026-12-06: the two that train a reference model take minutes,
the others 10 to 90 s), longest first. Under ``pytest -n auto --dist loadfile`` (``make test``) each file runs on one
worker, handed out in this order: the two reference files start at once on separate workers, and the many short
files come last, where they fill the gap between workers instead of leaving one idle behind a long file."""


def pytest_configure(config):
    """Under pytest-xdist each worker -- its torch, and every process it starts (notebook kernels, training
    scripts) -- gets its share of the cores (``grading.THREADS``), so parallel workers do not oversubscribe them."""
    if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
        import torch
        from grading import THREADS

        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = str(THREADS)
        torch.set_num_threads(THREADS)


def pytest_collection_modifyitems(items):
    """Put the ``SLOWEST_FIRST`` files first, in that order; the rest keep theirs."""
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: the order within a file stays


SMALL_FACES = FacesConfig(n_train=40, n_test=12)
SMALL_SHAPES = ShapesConfig(n_train=160, n_val=40, n_test=40, n_novel=40)


@pytest.fixture(scope="session")
def data_root_small(tmp_path_factory):
    """A root with small faces and shapes sets, laid out like ``datasets/generated/``."""
    root = tmp_path_factory.mktemp("data")
    generate_faces(faces_dir(root), SMALL_FACES, workers=2, progress=False)
    generate_shapes(shapes_dir(root), SMALL_SHAPES, workers=2)
    return root


@pytest.fixture(scope="session")
def backbone_root_small(data_root_small):
    """``data_root_small`` with a tiny pretrained shapes backbone cached in it (``BackboneConfig.quick()``,
    what the notebooks' quick mode asks for): the root to point ``CVDATA_ROOT`` at."""
    ensure_backbone(data_root_small, BackboneConfig.quick(), progress=False)
    return data_root_small


@pytest.fixture(scope="session")
def faces_small(data_root_small):
    """A small synthetic faces set (Udacity layout); returns its folder."""
    return faces_dir(data_root_small)


@pytest.fixture(scope="session")
def shapes_small(data_root_small):
    """A small shapes-world set (COCO captions layout); returns its folder."""
    return shapes_dir(data_root_small)


def _holds_the_defaults(root) -> bool:
    """True when ``root`` holds the default data sets and the default shapes backbone made from them."""
    return (is_current(faces_dir(root), FacesConfig()) and is_current(shapes_dir(root), ShapesConfig())
            and backbone_is_current(root, BackboneConfig()))


@pytest.fixture(scope="session")
def data_root_full(tmp_path_factory):
    """The default synthetic data sets and shapes backbone (what ``python -m cvdata ensure`` makes).

    ``datasets/generated/`` when it holds exactly those (``make test`` runs ``cvdata ensure`` first,
    so the tests share the data and the 3-minute backbone with ``make grade``); otherwise, e.g. after
    a custom ``cvdata generate``, they are made in a temp root. The tests only read this root.
    """
    if _holds_the_defaults(GENERATED_DIR):
        return GENERATED_DIR
    root = tmp_path_factory.mktemp("data_full")
    generate_faces(faces_dir(root), FacesConfig(), workers=2, progress=False)
    generate_shapes(shapes_dir(root), ShapesConfig(), workers=2)
    ensure_backbone(root, BackboneConfig(), progress=False)
    return root
