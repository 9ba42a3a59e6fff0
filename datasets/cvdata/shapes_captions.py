"""The shapes world's words: writing captions from objects and parsing them back.

An *object* is a mapping with at least ``"shape"``, ``"colour"``, ``"size"`` and
``"center": [x, y]`` (pixels, origin top-left, y down): exactly what
``captions_<split>.json`` stores per image under ``"objects"``.

``write_captions`` turns one image's objects into five varied, true captions.
``parse_caption`` reads the (colour, shape) mentions back out of any caption
(a reference or a model's output); ``caption_matches_objects`` is the
"semantic accuracy" test the course's metric and grader use.
"""
from __future__ import annotations

import bisect
import itertools
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

import numpy as np

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "green": (40, 165, 60),
    "blue": (40, 90, 220),
    "yellow": (240, 210, 30),
    "purple": (140, 60, 185),
    "orange": (245, 135, 20),
}
"""Colour word -> base RGB (each object gets a small jitter around it)."""

SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star")
PLURALS: dict[str, str] = {shape: shape + "s" for shape in SHAPES}
SIZES: tuple[str, ...] = ("small", "large")

HORIZONTAL_WORDS: tuple[str, ...] = ("left", "centre", "right")
"""Thirds of the image width, left to right."""
VERTICAL_WORDS: tuple[str, ...] = ("top", "middle", "bottom")
"""Thirds of the image height, top to bottom."""

NUMBER_WORDS: tuple[str, ...] = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
)

_SIZE_LEXICON = {"small", "large", "big", "tiny", "little"}
_SHAPE_LEXICON = {**{s: s for s in SHAPES}, **{p: s for s, p in PLURALS.items()}}
_COUNT_LEXICON = {"a": 1, "an": 1, "single": 1, **{w: i for i, w in enumerate(NUMBER_WORDS)}}

Mention = tuple[str | None, str]
"""One (colour or None, singular shape) named in a caption."""


# ----------------------------------------------------------------------------- positions
def region_of(center: Sequence[float], image_size: int) -> tuple[str, str]:
    """``(vertical, horizontal)`` third of the image that holds ``center = [x, y]``."""
    x, y = center
    col = min(int(3 * x / image_size), 2)
    row = min(int(3 * y / image_size), 2)
    return VERTICAL_WORDS[max(row, 0)], HORIZONTAL_WORDS[max(col, 0)]


def region_phrase(center: Sequence[float], image_size: int) -> str:
    """Where an object is, in words: "in the top left corner", "on the left", "in the middle"."""
    vertical, horizontal = region_of(center, image_size)
    if vertical == "middle" and horizontal == "centre":
        return "in the middle"
    if vertical == "middle":
        return f"on the {horizontal}"
    if horizontal == "centre":
        return f"at the {vertical}"
    return f"in the {vertical} {horizontal} corner"


def relation(a: Mapping, b: Mapping) -> str:
    """How object ``a`` sits relative to ``b`` along the larger displacement:
    "above", "below", "to the left of" or "to the right of"."""
    dx = b["center"][0] - a["center"][0]
    dy = b["center"][1] - a["center"][1]
    if abs(dy) >= abs(dx):
        return "above" if dy > 0 else "below"
    return "to the left of" if dx > 0 else "to the right of"


# ----------------------------------------------------------------------------- writing
def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _noun_phrase(colour: str | None, shape: str, count: int = 1, size: str | None = None) -> str:
    """"a small red circle", "two red circles", "an orange star", "a circle"."""
    words = [w for w in (size, colour) if w]
    if count == 1:
        head = " ".join(words + [shape])
        return f"{_article(head)} {head}"
    number = NUMBER_WORDS[count] if count < len(NUMBER_WORDS) else str(count)
    return " ".join([number] + words + [PLURALS[shape]])


def _join(phrases: Sequence[str]) -> str:
    """"x", "x and y", "x, y and z"."""
    if len(phrases) == 1:
        return phrases[0]
    return ", ".join(phrases[:-1]) + " and " + phrases[-1]


def _groups(objects: Sequence[Mapping], with_colour: bool = True) -> list[list[Mapping]]:
    """Objects grouped by identical (colour, shape) -- or by shape alone -- in first-seen order."""
    groups: dict[tuple, list[Mapping]] = {}
    for obj in objects:
        key = (obj["colour"] if with_colour else None, obj["shape"])
        groups.setdefault(key, []).append(obj)
    return list(groups.values())


