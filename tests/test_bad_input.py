"""Bad keypoint CSVs and images give a DataError naming the file and the problem."""
from __future__ import annotations

import pytest

from cvdata.errors import DataError
from cvdata.images import read_image
from cvdata.keypoints_table import read_keypoints_csv

HEADER = "," + ",".join(str(i) for i in range(136)) + "\n"


def _row(name: str, values) -> str:
    return name + "," + ",".join(str(v) for v in values) + "\n"


def _expect(path, reader, *words):
    with pytest.raises(DataError) as info:
        reader(path)
    message = str(info.value)
    assert path.name in message
    for word in words:
        assert word in message, message
    assert "\n" not in message


def test_good_csv_loads(tmp_path):
    csv = tmp_path / "ok.csv"
    csv.write_text(HEADER + _row("a.jpg", range(136)))
    names, kps = read_keypoints_csv(csv)
    assert names == ["a.jpg"] and kps.shape == (1, 68, 2) and kps[0, 1, 0] == 2


def test_missing_csv(tmp_path):
    _expect(tmp_path / "nope.csv", read_keypoints_csv, "not found")


def test_empty_csv(tmp_path):
    (tmp_path / "empty.csv").write_text("")
    _expect(tmp_path / "empty.csv", read_keypoints_csv, "empty")


def test_header_only(tmp_path):
    (tmp_path / "h.csv").write_text(HEADER)
    _expect(tmp_path / "h.csv", read_keypoints_csv, "no rows")


def test_wrong_column_count(tmp_path):
    csv = tmp_path / "short.csv"
    csv.write_text("," + ",".join(str(i) for i in range(100)) + "\n" + _row("a.jpg", range(100)))
    _expect(csv, read_keypoints_csv, "137 columns", "found 101")


def test_non_numeric_value(tmp_path):
    csv = tmp_path / "text.csv"
    values = list(range(136))
    values[7] = "seven"
    csv.write_text(HEADER + _row("a.jpg", range(136)) + _row("b.jpg", values))
    _expect(csv, read_keypoints_csv, "non-numeric", "'seven'", "row 3")


def test_nan_keypoints(tmp_path):
    csv = tmp_path / "nan.csv"
    values = list(range(136))
    values[10] = ""
    csv.write_text(HEADER + _row("a.jpg", values))
    _expect(csv, read_keypoints_csv, "NaN", "line 2")


def test_missing_image(tmp_path):
    _expect(tmp_path / "gone.jpg", read_image, "not found")


def test_corrupt_image(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 definitely not a jpeg")
    _expect(bad, read_image, "not a readable image")


def test_empty_image_file(tmp_path):
    bad = tmp_path / "zero.png"
    bad.write_bytes(b"")
    _expect(bad, read_image, "not a readable image")


def test_grey_and_rgba_images_become_rgb(tmp_path):
    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / "g.png"), np.full((5, 6), 77, np.uint8))
    cv2.imwrite(str(tmp_path / "a.png"), np.zeros((5, 6, 4), np.uint8))
    assert read_image(tmp_path / "g.png").shape == (5, 6, 3)
    assert read_image(tmp_path / "a.png").shape == (5, 6, 3)
