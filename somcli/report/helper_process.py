"""Starting the picture helper (:mod:`somcli.report.painter`), without numpy: the console
script starts it before it imports anything else when the command line asks for pictures
(``som``/``kmeans`` with ``-o``), so that the helper imports matplotlib while this process
imports its own libraries. ``Painter.start`` adopts that helper, or starts one then.

A helper started early and not adopted (a settings file or variable turned the pictures
off, another engine ran) is killed when the run ends (:func:`discard`); one whose run dies
sees its pipe close and ends after its imports.
"""

from __future__ import annotations

import os
import subprocess
import sys

_early: subprocess.Popen | None = None  # started by early(), not yet taken by a Painter

#: the commands whose pictures the helper draws
COMMANDS = ("som", "kmeans")
#: options after which the command line's guess is not made (the helper is not used, or
#: the run may not start at once)
NOT_DRAWN = ("--no-plots", "--help", "-h", "--resume", "--engine", "--version")
#: the helper's numeric libraries on one thread each: drawing makes only tiny matrix
#: products, after which a BLAS pool's threads spin and take a core from the run
#: (projection.png: 0.26 s of CPU for 0.16 s of drawing, 0.15 s with one thread)
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def spawn(when_idle: bool = True) -> subprocess.Popen | None:
    """A helper process (``when_idle``: only when a core is idle, else None). It pays from
    the smallest table (the seed table's `som` took 1.22 s with a thread, 1.00 s with the
    helper); on a busy machine (no core idle) it would only compete."""
    if not sys.executable or (when_idle and not idle_core()):
        return None
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [root, env.get("PYTHONPATH")]))
    env.setdefault("MPLBACKEND", "Agg")
    env.update(ONE_THREAD)
    try:
        # -P: the working folder is not put on sys.path, so a somcli/ planted there is
        # never imported; the helper finds this very package through PYTHONPATH
        return subprocess.Popen(
            [sys.executable, "-P", "-m", "somcli.report.painter"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env,
            start_new_session=True)  # Ctrl-C reaches the run, which closes the helper
    except (OSError, ValueError):
        return None


def early(argv: list[str]) -> None:
    """Start a helper now when ``argv`` (the command line after the program's name) runs
    ``som`` or ``kmeans`` with an output folder and pictures. Only the plain forms are
    recognised: a command line this guess does not read starts its helper as before."""
    global _early
    command = next((a for a in argv if not a.startswith("-")), None)
    if command not in COMMANDS or _early is not None:
        return
    if any(a.split("=")[0] in NOT_DRAWN for a in argv):
        return
    if not any(a in ("-o", "--out") or a.startswith(("--out=", "-o")) for a in argv):
        return
    if any(k.startswith("SOMCLI_") and ("PLOTS" in k or "ENGINE" in k) for k in os.environ):
        return
    _early = spawn()


def take() -> subprocess.Popen | None:
    """The helper started early, if it is still running; it is the caller's then."""
    global _early
    proc, _early = _early, None
    if proc is not None and proc.poll() is not None:
        return None
    return proc


def discard() -> None:
    """Kill a helper started early that no run took."""
    proc = take()
    if proc is not None:
        proc.kill()
        proc.wait()


def idle_core() -> bool:
    """Whether a second core is there and not taken: at most one runnable task besides
    this process now (``/proc/loadavg``'s running count, which includes this process and
    jitters with the machine's own daemons) and a 1-minute load average of at most the
    cores (two busy processes beside a run on 2 cores fail both)."""
    from somcli.runtime.parallel import cpus

    cores = cpus()
    if cores < 2:
        return False
    try:
        with open("/proc/loadavg", encoding="ascii") as fh:
            fields = fh.read().split()
        return int(fields[3].split("/")[0]) <= cores and float(fields[0]) <= cores
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.getloadavg()[0] <= cores
    except (AttributeError, OSError):
        return True