def _group_phrase(group: Sequence[Mapping], with_size: bool, with_colour: bool = True) -> str:
    sizes = {obj["size"] for obj in group}
    size = sizes.pop() if with_size and len(sizes) == 1 else None
    colour = group[0]["colour"] if with_colour else None
    return _noun_phrase(colour, group[0]["shape"], len(group), size)


def _object_phrase(obj: Mapping, with_size: bool) -> str:
    return _noun_phrase(obj["colour"], obj["shape"], 1, obj["size"] if with_size else None)


def _there(first_count: int) -> str:
    return "there is " if first_count == 1 else "there are "


def _t_list(objects: Sequence[Mapping], rng: np.random.Generator, image_size: int) -> str:
    """Every object, identical ones counted: "a red circle, two blue squares and a green star"."""
    groups = _groups(objects)
    order = rng.permutation(len(groups))
    groups = [groups[i] for i in order]
    with_size = bool(rng.random() < 0.4)
    body = _join([_group_phrase(g, with_size) for g in groups])
    prefixes = ("", "", "an image of ", "a picture of ", "a scene with ", "there")
    prefix = prefixes[rng.integers(len(prefixes))]
    if prefix == "there":
        prefix = _there(len(groups[0]))
    return prefix + body


def _t_position(objects: Sequence[Mapping], rng: np.random.Generator, image_size: int) -> str:
    """One object and where it is: "there is a large red circle in the top right corner"."""
    obj = objects[rng.integers(len(objects))]
    phrase = _object_phrase(obj, with_size=bool(rng.random() < 0.6))
    prefix = "there is " if rng.random() < 0.35 else ""
    return f"{prefix}{phrase} {region_phrase(obj['center'], image_size)}"


def _t_relation(objects: Sequence[Mapping], rng: np.random.Generator, image_size: int) -> str | None:
    """Two objects and how they sit: "a small blue triangle to the left of a large green circle"."""
    pairs = [
        (a, b)
        for a in objects
        for b in objects
        if a is not b and (a["colour"], a["shape"]) != (b["colour"], b["shape"])
    ]
    if not pairs:
        return None
    a, b = pairs[rng.integers(len(pairs))]
    with_size = bool(rng.random() < 0.4)
    word = relation(a, b)
    if word == "below" and rng.random() < 0.5:
        word = "under"
    return f"{_object_phrase(a, with_size)} {word} {_object_phrase(b, with_size)}"


def _t_simple(objects: Sequence[Mapping], rng: np.random.Generator, image_size: int) -> str:
    """One kind of object, counted: "a red circle", "two yellow squares", "a small blue star"."""
    groups = _groups(objects)
    group = groups[rng.integers(len(groups))]
    return _group_phrase(group, with_size=bool(rng.random() < 0.5))


def _t_count(objects: Sequence[Mapping], rng: np.random.Generator, image_size: int) -> str:
    """How many objects, then which: "three shapes: a red circle, a blue square and a green star"."""
    n = len(objects)
    if n == 1:
        obj = objects[0]
        return f"a single {obj['colour']} {obj['shape']}"
    body = _join([_group_phrase(g, with_size=False) for g in _groups(objects)])
    noun = "shapes" if rng.random() < 0.6 else "objects"
    return f"{NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else n} {noun}: {body}"


def _t_shapes_only(objects: Sequence[Mapping], rng: np.random.Generator, image_size: int) -> str:
    """Shapes without colours: "a circle and two squares"."""
    groups = _groups(objects, with_colour=False)
    return _join([_group_phrase(g, with_size=False, with_colour=False) for g in groups])


_TEMPLATES: tuple[Callable[..., str | None], ...] = (
    _t_list, _t_position, _t_relation, _t_simple, _t_count, _t_shapes_only,
)
_CUMULATIVE_WEIGHTS = tuple(itertools.accumulate((3.0, 3.0, 3.0, 2.0, 1.5, 0.5)))
_COMPLETE = (_t_list, _t_count)  # templates that name every object


