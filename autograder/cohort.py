"""The cohort page of a ``batch`` run, ``graded/index.html``: how a whole class did, check by check.

Read back from the ``results.json`` files ``batch`` wrote (so it says exactly what
the students' own reports say): the score histogram and the time per
submission, each check's pass / partial / fail counts with the most common
first line of its feedback where it was not passed (the most failed check
called out at the top), a table of the submissions linking each report, and
the most similar pairs of student files (``autograder.similarity``), linked to
their side-by-side view. ``cohort.json`` holds the same figures for scripts.
"""
from __future__ import annotations

import html
import json
import statistics
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from autograder.projects import get_project
from autograder.report import check_id, outcome, write_json
from autograder.similarity import Pair


@dataclass
class CheckSummary:
    """One check across the class."""

    id: str
    """The check's stable id (``Check.id``)."""
    name: str
    points: float
    passed: int
    partial: int
    failed: int
    """Submissions with no points for it, "Not run" included."""
    mean: float
    feedback: str
    """The most common first line of its feedback where it was not passed ("" if everyone passed)."""
    feedback_count: int

    @property
    def pass_rate(self) -> float:
        total = self.passed + self.partial + self.failed
        return self.passed / total if total else 0.0


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "(no feedback)")


def summarise_checks(reports: dict[str, dict]) -> list[CheckSummary]:
    """Per check, in the reports' order: counts, mean points and the most common feedback of the others."""
    checks: dict[str, tuple[str, float]] = {}
    for data in reports.values():
        for test in data["tests"]:
            checks.setdefault(check_id(test), (test["name"], test["max_score"]))
    summaries = []
    for key, (name, points) in checks.items():
        tests = [t for data in reports.values() for t in data["tests"] if check_id(t) == key]
        states = Counter(outcome(t["score"], t["max_score"]) for t in tests)
        lines = Counter(_first_line(t["output"]) for t in tests if outcome(t["score"], t["max_score"]) != "passed")
        feedback, count = lines.most_common(1)[0] if lines else ("", 0)
        summaries.append(CheckSummary(key, name, points, states["passed"], states["partial"], states["failed"],
                                      statistics.fmean(t["score"] for t in tests), feedback, count))
    return summaries


def most_failed(summaries: list[CheckSummary]) -> CheckSummary | None:
    """The check the fewest submissions passed (the first of a tie); None if every submission passed all."""
    failing = [s for s in summaries if s.partial + s.failed]
    return min(failing, key=lambda s: s.pass_rate) if failing else None


def _figures(scores: list[float], max_score: float, seconds: list[float]) -> str:
    import matplotlib.pyplot as plt

    from autograder.html_report import _png

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 2.8))
    left.hist(scores, bins=[max_score * i / 20 for i in range(21)], color="#3b7dd8", edgecolor="white")
    left.set(xlabel="score", ylabel="submissions", title=f"scores (of {max_score:g})", xlim=(0, max_score))
    right.hist(seconds, bins=15, color="#888", edgecolor="white")
    right.set(xlabel="seconds", ylabel="submissions", title="time per submission")
    for ax in (left, right):
        ax.grid(alpha=.3)
        ax.yaxis.get_major_locator().set_params(integer=True)
    fig.tight_layout()
    return _png(fig)


