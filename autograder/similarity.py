"""Code similarity across a class: which pairs of students handed in the same file, with a side-by-side view.

``copydetect`` (the winnowing fingerprints of MOSS, over Pygments tokens in which
every name becomes ``V``, ``F`` or ``O`` and every string ``S``, comments
dropped) compares each student file of a project with the same file of every
other student. The lessons' starter code is its boilerplate: what every
student was given counts for nobody. Renaming variables, functions and classes,
reformatting or rewriting comments leaves a copied file's fingerprints as they
were; two solutions written independently share only short, common runs.

Only the project's student files are read, copied first with the sandbox's
rules (no symbolic links, nothing oversized): a submission cannot make the
report show a file of the grader's machine. ``similarity.html`` is
self-contained (copydetect's own report loads Bootstrap from a CDN).
"""
from __future__ import annotations

import html
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

from autograder.paths import LESSONS_DIR
from autograder.projects import Project
from autograder.sandbox import Sandbox, copy_expected_file

LISTED = 0.3
"""Pairs of files sharing at least this fraction of either file are listed."""
FLAGGED = 0.6
"""Pairs sharing at least this fraction of either file are flagged as likely copies."""
MAX_PAIRS = 25


@dataclass
class Pair:
    """Two students' copies of one file and how much of each the other contains."""

    first: str
    second: str
    file: str
    first_share: float
    """Fraction of ``first``'s file (its tokens) found in ``second``'s."""
    second_share: float
    tokens: int
    """Tokens the two files share."""
    first_code: str = ""
    """``first``'s file as HTML, the shared parts highlighted (copydetect's escaping)."""
    second_code: str = ""

    @property
    def share(self) -> float:
        return max(self.first_share, self.second_share)

    @property
    def flagged(self) -> bool:
        return self.share >= FLAGGED

    def anchor(self) -> str:
        return f"{self.first}--{self.second}--{self.file}".replace("/", "_").replace(" ", "_")


def _gather(project: Project, folders: dict[str, Path], root: Path) -> list[Path]:
    """Copy each student's expected files into ``root/<student>/``; returns the student folders."""
    gathered = []
    for name, folder in folders.items():
        target = root / name
        target.mkdir(parents=True)
        box = Sandbox(target)
        for relative in project.student_files:
            copy_expected_file(Path(folder) / relative, target / relative, relative, box)
        gathered.append(target)
    return gathered


def find_similar(project: Project, folders: dict[str, Path], boilerplate: Path | None = None) -> list[Pair]:
    """The pairs of students' same-named files sharing at least ``LISTED`` of either, most similar first.

    ``folders``: student -> submission folder. ``boilerplate``: the starter code (default
    ``lessons/<project>``, when it exists)."""
    from copydetect import CopyDetector

    boilerplate = boilerplate or LESSONS_DIR / project.name
    with tempfile.TemporaryDirectory(prefix="autograder-similarity-") as temp:
        students = _gather(project, folders, Path(temp) / "students")
        starter = Sandbox(Path(temp) / "starter")
        starter.root.mkdir()
        if boilerplate.is_dir():
            for relative in project.student_files:
                copy_expected_file(boilerplate / relative, starter.root / relative, relative, starter)
        logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))  # "no files found in ..."
        detector = CopyDetector(test_dirs=[str(p) for p in students], ref_dirs=[str(p) for p in students],
                                boilerplate_dirs=[str(starter.root)], extensions=["py"], display_t=LISTED,
                                same_name_only=True, ignore_leaf=True, autoopen=False, silent=True, truncate=True)
        if len(students) < 2 or not detector.test_files:
            return []
        detector.run()
        pairs = []
        for (first_share, second_share, first, second, first_code, second_code,
             tokens) in detector.get_copied_code_list():
            a, b = (Path(p).relative_to(Path(temp) / "students") for p in (first, second))
            if b.parts[0] < a.parts[0]:  # each pair in alphabetical order, whichever copydetect listed first
                a, b = b, a
                first_share, second_share, first_code, second_code = second_share, first_share, second_code, first_code
            pairs.append(Pair(a.parts[0], b.parts[0], Path(*a.parts[1:]).as_posix(), float(first_share),
                              float(second_share), int(tokens), first_code, second_code))
    pairs.sort(key=lambda p: (-p.share, p.first, p.second, p.file))
    return pairs[:MAX_PAIRS]


_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
.pair { border: 1px solid #ddd; border-radius: 6px; margin: 1.2em 0; padding: .5em 1em; }
.pair.flagged { border-left: 6px solid #d33; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 1em; }
pre { background: #f6f6f6; padding: .6em; overflow-x: auto; font-size: 12px; margin: 0; }
.highlight-red { background: #fcc; } .highlight-green { background: #cfc; }
"""


def write_similarity_html(pairs: list[Pair], path: Path, project: str) -> Path:
    """The side-by-side view of every listed pair (shared code highlighted), one self-contained page."""
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(project)}: similar files</title>",
             f"<style>{_STYLE}</style><h1>{html.escape(project)}: similar student files</h1>",
             f"<p>copydetect (winnowing over tokens, names and strings normalised, the starter code ignored). "
             f"Listed from {LISTED:.0%} of either file shared; flagged from {FLAGGED:.0%}. Similarity is a reason to "
             "look, not proof of copying.</p>"]
    if not pairs:
        parts.append("<p>No pair of files reaches the listing threshold.</p>")
    for pair in pairs:
        flag = " flagged" if pair.flagged else ""
        parts.append(f"<div class='pair{flag}' id='{html.escape(pair.anchor())}'><h3>{html.escape(pair.file)}: "
                     f"{html.escape(pair.first)} ({pair.first_share:.0%} shared) and {html.escape(pair.second)} "
                     f"({pair.second_share:.0%} shared), {pair.tokens} tokens in common</h3><div class='sides'>"
                     f"<div><b>{html.escape(pair.first)}</b><pre>{pair.first_code}</pre></div>"
                     f"<div><b>{html.escape(pair.second)}</b><pre>{pair.second_code}</pre></div></div></div>")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return path