def write_captions(
    objects: Sequence[Mapping], rng: np.random.Generator, n: int = 5, image_size: int = 128
) -> list[str]:
    """``n`` different true captions for one image, lower case, without a final period.

    Args:
        objects: the image's objects (``shape``, ``colour``, ``size``, ``center``); at least one.
        rng: the image's own generator (captions are deterministic given it).
        n: how many captions.
        image_size: side of the (square) image in pixels, for position words.

    Every caption names at least one shape, and only (colour, shape) pairs that are
    present; identical colour+shape objects are counted with a plural ("two red circles").
    At least one caption names every object. Captions are distinct whenever the
    objects allow it (always, for the default world).
    """
    if not objects:
        raise ValueError("write_captions needs at least one object")
    captions = [_COMPLETE[rng.integers(len(_COMPLETE))](objects, rng, image_size)]
    total = _CUMULATIVE_WEIGHTS[-1]
    for _ in range(20 * n):
        if len(captions) >= n:
            break
        template = _TEMPLATES[bisect.bisect(_CUMULATIVE_WEIGHTS, rng.random() * total)]
        caption = template(objects, rng, image_size)
        if caption is not None and caption not in captions:
            captions.append(caption)
    while len(captions) < n:  # a world too small to say n different things
        captions.append(captions[len(captions) % len(captions)])
    return [captions[i] for i in rng.permutation(n)]


# ----------------------------------------------------------------------------- parsing
def tokenize(caption: str) -> list[str]:
    """Lower-case word and digit tokens; punctuation dropped."""
    return re.findall(r"[a-z]+|\d+", caption.lower())


def parse_caption(caption: str) -> list[Mention]:
    """The (colour, shape) mentions in a caption, in order, one per object claimed.

    A shape word (singular or plural) is a mention; its colour is the colour word
    right before it, size words ("small", "large", "big", ...) allowed in between,
    else ``None``. Counts expand into repeated mentions: "two red circles" ->
    ``[("red", "circle"), ("red", "circle")]``; a plural without a number
    ("red circles") counts as two, the fewest it can mean.

    >>> parse_caption("a blue triangle above a green circle")
    [('blue', 'triangle'), ('green', 'circle')]
    >>> parse_caption("a circle and two small red stars")
    [(None, 'circle'), ('red', 'star'), ('red', 'star')]
    """
    tokens = tokenize(caption)
    mentions: list[Mention] = []
    for i, token in enumerate(tokens):
        shape = _SHAPE_LEXICON.get(token)
        if shape is None:
            continue
        j = i - 1
        while j >= 0 and tokens[j] in _SIZE_LEXICON:
            j -= 1
        colour = None
        if j >= 0 and tokens[j] in COLOURS:
            colour = tokens[j]
            j -= 1
            while j >= 0 and tokens[j] in _SIZE_LEXICON:
                j -= 1
        plural = token != shape
        count = 2 if plural else 1
        if j >= 0 and tokens[j] in _COUNT_LEXICON:
            count = _COUNT_LEXICON[tokens[j]] or count
        elif j >= 0 and tokens[j].isdigit():
            count = int(tokens[j]) or count
        mentions.extend([(colour, shape)] * count)
    return mentions


def named_colours(caption: str) -> set[str]:
    """Every colour word in the caption, attached to a shape or not."""
    return {token for token in tokenize(caption) if token in COLOURS}


def named_shapes(caption: str) -> set[str]:
    """Every shape the caption names, singular ("circles" -> "circle")."""
    return {_SHAPE_LEXICON[t] for t in tokenize(caption) if t in _SHAPE_LEXICON}


def caption_matches_objects(
    caption: str, objects: Sequence[Mapping], check_counts: bool = False
) -> bool:
    """Whether a caption is *semantically correct* for an image's objects.

    True when the caption names at least one shape, every (colour, shape) it
    names is among the objects (a shape named without a colour needs only that
    shape), and every colour word it uses belongs to some object. Positions,
    sizes and relations are not checked.

    With ``check_counts`` the caption also must not claim more objects of a kind
    than there are ("two red circles" needs two red circles).
    """
    mentions = parse_caption(caption)
    if not mentions:
        return False
    present = Counter((obj["colour"], obj["shape"]) for obj in objects)
    shapes = Counter(obj["shape"] for obj in objects)
    colours = {obj["colour"] for obj in objects}
    for colour, shape in mentions:
        if colour is None and shape not in shapes:
            return False
        if colour is not None and (colour, shape) not in present:
            return False
    if not named_colours(caption) <= colours:
        return False
    if check_counts:
        claimed = Counter(m for m in mentions if m[0] is not None)
        if any(count > present[key] for key, count in claimed.items()):
            return False
        claimed_shapes = Counter(shape for _, shape in mentions)
        if any(count > shapes[shape] for shape, count in claimed_shapes.items()):
            return False
    return True
