"""Shared fixtures: small generated data sets, made once per test session.

``faces_small`` and ``shapes_small`` are each project's folder; ``data_root_small``
is the root holding both (what ``CVDATA_ROOT`` points notebooks at).
"""
from __future__ import annotations

import pytest

from cvdata.faces import FacesConfig, generate_faces
from cvdata.paths import faces_dir, shapes_dir
from cvdata.shapes_world import ShapesConfig, generate_shapes

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
def faces_small(data_root_small):
    """A small synthetic faces set (Udacity layout); returns its folder."""
    return faces_dir(data_root_small)


@pytest.fixture(scope="session")
def shapes_small(data_root_small):
    """A small shapes-world set (COCO captions layout); returns its folder."""
    return shapes_dir(data_root_small)


@pytest.fixture(scope="session")
def data_root_full(tmp_path_factory):
    """The default synthetic data sets (what ``python -m cvdata ensure`` makes), in a temp root."""
    root = tmp_path_factory.mktemp("data_full")
    generate_faces(faces_dir(root), FacesConfig(), workers=2, progress=False)
    generate_shapes(shapes_dir(root), ShapesConfig(), workers=2)
    return root
