"""The HTML feedback page: the score, every check with its feedback, and pictures.

Pictures come from each check's ``extras`` (loss curves, the keypoints' CED curve) and ``media``
(held-out faces with predicted and true keypoints, images with the generated
caption under them, each word of a caption over the image shaded by the model's attention). The page is one
self-contained file (images inlined as PNG data URIs), readable offline and attachable to an e-mail.
"""
from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from autograder.report import CheckResult, Report, outcome

_STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: .2em; } .total { font-size: 2.2em; font-weight: 600; }
.check { border: 1px solid #ddd; border-left: 6px solid #bbb; border-radius: 6px; padding: .6em 1em; margin: 1em 0; }
.passed { border-left-color: #2e9d48; } .partial { border-left-color: #e0a500; } .failed { border-left-color: #d33; }
.head { display: flex; justify-content: space-between; gap: 1em; font-weight: 600; }
.tag { font-size: .8em; color: #666; font-weight: normal; }
pre { white-space: pre-wrap; background: #f6f6f6; padding: .6em; border-radius: 4px; margin: .5em 0; }
img { max-width: 100%; } .log { color: #666; font-size: .85em; }
.isolation { font-size: .9em; color: #555; margin: .6em 0; }
.isolation.unsandboxed { color: #fff; background: #c62828; padding: .6em 1em; border-radius: 6px; font-weight: 600; }
.answers { border: 1px solid #ddd; border-left: 6px solid #5b7bd5; border-radius: 6px; padding: .6em 1em; }
.answers .question { color: #444; margin-top: 1em; }
.answers .answer { border-left: 3px solid #9bc; padding-left: .8em; }
.answers .unanswered { color: #a33; font-style: italic; }
"""


def _png(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _loss_figure(result: CheckResult) -> str | None:
    losses = result.extras.get("losses")
    if not losses:
        return None
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 2.6))
    ax.plot(range(1, len(losses) + 1), losses, "o-", ms=3, label="your model")
    for key, label in (("mean_shape_loss", "mean shape (ignores the image)"),
                       ("shuffled_loss", "after training, on shuffled image-caption pairs")):
        if result.extras.get(key) is not None:
            ax.axhline(result.extras[key], ls="--", color="gray", label=label)
    ax.set(xlabel="step", ylabel="loss", title="short training run", yscale="log")
    ax.legend(fontsize=8)
    ax.grid(alpha=.3)
    return _png(fig)


def _faces_figure(result: CheckResult) -> str | None:
    faces = result.media.get("faces")
    if not faces:
        return None
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(faces), figsize=(3 * len(faces), 3.3), squeeze=False)
    for ax, (image, predicted, truth, title) in zip(axes[0], faces):
        ax.imshow(image)
        ax.scatter(truth[:, 0], truth[:, 1], s=9, c="white", edgecolors="black", linewidths=.4, label="true")
        ax.scatter(predicted[:, 0], predicted[:, 1], s=9, c="magenta", label="predicted")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    axes[0][0].legend(fontsize=7, loc="lower left")
    return _png(fig)


def _ced_figure(result: CheckResult) -> str | None:
    """The cumulative error distribution the keypoint checks computed (``extras["ced"]``), with AUC and failures."""
    ced = result.extras.get("ced")
    if not ced:
        return None
    import matplotlib.pyplot as plt

    threshold = result.extras.get("threshold", ced["nme"][-1])
    fig, ax = plt.subplots(figsize=(5, 2.6))
    ax.step(ced["nme"], ced["fraction"], where="post", label="your model")
    ax.fill_between(ced["nme"], ced["fraction"], step="post", alpha=.15)
    ax.set(xlabel="NME (inter-ocular)", ylabel="fraction of faces", xlim=(0, threshold), ylim=(0, 1.02),
           title=f"CED: AUC@{threshold:g} {result.extras['auc']:.3f}, failures {result.extras['failure_rate']:.1%}")
    ax.grid(alpha=.3)
    return _png(fig)


def _captions_figure(result: CheckResult) -> str | None:
    items = result.media.get("captions")
    if not items:
        return None
    import textwrap

    import matplotlib.pyplot as plt

    columns = min(4, len(items))
    rows = -(-len(items) // columns)
    texts = [textwrap.fill(f"yours: {caption or '(empty)'}", 34) + "\n" + textwrap.fill(f"reference: {reference}", 34)
             for _, caption, reference, _ in items]
    lines = max(text.count("\n") + 1 for text in texts)  # the longest label sets every row's height
    fig, axes = plt.subplots(rows, columns, figsize=(3 * columns, (3.0 + 0.2 * lines) * rows), squeeze=False,
                             layout="constrained")
    for ax in axes.flat:
        ax.axis("off")
    for ax, (image, _, _, ok), text in zip(axes.flat, items, texts):
        ax.axis("on")
        ax.imshow(image)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title("true of the image" if ok else "not true of the image", fontsize=9,
                     color="green" if ok else "red")
        ax.set_xlabel(text, fontsize=8, loc="left")
    return _png(fig)


def _attention_figure(result: CheckResult) -> str | None:
    """One row per image: the image, then each generated word over it, shaded by where the model looked."""
    items = result.media.get("attention")
    if not items:
        return None
    import matplotlib.pyplot as plt

    from cvdata.attention_maps import draw_words

    columns = 1 + max(min(len(words), 10) for _, words, _ in items)
    fig, axes = plt.subplots(len(items), columns, figsize=(1.5 * columns, 1.75 * len(items)), squeeze=False)
    for row, (image, words, alphas) in zip(axes, items):
        draw_words(row, image, words, alphas, "held-out image")
    fig.tight_layout()
    return _png(fig)


def render_html(report: Report) -> str:
    """The feedback page of one graded submission."""
    data = report.as_json()
    parts = [f"<!doctype html><meta charset='utf-8'><title>{html.escape(report.project)} feedback</title>",
             f"<style>{_STYLE}</style>",
             f"<h1>{html.escape(report.project.replace('_', ' ').capitalize())}: feedback</h1>",
             f"<div class='total'>{data['score']:g} / {data['max_score']:g}</div>"]
    if report.isolation:
        kind = "isolation" if report.isolation.get("sandboxed", True) else "isolation unsandboxed"
        parts.append(f"<div class='{kind}'>{html.escape(report.isolation['summary'])}</div>")
    parts.append(f"<pre>{html.escape(report.output)}</pre>")
    for result in report.results:
        state = outcome(result.score, result.max_score)
        tag = "" if result.visibility == "visible" else f" <span class='tag'>({result.visibility})</span>"
        parts.append(f"<div class='check {state}'><div class='head'><span>{html.escape(result.name)}{tag}</span>"
                     f"<span>{result.score:g} / {result.max_score:g}</span></div>"
                     f"<pre>{html.escape(result.output)}</pre>")
        for draw in (_loss_figure, _faces_figure, _ced_figure, _captions_figure, _attention_figure):
            uri = draw(result)
            if uri:
                parts.append(f"<img src='{uri}' alt='{html.escape(result.name)}'>")
        log = result.extras.get("log")
        if log:
            parts.append(f"<details class='log'><summary>what your code printed (last lines)</summary>"
                         f"<pre>{html.escape(log)}</pre></details>")
        parts.append("</div>")
    parts += _answers_section(report)
    return "\n".join(parts) + "\n"


def _markdown(text: str) -> str:
    """Markdown as HTML (nbconvert's renderer, ``mistune``), with raw HTML escaped and script links disarmed:
    questions and answers come from the submitted notebooks."""
    import mistune

    return mistune.create_markdown(escape=True)(text)


def _answers_section(report: Report) -> list[str]:
    """The written answers, question by question, labelled as the instructor's to grade (no points here).

    Questions and answers are Markdown cells; they are shown rendered, as in the notebook.
    """
    if not report.answers and not report.answer_problems:
        return []
    done = sum(a.answered for a in report.answers)
    parts = ["<div class='answers'><div class='head'><span>Written answers: graded by your instructor</span>"
             f"<span>{done} of {len(report.answers)} answered; no points from this grader</span></div>"]
    for answer in report.answers:
        points = f" ({answer.points:g} points, by hand)" if answer.points else ""
        parts.append(f"<div class='question'><b>{html.escape(answer.notebook)}</b> "
                     f"<span class='tag'>{html.escape(answer.id)}{points}</span>"
                     f"{_markdown(answer.question)}</div>")
        parts.append(f"<div class='answer'>{_markdown(answer.answer)}</div>" if answer.answered
                     else "<div class='unanswered'>not answered</div>")
    parts += [f"<div class='unanswered'>{html.escape(problem)}</div>" for problem in report.answer_problems]
    parts.append("</div>")
    return parts


def write_html(report: Report, path: str | Path) -> Path:
    """Write ``render_html(report)`` to ``path`` (folders made); returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report), encoding="utf-8")
    return path