_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 1150px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: .2em; } h2 { font-size: 1.2em; margin-top: 1.6em; }
table { border-collapse: collapse; width: 100%; font-size: .92em; } td, th { padding: .3em .5em; text-align: left; }
tr:nth-child(even) { background: #f6f6f6; } th { border-bottom: 2px solid #ccc; }
.num, .rate { text-align: right; white-space: nowrap; } .worst { background: #fde8e8 !important; }
.bar { background: #e3e3e3; width: 110px; height: .8em; display: inline-block; border-radius: 3px; }
.bar span { background: #2e9d48; height: 100%; display: block; border-radius: 3px; }
.callout { border-left: 6px solid #d33; background: #fdf3f3; padding: .6em 1em; border-radius: 4px; }
.flag { color: #c62828; font-weight: 600; } .muted { color: #666; font-size: .9em; } img { max-width: 100%; }
"""


def _check_rows(summaries: list[CheckSummary], worst: CheckSummary | None) -> list[str]:
    rows = ["<table><tr><th>check</th><th class='num'>points</th><th>passed</th><th class='num'>passed / partial / "
            "failed</th><th class='num'>mean</th><th>most common feedback when not passed</th></tr>"]
    for s in summaries:
        style = " class='worst'" if s is worst else ""
        feedback = f"{html.escape(s.feedback)} <span class='muted'>({s.feedback_count})</span>" if s.feedback else ""
        rows.append(f"<tr{style}><td>{html.escape(s.name)} <span class='muted'>{html.escape(s.id)}</span></td>"
                    f"<td class='num'>{s.points:g}</td>"
                    f"<td class='rate'><span class='bar'><span style='width:{s.pass_rate:.0%}'></span></span> "
                    f"{s.pass_rate:.0%}</td>"
                    f"<td class='num'>{s.passed} / {s.partial} / {s.failed}</td><td class='num'>{s.mean:.1f}</td>"
                    f"<td>{feedback}</td></tr>")
    return rows + ["</table>"]


def _submission_rows(rows: list[dict], reports: dict[str, dict], flagged: Counter) -> list[str]:
    out = ["<table><tr><th>submission</th><th class='num'>score</th><th>status</th><th class='num'>seconds</th>"
           "<th>variant</th><th>similarity</th></tr>"]
    for row in sorted(rows, key=lambda r: r["submission"]):
        name = row["submission"]
        link = (f"<a href='{html.escape(name)}/report.html'>{html.escape(name)}</a>" if name in reports
                else html.escape(name))
        variant = reports.get(name, {}).get("extra_data", {}).get("variant", "")
        score = f"{row['score']:g} / {row['max_score']:g}" if "score" in row else "-"
        flag = f"<span class='flag'>{flagged[name]} flagged file pair(s)</span>" if flagged[name] else ""
        out.append(f"<tr><td>{link}</td><td class='num'>{score}</td><td>{html.escape(row['status'])}</td>"
                   f"<td class='num'>{row.get('seconds', 0):.0f}</td><td><code>{html.escape(variant)}</code></td>"
                   f"<td>{flag}</td></tr>")
    return out + ["</table>"]


def _similarity_rows(pairs: list[Pair]) -> list[str]:
    if not pairs:
        return ["<p>No pair of student files shares enough code to list.</p>"]
    out = ["<table><tr><th>students</th><th>file</th><th class='num'>shared (each way)</th><th class='num'>tokens</th>"
           "<th></th></tr>"]
    for pair in pairs:
        flag = "<span class='flag'>likely copy</span>" if pair.flagged else ""
        out.append(f"<tr><td>{html.escape(pair.first)} &amp; {html.escape(pair.second)}</td>"
                   f"<td>{html.escape(pair.file)}</td><td class='num'>{pair.first_share:.0%} / "
                   f"{pair.second_share:.0%}</td><td class='num'>{pair.tokens}</td>"
                   f"<td>{flag} <a href='similarity.html#{html.escape(pair.anchor())}'>side by side</a></td></tr>")
    return out + ["</table>"]


def write_cohort(out: Path, project: str, rows: list[dict], pairs: list[Pair], elapsed: float, jobs: int) -> Path:
    """``out/index.html`` (and ``out/cohort.json``) from the reports ``batch`` wrote into ``out``; returns the page."""
    reports = {}
    for row in rows:
        path = out / row["submission"] / "results.json"
        if row["status"] == "graded" and path.is_file():
            reports[row["submission"]] = json.loads(path.read_text(encoding="utf-8"))
    summaries = summarise_checks(reports)
    worst = most_failed(summaries)
    scores = [data["score"] for data in reports.values()]
    max_score = max((data["max_score"] for data in reports.values()), default=0)
    seconds = [row["seconds"] for row in rows if "seconds" in row]
    flagged = Counter(name for pair in pairs if pair.flagged for name in (pair.first, pair.second))
    title = get_project(project).title
    rate = len(rows) / elapsed * 60 if elapsed > 0 else 0.0
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(title)}: cohort</title><style>{_STYLE}</style>",
             f"<h1>{html.escape(title)}: {len(rows)} submissions</h1>",
             f"<p>{len(reports)} graded; mean score {statistics.fmean(scores) if scores else 0:.1f} / {max_score:g}, "
             f"median {statistics.median(scores) if scores else 0:g}; {sum(s >= max_score for s in scores)} with full "
             f"marks. Graded in {elapsed:.0f} s with {jobs} at a time ({rate:.1f} per minute; "
             f"{statistics.fmean(seconds) if seconds else 0:.0f} s per submission on average).</p>"]
    if worst is not None:
        parts.append(f"<div class='callout'><b>Most failed:</b> {html.escape(worst.name)} -- passed by "
                     f"{worst.passed} of {worst.passed + worst.partial + worst.failed}. Most common feedback "
                     f"({worst.feedback_count}): <code>{html.escape(worst.feedback)}</code></div>")
    if scores:
        parts.append(f"<img src='{_figures(scores, max_score, seconds)}' alt='score and time histograms'>")
    parts += ["<h2>Checks</h2>", *_check_rows(summaries, worst)]
    parts += ["<h2>Similarity</h2>",
              "<p class='muted'>The most similar pairs of student files (copydetect; the starter "
              "code ignored); see <a href='similarity.html'>similarity.html</a> for the code side by side. A reason to "
              "look, not proof.</p>", *_similarity_rows(pairs)]
    parts += ["<h2>Submissions</h2>", *_submission_rows(rows, reports, flagged),
              "<p class='muted'>Also: <a href='gradebook.csv'>gradebook.csv</a> (every check), "
              "<a href='canvas.csv'>canvas.csv</a> (Canvas gradebook import).</p>"]
    write_json(out / "cohort.json", {"project": project, "submissions": len(rows), "graded": len(reports),
                                     "seconds": round(elapsed, 1), "checks": [asdict(s) for s in summaries],
                                     "most_failed": worst.id if worst else None,
                                     "similar": [{k: v for k, v in asdict(p).items() if not k.endswith("_code")}
                                                 for p in pairs]})
    page = out / "index.html"
    page.write_text("\n".join(parts) + "\n", encoding="utf-8")
    return page
