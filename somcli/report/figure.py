"""Matplotlib figures without pyplot (no global state, no GUI backend, faster to import),
rendered to PNG bytes on a background thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from io import BytesIO

DPI = 100


def new_figure(size: tuple[int, int], nrows: int = 1, ncols: int = 1):
    """A figure ``size`` pixels big and its axes (a 2-D array)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size[0] / DPI, size[1] / DPI), dpi=DPI)
    return fig, fig.subplots(nrows, ncols, squeeze=False)


#: the text drawn without the font's hinting (FreeType's outlines as they are):
#: FreeType loads and hints each glyph of each text anew, and a picture's few dozen texts
#: were its largest cost (k_choice.png 118 -> 104 ms, profiles.png 69 -> 56 ms; the same
#: letters, a little softer at 8-9 points). Set while a figure draws, so a library user's
#: own matplotlib settings are left as they are; one figure at a time (``_DRAWING``), since
#: matplotlib's settings are global: two threads each restoring what it found would leave
#: the setting changed for good.
DRAWING = {"text.hinting": "no_hinting"}
_DRAWING = threading.Lock()


def save_png(fig, path) -> None:
    """The figure as an RGB PNG, zlib level 3: its background is opaque, so the alpha
    channel matplotlib writes said nothing and was a quarter of the bytes to compress (a
    run's seven map pictures: 0.159 -> 0.118 s of encoding, 1,199 -> 1,118 KB)."""
    import numpy as np
    from matplotlib import rc_context
    from PIL import Image

    from somcli.report.agg_canvas import Canvas

    canvas = Canvas(fig)
    with _DRAWING, rc_context(DRAWING):
        canvas.draw()
    rgba = np.asarray(canvas.buffer_rgba())
    Image.fromarray(np.ascontiguousarray(rgba[..., :3])).save(path, format="png",
                                                              compress_level=3)


def render(draw: Callable) -> bytes:
    """One picture's bytes."""
    buffer = BytesIO()
    draw(buffer)
    return buffer.getvalue()


def start(jobs: dict[str, Callable]) -> dict[str, Future]:
    """Render every picture on a background thread, in order.

    Drawing is mostly Python and runs while the caller's numpy work (scores, CSV writing)
    releases the GIL; the caller collects the bytes with ``.result()``.
    """
    from functools import partial

    from somcli.runtime.parallel import in_order

    return in_order({name: partial(render, draw) for name, draw in jobs.items()}, "plots")
