"""generation.json marks a complete data set and tells stale data from current."""
from __future__ import annotations

from cvdata.faces import FacesConfig, generate_faces
from cvdata.meta import is_current, read_meta
from cvdata.shapes_world import ShapesConfig, generate_shapes


def test_faces_marker(tmp_path):
    cfg = FacesConfig(n_train=3, n_test=2)
    assert not is_current(tmp_path, cfg)
    summary = generate_faces(tmp_path, cfg, workers=1, progress=False)
    assert summary["counts"] == {"training": 3, "test": 2} and summary["images_per_second"] > 0
    assert is_current(tmp_path, cfg) and read_meta(tmp_path)["config"]["n_train"] == 3
    assert not is_current(tmp_path, FacesConfig(n_train=4, n_test=2))
    generate_faces(tmp_path, FacesConfig(n_train=2, n_test=1), workers=1, progress=False)
    assert len(list((tmp_path / "training").iterdir())) == 2  # stale images removed


def test_shapes_marker_with_tuple_fields(tmp_path):
    cfg = ShapesConfig(n_train=3, n_val=1, n_test=1, n_novel=1)
    generate_shapes(tmp_path, cfg, workers=1)
    assert is_current(tmp_path, cfg)  # tuples in the config survive the JSON round trip
    assert not is_current(tmp_path, ShapesConfig())
