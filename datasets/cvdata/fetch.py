"""Download and unpack the real data sets: Udacity's facial keypoints and MS COCO 2014.

Nothing here runs at import. Archives go to ``<root>/downloads/`` and are
downloaded to ``<name>.part`` first, so an interrupted fetch resumes where it
stopped (HTTP ``Range``). Each extraction leaves a marker file, so re-running a
fetch that completed is a no-op. Every failure is a :class:`FetchError` whose
message is one line, meant to be printed as is::

    fetch_udacity_faces()                    # -> datasets/real/facial_keypoints
    fetch_coco(parts=("annotations", "val")) # -> datasets/real/coco

``base_url`` points either function at a mirror that serves the same archive
file names (the tests use a loopback server).
"""
from __future__ import annotations

import http.client
import re
import shutil
import urllib.error
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from tqdm import tqdm

from .errors import FetchError
from .paths import REAL_DIR, coco_dir, faces_dir

DOWNLOADS_SUBDIR = "downloads"
"""Sub-folder of the data root where archives are kept (and resumed)."""

OFFLINE_HINT = ("Real data needs internet; the bundled synthetic data works offline "
                "(make grade).")


@dataclass(frozen=True)
class Source:
    """One archive: where it comes from and where it unpacks to."""

    name: str               # archive file name, e.g. "val2014.zip"
    url: str
    size: str               # approximate download size, for people
    subdir: str = ""        # extract into <data folder>/<subdir>
    strip_single_top: bool = False  # drop a lone top-level folder inside the zip

    def url_from(self, base_url: str | None) -> str:
        """The URL to fetch: ``url``, or ``<base_url>/<name>`` for a mirror."""
        return self.url if base_url is None else f"{base_url.rstrip('/')}/{self.name}"


UDACITY_FACES = Source(
    "train-test-data.zip",
    "https://s3.amazonaws.com/video.udacity-data.com/topher/2018/May/"
    "5aea1b91_train-test-data/train-test-data.zip",
    "323 MB", strip_single_top=True)
"""3,462 training and 2,308 test images (only 770 test images are labelled).

The zip holds ``training_frames_keypoints.csv``, ``test_frames_keypoints.csv``,
``training/`` and ``test/`` at its top level (Udacity's notebooks unzip it into
``/data`` and read ``/data/training_frames_keypoints.csv``); a single wrapping
folder, should a mirror add one, is stripped.
"""

_COCO = "http://images.cocodataset.org"
COCO_SOURCES: dict[str, Source] = {
    # Each COCO zip carries its own top folder: annotations/, train2014/, ...
    "annotations": Source("annotations_trainval2014.zip",
                          f"{_COCO}/annotations/annotations_trainval2014.zip", "241 MB"),
    "train": Source("train2014.zip", f"{_COCO}/zips/train2014.zip", "13 GB", "images"),
    "val": Source("val2014.zip", f"{_COCO}/zips/val2014.zip", "6 GB", "images"),
    "test_info": Source("image_info_test2014.zip",
                        f"{_COCO}/annotations/image_info_test2014.zip", "1 MB"),
    "test": Source("test2014.zip", f"{_COCO}/zips/test2014.zip", "6 GB", "images"),
}
"""COCO 2014 parts; ``test`` (the unlabelled test images) is optional."""

COCO_DEFAULT_PARTS = ("annotations", "train", "val", "test_info")
FACES_FILES = ("training_frames_keypoints.csv", "test_frames_keypoints.csv",
               "training", "test")


def _one_line(reason: object) -> str:
    return " ".join(str(reason).split()) or type(reason).__name__


def _open(url: str, start: int, timeout: float) -> http.client.HTTPResponse:
    """Send the GET (with ``Range`` when resuming); map failures to FetchError."""
    headers = {"User-Agent": "cvdata-fetch"}
    if start:
        headers["Range"] = f"bytes={start}-"
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers),
                                      timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416:  # range not satisfiable: let the caller decide
            return err  # type: ignore[return-value]
        raise FetchError(f"HTTP {err.code} {_one_line(err.reason)} for {url}") from err
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        reason = getattr(err, "reason", err)
        host = urlsplit(url).hostname or url
        raise FetchError(f"cannot reach {host} (offline?): {_one_line(reason)}. "
                         f"{OFFLINE_HINT}") from err


def _content_range(resp: http.client.HTTPResponse) -> tuple[int | None, int | None]:
    """``(a, N)`` from ``Content-Range: bytes a-b/N`` (``bytes */N`` gives ``(None, N)``)."""
    match = re.fullmatch(r"\s*bytes\s+(?:(\d+)-\d+|\*)/(\d+|\*)\s*",
                         resp.headers.get("Content-Range", ""))
    if not match:
        return None, None
    first, total = match.groups()
    return (int(first) if first else None), (int(total) if total != "*" else None)


