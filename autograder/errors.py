"""The grader's two kinds of failure that are not the submission's fault.

- ``GraderError``: the grader itself failed (a bug, a full disk); ``grade`` exits 1.
- ``UsageError``: the instructor asked for something the grader will not do as
  asked -- an unreadable or world-readable secret file, a secret seed when the
  child could not be sandboxed, an isolation level this machine lacks; ``grade``
  exits 2. Both are recorded in the report before they are raised.
"""
from __future__ import annotations


class GraderError(RuntimeError):
    """The grader itself failed (not the submission); the report says so too."""


class UsageError(GraderError):
    """The instructor's settings cannot be honoured; the message says what to change."""
