"""load_coco_captions: valid COCO captions files load; bad ones raise DataError naming file and problem."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cvdata.coco_captions import load_coco_captions
from cvdata.errors import DataError


def _valid() -> dict[str, Any]:
    """A minimal file shaped like MS COCO 2014's captions_train2014.json (no ``objects``)."""
    return {
        "info": {"description": "tiny"},
        "licenses": [],
        "images": [
            {"id": 9, "file_name": "COCO_train2014_000000000009.jpg", "width": 640, "height": 480},
            {"id": 25, "file_name": "COCO_train2014_000000000025.jpg", "width": 640, "height": 426},
        ],
        "annotations": [
            {"id": 1, "image_id": 9, "caption": "A plate of food."},
            {"id": 2, "image_id": 9, "caption": "Broccoli and bread on a dish."},
            {"id": 3, "image_id": 25, "caption": "A giraffe eating leaves."},
        ],
    }


def _write(tmp_path: Path, data: Any, name: str = "captions_bad.json") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_valid_file_loads_quietly(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    coco = load_coco_captions(_write(tmp_path, _valid(), "captions_train2014.json"))
    assert sorted(coco.imgs) == [9, 25]
    assert [a["caption"] for a in coco.imgToAnns[9]] == ["A plate of food.", "Broccoli and bread on a dish."]
    assert len(coco.getAnnIds(imgIds=[25])) == 1
    assert capsys.readouterr().out == ""


def _break(change) -> dict[str, Any]:
    data = _valid()
    change(data)
    return data


@pytest.mark.parametrize(
    "content, problem",
    [
        ('{"images": [', "invalid JSON"),
        ("[1, 2]", "JSON object"),
        (_break(lambda d: d.pop("annotations")), "no 'annotations' key"),
        (_break(lambda d: d.update(annotations=[])), "'annotations' is empty"),
        (_break(lambda d: d["annotations"][1].pop("caption")), "no 'caption' string"),
        (_break(lambda d: d["annotations"][2].update(caption=None)), "no 'caption' string"),
        (_break(lambda d: d["annotations"][0].update(image_id=77)), "image_id 77, which is not in 'images'"),
        (_break(lambda d: d.pop("images")), "no 'images' key"),
        (_break(lambda d: d.update(images=[])), "'images' is empty"),
    ],
)
def test_bad_file_names_file_and_problem(tmp_path: Path, content: Any, problem: str) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(DataError) as err:
        load_coco_captions(path)
    assert str(path) in str(err.value) and problem in str(err.value)
    assert err.value.path == path


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "captions_val2014.json"
    with pytest.raises(DataError, match="captions_val2014.json: file not found"):
        load_coco_captions(path)