def download(url: str, dest: Path, *, timeout: float = 30, chunk_size: int = 1 << 20,
             progress: bool = True) -> Path:
    """Download ``url`` to ``dest``, resuming a previous ``dest.part``; return ``dest``.

    Skips when ``dest`` exists. Resumes with ``Range: bytes=N-``: a 206 reply is
    appended, a 200 (server ignored the range) restarts from 0, a 416 means the
    ``.part`` is already complete. The final size is checked against the length
    the server announced. On failure the ``.part`` is kept for the next call.
    """
    dest = Path(dest)
    if dest.exists():
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_suffix(dest.suffix + ".part")
    start = part.stat().st_size if part.exists() else 0

    resp = _open(url, start, timeout)
    first, total = _content_range(resp)
    if resp.status == 416 or (resp.status == 206 and first != start):
        resp.close()
        if resp.status == 416 and total in (None, start):
            part.replace(dest)  # the .part already holds the whole file
            return dest
        part.unlink()  # .part does not match the server's file: start over
        return download(url, dest, timeout=timeout, chunk_size=chunk_size, progress=progress)

    length = resp.headers.get("Content-Length")
    if resp.status == 206:
        total = total or (start + int(length) if length else None)
        mode = "ab"
    else:  # 200: a fresh download, or a server that ignores Range
        start, mode = 0, "wb"
        total = int(length) if length else None

    bar = tqdm(total=total, initial=start, unit="B", unit_scale=True, unit_divisor=1024,
               desc=dest.name, disable=not progress)
    try:
        with resp, bar, open(part, mode) as out:
            while chunk := resp.read(chunk_size):
                out.write(chunk)
                bar.update(len(chunk))
    except (OSError, http.client.HTTPException) as err:
        raise FetchError(f"download of {url} interrupted ({_one_line(err)}); partial file "
                         f"kept at {part}: run the same command again to resume") from err
    got = part.stat().st_size
    if total is not None and got != total:
        raise FetchError(f"download of {url} stopped at {got} of {total} bytes; partial file "
                         f"kept at {part}: run the same command again to resume")
    part.replace(dest)
    return dest


def _marker(dest_dir: Path, zip_path: Path) -> Path:
    return Path(dest_dir) / f".extracted-{Path(zip_path).name}"


def _members(zf: zipfile.ZipFile,
             strip_single_top: bool) -> list[tuple[zipfile.ZipInfo, PurePosixPath]]:
    """Members to extract with their relative paths (``__MACOSX/`` dropped)."""
    infos = [i for i in zf.infolist() if "__MACOSX" not in PurePosixPath(i.filename).parts]
    paths = [PurePosixPath(i.filename) for i in infos]
    tops = {p.parts[0] for p in paths if p.parts}
    if strip_single_top and len(tops) == 1 and all(len(p.parts) > 1 or i.is_dir()
                                                   for i, p in zip(infos, paths)):
        paths = [PurePosixPath(*p.parts[1:]) for p in paths]
    return [(i, p) for i, p in zip(infos, paths) if p.parts]


def extract(zip_path: Path, dest_dir: Path, *, strip_single_top: bool = True,
            progress: bool = True) -> Path:
    """Unpack ``zip_path`` into ``dest_dir`` (returned); a no-op once it succeeded.

    Skips ``__MACOSX/``; with ``strip_single_top``, a zip whose members all sit in
    one top folder is unpacked without it. Members that would land outside
    ``dest_dir`` (``../x``, absolute paths) and corrupt archives raise FetchError.
    """
    zip_path, dest_dir = Path(zip_path), Path(dest_dir)
    marker = _marker(dest_dir, zip_path)
    if marker.exists():
        return dest_dir
    dest_dir.mkdir(parents=True, exist_ok=True)
    root = dest_dir.resolve()
    try:
        with zipfile.ZipFile(zip_path) as zf:
            for info in zf.infolist():  # check every member before writing any
                name = PurePosixPath(info.filename.replace("\\", "/"))
                if (name.is_absolute() or ".." in name.parts
                        or not (root / name).resolve().is_relative_to(root)):
                    raise FetchError(f"{zip_path}: member {info.filename!r} would extract "
                                     f"outside {dest_dir}; refusing this archive")
            members = _members(zf, strip_single_top)
            for info, rel in tqdm(members, desc=f"unzip {zip_path.name}", unit="file",
                                  disable=not progress):
                target = root / rel
                if info.is_dir():
                    target.mkdir(parents=True, exist_ok=True)
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError) as err:
        raise FetchError(f"{zip_path}: corrupt or incomplete zip ({_one_line(err)}); "
                         f"delete it and fetch again") from err
    marker.touch()
    return dest_dir


