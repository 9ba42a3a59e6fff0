"""The bubblewrap (``bwrap``) command line that confines one child.

What the child sees (everything else of the machine is absent, not just unreadable):

- read-only: the system's ``/usr`` (and the ``/bin``, ``/lib`` ... links into it), a
  few files of ``/etc`` that programs need to start, the Python installation
  (``sys.base_prefix``, the virtual environment ``sys.prefix``), every folder of
  the child's ``sys.path`` and the course packages ``autograder`` and ``cvdata``
  -- never a folder holding ``solutions/``, so a repository checkout on
  ``sys.path`` is left out and only its two packages are shown;
- writable: its own sandbox folder; a private ``/tmp`` (tmpfs, also ``$HOME``);
- a private PID namespace (it sees only its own processes), no network (only an
  unconfigured loopback), its own IPC and host name, a new session (no terminal
  injection), and ``--die-with-parent``.

As root, bwrap keeps every capability, so the command is run through
``setpriv`` as uid/gid ``SANDBOX_UID`` with no groups and no capabilities
(bwrap also sets ``no_new_privs`` and mounts everything ``nosuid``). As another
user, bwrap maps that user to ``SANDBOX_UID`` in a user namespace.
"""
from __future__ import annotations

import functools
import glob
import json
import os
import subprocess
import sys
from pathlib import Path

SANDBOX_UID = 65534
"""uid and gid of the child (``nobody`` / ``nogroup`` on Debian and Ubuntu)."""
TMP_BYTES = 512 * 2**20
"""Size of the child's private /tmp (RAM)."""
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
ETC_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/alternatives", "/etc/localtime",
             "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/ssl/certs")


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


@functools.cache
def _child_sys_path() -> tuple[str, ...]:
    """``sys.path`` of ``python -I`` with this interpreter: what the child will search."""
    done = subprocess.run([sys.executable, "-I", "-c", "import json, sys; print(json.dumps(sys.path))"],
                          capture_output=True, text=True, timeout=60, check=True)
    return tuple(json.loads(done.stdout))


def visible_folders(hidden: tuple[Path, ...]) -> list[Path]:
    """The folders to show read-only (absolute, none inside another), leaving out any that holds ``hidden``."""
    import autograder
    import cvdata

    candidates = [sys.base_prefix, sys.prefix, sys.exec_prefix, *_child_sys_path(),
                  Path(autograder.__file__).parent, Path(cvdata.__file__).parent]
    folders = set()
    for candidate in candidates:
        path = Path(os.path.abspath(candidate))
        if path == Path("/") or not path.exists() or any(_inside(h, path) for h in hidden):
            continue
        if not any(_inside(path, Path(system)) for system in SYSTEM_DIRS):
            folders.add(path)
    return [p for p in sorted(folders) if not any(q != p and _inside(p, q) for q in folders)]


@functools.cache
def bwrap_version(bwrap: str) -> tuple[int, ...]:
    """``(0, 8, 0)`` from ``bwrap --version`` (``()`` if it does not say)."""
    try:
        text = subprocess.run([bwrap, "--version"], capture_output=True, text=True, timeout=30).stdout
        return tuple(int(part) for part in text.split()[-1].split("."))
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return ()


def _system_arguments() -> list[str]:
    args = []
    for name in SYSTEM_DIRS:
        if os.path.islink(name):
            args += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            args += ["--ro-bind", name, name]
    for name in ETC_FILES:
        args += ["--ro-bind-try", name, name]
    for device in sorted(glob.glob("/dev/nvidia*")):  # a GPU, when the machine has one
        args += ["--dev-bind", device, device]
    return args


def _mount_arguments(folders: list[Path], box: Path) -> list[str]:
    """Binds for ``folders`` (read-only) and ``box`` (writable), each ancestor made first as a 0755 directory."""
    args, made = [], {Path("/"), Path("/tmp")}
    for path, option in [(p, "--ro-bind") for p in folders] + [(box, "--bind")]:
        for parent in reversed(path.parents):
            if parent in made or any(_inside(parent, f) for f in folders):
                continue
            args += ["--perms", "0755", "--dir", str(parent)]
            made.add(parent)
        args += [option, str(path), str(path)]
    return args


def bwrap_command(bwrap: str, setpriv: str | None, box: Path, command: list[str],
                  hidden: tuple[Path, ...]) -> list[str]:
    """``bwrap ... -- command``: ``command`` run confined, in ``box`` (see the module's docstring).

    ``setpriv`` (its path) is required when the grader runs as root."""
    size = ["--size", str(TMP_BYTES)] if bwrap_version(bwrap) >= (0, 8) else []
    args = [bwrap, "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            "--die-with-parent", "--new-session", "--hostname", "sandbox",
            "--proc", "/proc", "--dev", "/dev", "--perms", "1777", *size, "--tmpfs", "/tmp"]
    args += _system_arguments()
    args += _mount_arguments(visible_folders(hidden), Path(os.path.abspath(box)))
    args += ["--chdir", str(box), "--setenv", "HOME", "/tmp", "--setenv", "MPLCONFIGDIR", "/tmp/.matplotlib"]
    if os.geteuid() == 0:
        drop = [setpriv, f"--reuid={SANDBOX_UID}", f"--regid={SANDBOX_UID}", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", "--"]
    else:
        args += ["--unshare-user", "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID)]
        drop = []
    return [*args, "--", *drop, *command]
