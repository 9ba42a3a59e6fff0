"""Child-side probes: grader code that runs INSIDE the sandboxed child and calls the student's code.

Each probe module is named after its project and holds plain functions; the
worker calls one with JSON arguments and saves its return value. Probes return
only raw observations -- the tensors the student's code produced, numbers,
strings, lists and dicts -- never a judgement: losses, gaps, counts and shapes
that decide points are computed by the parent from these (``autograder.checks``),
since the student's code can patch anything in this process, torch included.
Every object the student's code returned is described by its exact type (a
subclass is named, not trusted) with a plain copy of its data. A probe that
tests several things runs each with ``attempt`` so that one stub does not hide
the others.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch


def type_name(value) -> str:
    """The exact type, e.g. ``numpy.ndarray``, ``torch.Tensor``, ``builtins.dict``."""
    kind = type(value)
    module = {"torch": "torch"}.get(kind.__module__.split(".")[0], kind.__module__)
    return f"{module}.{kind.__qualname__}"


def array_info(value) -> dict:
    """``{"type", "dtype", "shape", "value"}`` of an array-like; ``value`` a plain CPU tensor copy (or None).

    Only exact ``numpy.ndarray`` and ``torch.Tensor`` objects are copied: a
    subclass is described but its data is not returned. The parent reads
    ``dtype`` and ``shape`` off ``value`` itself (``autograder.checks.observed``).
    """
    info = {"type": type_name(value), "dtype": None, "shape": None, "value": None}
    if type(value) is np.ndarray and value.dtype != object:
        info["value"] = torch.from_numpy(np.array(value, copy=True))
    elif type(value) is torch.Tensor:
        info["value"] = value.detach().to("cpu").clone()
    return info


def error_record(error: BaseException) -> dict:
    """``{"type", "message", "where"}`` of an exception raised by the student's code."""
    from autograder.worker import describe_error

    return describe_error(error, Path.cwd().resolve())


def attempt(function, *args, **kwargs) -> dict:
    """``{"value": function(...)}``, or ``{"error": {...}}`` if it raised (anything but a timeout)."""
    try:
        return {"value": function(*args, **kwargs)}
    except Exception as error:  # noqa: BLE001 -- student code may raise anything
        return {"error": error_record(error)}