def _fetch(source: Source, data_dir: Path, root: Path, *, base_url: str | None,
           keep_archives: bool, progress: bool) -> None:
    """Download (resumably) and extract one archive into ``data_dir/source.subdir``."""
    dest_dir = data_dir / source.subdir
    archive = root / DOWNLOADS_SUBDIR / source.name
    if _marker(dest_dir, archive).exists():
        return
    if progress:
        print(f"fetching {source.name} (~{source.size}) into {dest_dir}")
    download(source.url_from(base_url), archive, progress=progress)
    extract(archive, dest_dir, strip_single_top=source.strip_single_top, progress=progress)
    if not keep_archives:
        archive.unlink()


def fetch_udacity_faces(root: Path = REAL_DIR, *, base_url: str | None = None,
                        keep_archives: bool = True, progress: bool = True) -> Path:
    """Fetch Udacity's facial keypoints into ``<root>/facial_keypoints`` (returned).

    Same layout as the synthetic generator writes: ``training_frames_keypoints.csv``,
    ``test_frames_keypoints.csv``, ``training/``, ``test/``.
    """
    root = Path(root)
    out = faces_dir(root)
    _fetch(UDACITY_FACES, out, root, base_url=base_url, keep_archives=keep_archives,
           progress=progress)
    missing = [name for name in FACES_FILES if not (out / name).exists()]
    if missing:
        raise FetchError(f"{out}: unexpected archive layout, missing {', '.join(missing)}; "
                         f"delete {_marker(out, Path(UDACITY_FACES.name))} to unpack again")
    print(f"Udacity facial keypoints are in {out}\n"
          f"  use them with --root {root}, or in Python: FacialKeypointsDataset("
          f"'{out / 'training_frames_keypoints.csv'}', '{out / 'training'}')")
    return out


def fetch_coco(root: Path = REAL_DIR, parts: str | tuple[str, ...] | list[str] = COCO_DEFAULT_PARTS,
               *, base_url: str | None = None, keep_archives: bool = True,
               progress: bool = True) -> Path:
    """Fetch the chosen parts of MS COCO 2014 into ``<root>/coco`` (returned).

    ``parts`` from :data:`COCO_SOURCES`: ``annotations`` -> ``annotations/captions_*2014.json``
    etc., ``train``/``val``/``test`` -> ``images/<split>2014/``, ``test_info`` ->
    ``annotations/image_info_test2014.json``. A string is split at commas.
    """
    if isinstance(parts, str):
        parts = [p.strip() for p in parts.split(",") if p.strip()]
    unknown = [p for p in parts if p not in COCO_SOURCES]
    if unknown:
        raise FetchError(f"unknown COCO part(s) {', '.join(unknown)}; "
                         f"choose from {', '.join(COCO_SOURCES)}")
    root = Path(root)
    out = coco_dir(root)
    for part in parts:
        _fetch(COCO_SOURCES[part], out, root, base_url=base_url,
               keep_archives=keep_archives, progress=progress)
    print(f"MS COCO 2014 ({', '.join(parts)}) is in {out}: annotations/ and images/<split>2014/\n"
          f"  use it with --root {root}")
    return out


def imagenet_weights() -> tuple[str, Path]:
    """``(url, local file)`` of torchvision's ResNet-50 ImageNet weights (``IMAGENET1K_V1``), where
    torchvision itself looks for them (``$TORCH_HOME/hub/checkpoints``)."""
    import torch
    import torchvision

    url = torchvision.models.ResNet50_Weights.IMAGENET1K_V1.url
    return url, Path(torch.hub.get_dir()) / "checkpoints" / PurePosixPath(urlsplit(url).path).name


def fetch_imagenet_weights(*, base_url: str | None = None, progress: bool = True) -> Path:
    """Download the ResNet-50 ImageNet weights once (98 MB, resumable); returns the file.

    Afterwards ``EncoderCNN(pretrained=True)`` (weights "auto") uses them instead of
    the course's shapes-world backbone.
    """
    url, dest = imagenet_weights()
    if base_url is not None:
        url = f"{base_url.rstrip('/')}/{dest.name}"
    download(url, dest, progress=progress)  # offline: a one-line FetchError
    print(f"ImageNet ResNet-50 weights are in {dest}: EncoderCNN(pretrained=True) now uses them")
    return dest
