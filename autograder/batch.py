"""Grade a folder of submissions in parallel: a report each, a cohort page, gradebooks and a similarity report.

    python -m autograder batch facial_keypoints submissions/ --out graded/ --jobs 2

Every sub-folder of ``submissions/`` is one submission, named after the folder,
whose name is also the student id of its variant of the held-out data
(``autograder.variants``; with a secret seed). Output, in ``graded/``:

- ``<name>/results.json`` and ``<name>/report.html``: each student's report;
- ``index.html``: the cohort page (``autograder.cohort``) and ``cohort.json``;
- ``similarity.html``: the most similar pairs of student files, side by side
  (``autograder.similarity``);
- ``gradebook.csv`` (every check) and ``canvas.csv`` (Canvas's gradebook
  import; ``autograder.gradebook``).

A progress bar (tqdm, on stderr) shows the submissions graded and how many a
minute. At most ``jobs`` submissions are graded at once; the default fits the
machine's cores (each child uses ``Limits.threads``) and memory (about 3 GB per
job). The submissions are graded by threads of this one process, so the secret
seed (from ``$AUTOGRADER_SEED`` or ``--secret-file``, read once) is passed to
them in memory, never on a command line; settings refused for one submission (a
secret seed with an unsandboxed child) are refused for all, each with a report.

A child that runs as the grader's own user (``same-user``, with ``--allow-unsandboxed`` or the public seed)
can rewrite any file that user can, the reports of the submissions graded before it or beside it included.
So when a child ran that way, every graded submission's report is written again from this process's memory
once the last child is gone, before the cohort page reads them back (a grader-error report is not kept in
memory; the gradebooks never read reports back).
"""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path

from tqdm import tqdm

from autograder.cohort import write_cohort
from autograder.errors import GraderError, UsageError
from autograder.gradebook import write_canvas, write_gradebook
from autograder.grader import grade_submission
from autograder.heldout_seed import Seed, resolve_seed
from autograder.html_report import write_html
from autograder.isolation import Limits
from autograder.projects import get_project
from autograder.report import Report, write_json
from autograder.similarity import find_similar, write_similarity_html

MEMORY_PER_JOB_GB = 3.0
_HTML_LOCK = threading.Lock()  # matplotlib's pyplot is not thread-safe


def default_jobs(limits: Limits) -> int:
    """Parallel submissions the machine can take: by cores, then by available memory."""
    cores = os.cpu_count() or 1
    by_cores = max(1, cores // max(1, limits.threads))
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30
    except (ValueError, OSError, AttributeError):
        available = MEMORY_PER_JOB_GB
    return max(1, min(by_cores, int(available // MEMORY_PER_JOB_GB)))


def _grade_one(project: str, folder: Path, out: Path, seed: Seed, limits: Limits,
               allow_unsandboxed: bool) -> tuple[dict, Report | None]:
    """Grade ``folder`` into ``out/<its name>/``: its gradebook row, and its report (None if not graded)."""
    target = out / folder.name
    started = time.perf_counter()
    row = {"submission": folder.name, "status": "graded"}
    try:
        report = grade_submission(project, folder, target / "results.json", seed=seed, limits=limits,
                                  allow_unsandboxed=allow_unsandboxed, student=folder.name)
    except UsageError as err:
        row.update(status=f"not graded: {err}", seconds=round(time.perf_counter() - started, 1))
        return row, None
    except GraderError as err:
        row.update(status=f"grader error: {err}", seconds=round(time.perf_counter() - started, 1))
        return row, None
    with _HTML_LOCK:
        write_html(report, target / "report.html")
    row.update(score=round(report.score, 2), max_score=report.max_score,
               seconds=round(time.perf_counter() - started, 1))
    row.update({result.id: round(result.score, 2) for result in report.results})
    return row, report


def _rewrite_if_exposed(reports: dict[str, Report], out: Path) -> None:
    """Write every report in ``reports`` (by submission name) again under ``out`` if any of their children ran
    unsandboxed, as the grader's own user: one of them could have rewritten the others' files. Call it once every
    child is gone."""
    if all(report.isolation.get("sandboxed", True) for report in reports.values()):
        return
    for name, report in reports.items():
        write_json(out / name / "results.json", report.as_json())
        write_html(report, out / name / "report.html")


def grade_folder(project: str, submissions: Path, out: Path, jobs: int | None = None, seed: int | Seed | None = None,
                 limits: Limits | None = None, secret_file: str | Path | None = None,
                 allow_unsandboxed: bool = False, assignment: str | None = None) -> Path:
    """Grade every sub-folder of ``submissions`` into ``out``, then write the cohort page, the similarity report
    and the gradebooks; returns the gradebook CSV's path. ``assignment``: the Canvas column's name (default: the
    project's).

    The seed as in ``grade_submission``. ``UsageError`` (after the gradebook is written) if the settings
    were refused."""
    limits = limits or Limits()
    seed = resolve_seed(seed, secret_file)
    if jobs and limits.threads * jobs > (os.cpu_count() or 1):  # oversubscribed cores slow everything down
        limits = replace(limits, threads=max(1, (os.cpu_count() or 1) // jobs))
    folders = sorted(p for p in Path(submissions).iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise GraderError(f"{submissions}: no submission folders inside")
    jobs = jobs or default_jobs(limits)
    out.mkdir(parents=True, exist_ok=True)
    print(f"grading {len(folders)} submission(s) of {project}, {jobs} at a time -> {out}")
    started = time.perf_counter()
    rows, reports = [], {}
    with ThreadPoolExecutor(max_workers=jobs) as pool, \
            tqdm(total=len(folders), unit="submission", desc="grading", dynamic_ncols=True) as bar:
        futures = [pool.submit(_grade_one, project, folder, out, seed, limits, allow_unsandboxed) for folder in folders]
        for future in as_completed(futures):
            row, report = future.result()
            rows.append(row)
            if report is not None:
                reports[row["submission"]] = report
            bar.write(f"  {row['submission']}: {row.get('score', '-')} / {row.get('max_score', '-')} "
                      f"({row['status']}, {row['seconds']:.0f} s)")
            bar.update()
            bar.set_postfix_str(f"{len(rows) / (time.perf_counter() - started) * 60:.1f} submissions/min")
    rows.sort(key=lambda row: row["submission"])
    _rewrite_if_exposed(reports, out)
    graded = [folder for folder in folders if (out / folder.name / "results.json").is_file()]
    pairs = find_similar(get_project(project), {folder.name: folder for folder in graded})
    write_similarity_html(pairs, out / "similarity.html", project)
    gradebook = write_gradebook(rows, out / "gradebook.csv")
    write_canvas(rows, out / "canvas.csv", assignment or get_project(project).title)
    elapsed = time.perf_counter() - started
    with _HTML_LOCK:
        page = write_cohort(out, project, rows, pairs, elapsed, jobs)
    print(f"{len(rows)} graded in {elapsed:.0f} s ({len(rows) / elapsed * 60:.1f} per minute), similarity included; "
          f"cohort page: {page}; gradebooks: {gradebook}, {out / 'canvas.csv'}")
    refused = [row["status"] for row in rows if row["status"].startswith("not graded")]
    if refused:
        raise UsageError(refused[0].removeprefix("not graded: "))
    return gradebook
