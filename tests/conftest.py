"""Shared fixtures: small generated data sets, made once per test session."""
from __future__ import annotations

import pytest

from cvdata.faces import FacesConfig, generate_faces

SMALL_FACES = FacesConfig(n_train=40, n_test=12)


@pytest.fixture(scope="session")
def faces_small(tmp_path_factory):
    """A small synthetic faces set (Udacity layout); returns its folder."""
    folder = tmp_path_factory.mktemp("faces")
    generate_faces(folder, SMALL_FACES, workers=2, progress=False)
    return folder
