"""Child-side probes: grader code that runs INSIDE the sandboxed child and calls the student's code.

Each probe module is named after its project and holds plain functions; the
worker calls one with JSON arguments and saves its return value. Probes return
only plain data -- tensors, numbers, strings, lists and dicts -- and describe
every object the student's code returned (its exact type, dtype and shape)
rather than trusting it, so the parent can check types without unpickling
anything of the student's. A probe that tests several things runs each with
``attempt`` so that one stub does not hide the others.
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


def array_info(value, keep: bool = True) -> dict:
    """``{"type", "dtype", "shape", "value"}`` of an array-like; ``value`` a plain CPU tensor copy (or None).

    Only exact ``numpy.ndarray`` and ``torch.Tensor`` objects are copied: a
    subclass is described but its data is not returned.
    """
    info = {"type": type_name(value), "dtype": None, "shape": None, "value": None}
    if type(value) is np.ndarray:
        info.update(dtype=str(value.dtype), shape=list(value.shape))
        if keep and value.dtype != object:
            info["value"] = torch.from_numpy(np.array(value, copy=True))
    elif type(value) is torch.Tensor:
        info.update(dtype=str(value.dtype).replace("torch.", ""), shape=list(value.shape))
        if keep:
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

