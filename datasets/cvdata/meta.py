"""The ``generation.json`` marker a generator writes last: its config and figures.

Its presence means the data set is complete; its config tells whether the data
on disk is what a command asks for, so stale data is regenerated, not reused.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

META_FILE = "generation.json"


def write_meta(folder: Path, config, summary: dict) -> dict:
    """Write ``{"config": asdict(config), **summary}`` to ``folder/generation.json``; returns it."""
    meta = {"config": asdict(config), **summary}
    (Path(folder) / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return meta


def read_meta(folder: Path) -> dict | None:
    """The marker's content, or None when the data set is missing or incomplete."""
    path = Path(folder) / META_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def clear_meta(folder: Path) -> None:
    """Remove the marker before (re)generating, so a crash leaves no complete-looking set."""
    (Path(folder) / META_FILE).unlink(missing_ok=True)


def is_current(folder: Path, config) -> bool:
    """True when ``folder`` holds a complete data set generated with ``config``."""
    meta = read_meta(folder)
    return meta is not None and meta.get("config") == json.loads(json.dumps(asdict(config)))
