"""Reading Udacity-format keypoint CSVs with clear errors.

Format (real and synthetic alike): a header row, then one row per image: the
image file name, then 136 numbers ``x0, y0, x1, y1, ..., x67, y67`` in pixels.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError

N_COORDS = 136


def read_keypoints_csv(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Load a keypoints CSV. Returns (image names, keypoints of shape (N, 68, 2) float32).

    Raises ``DataError`` naming the file for: a missing or empty file, a row
    count of zero, a column count other than 1 + 136, non-numeric values, and
    missing (NaN) keypoints -- each message says which rows or columns.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(path, "keypoints CSV not found")
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        raise DataError(path, "the CSV is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise DataError(path, f"not a readable CSV ({str(err).splitlines()[0]})") from None
    if frame.shape[1] != 1 + N_COORDS:
        raise DataError(path, "expected 137 columns (image name + 136 coordinates x0,y0,...,x67,y67), "
                              f"found {frame.shape[1]}")
    if len(frame) == 0:
        raise DataError(path, "the CSV has a header but no rows")
    coords = frame.iloc[:, 1:].apply(pd.to_numeric, errors="coerce")
    bad = frame.iloc[:, 1:].notna() & coords.isna()
    if bad.any().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        value = frame.iloc[row, col + 1]
        raise DataError(path, f"non-numeric value {value!r} in row {row + 2}, column {frame.columns[col + 1]!r}")
    missing = coords.isna().any(axis=1)
    if missing.any():
        rows = (np.flatnonzero(missing.to_numpy()) + 2).tolist()
        shown = ", ".join(map(str, rows[:5])) + (" ..." if len(rows) > 5 else "")
        raise DataError(path, f"missing (NaN) keypoints in {len(rows)} row(s): line {shown}")
    names = frame.iloc[:, 0].astype(str).tolist()
    return names, coords.to_numpy(dtype=np.float32).reshape(-1, N_COORDS // 2, 2)
