"""Matplotlib's Agg canvas with each text drawn from a bitmap rendered once per process.

Matplotlib 3.11 renders a text glyph by glyph, four Python calls a glyph, and measures it
again for every figure (its cache of text sizes is per renderer, so per figure): a
picture's few dozen tick labels, titles and unit names were a third of its drawing (a
1M-row `som` run's pictures 565 -> 383 ms, the seed table's 281 -> 176 ms, warm:
benchmarks/README.md). Here a text is laid out and rendered whole by FreeType, as
matplotlib up to 3.10 drew it, and its bitmap and size are kept for the next time the
same text is drawn in the same font (the next figure's tick labels, its twin's). The
letters are FreeType's own; a text's place may differ from the glyph-by-glyph drawing
by a fraction of a pixel. Mathematical text, and text with font features or a language
set, are drawn by matplotlib as before.

Imported by :func:`somcli.report.figure.save_png` when a picture is drawn (it imports
matplotlib).
"""

from __future__ import annotations

import math

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg, get_hinting_flag

MAX_TEXTS = 4096  # bitmaps kept; the cache starts again past this (a long-lived process)
_BITMAPS: dict = {}  # (text, font, dpi, antialiased, hinting) -> (image, x, y offsets, descent)
_SIZES: dict = {}  # (text, font, dpi, hinting) -> (width, height, descent)


def _font(prop) -> tuple:
    return (tuple(prop.get_family()), prop.get_style(), prop.get_variant(),
            prop.get_weight(), prop.get_stretch(), prop.get_size_in_points(),
            prop.get_file(), prop.get_math_fontfamily())


def _plain(mtext) -> bool:
    """Whether a text is drawn without font features or a language (matplotlib 3.11)."""
    return mtext is None or not (getattr(mtext, "get_fontfeatures", lambda: None)()
                                 or getattr(mtext, "get_language", lambda: None)())


def _kept(cache: dict, key, make):
    found = cache.get(key)
    if found is None:
        if len(cache) >= MAX_TEXTS:
            cache.clear()
        found = cache[key] = make()
    return found


class Renderer(RendererAgg):
    """Agg, a text's bitmap and size rendered once."""

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if ismath or not _plain(mtext):
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        flags = get_hinting_flag()
        key = (s, _font(prop), self.dpi, bool(gc.get_antialiased()), flags)

        def render():
            font = self._prepare_font(prop)
            font.set_text(s, 0, flags=flags)
            font.draw_glyphs_to_bitmap(antialiased=gc.get_antialiased())
            xo, yo = font.get_bitmap_offset()
            return (np.array(font.get_image()), xo / 64.0, yo / 64.0,
                    font.get_descent() / 64.0)

        try:
            image, xo, yo, descent = _kept(_BITMAPS, key, render)
        except (AttributeError, TypeError):  # (a matplotlib whose FT2Font lacks these calls:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)  # its own)
        # (as matplotlib 3.10 placed a text's bitmap: rotated about its baseline)
        xd = descent * math.sin(math.radians(angle))
        yd = descent * math.cos(math.radians(angle))
        self._renderer.draw_text_image(image, round(x + xo + xd), round(y + yo + yd) + 1,
                                       angle, gc)
        return None

    def get_text_width_height_descent(self, s, prop, ismath):
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        key = (s, _font(prop), self.dpi, get_hinting_flag())
        return _kept(_SIZES, key,
                     lambda: super(Renderer, self).get_text_width_height_descent(s, prop, ismath))


class Canvas(FigureCanvasAgg):
    """:class:`FigureCanvasAgg` drawing with :class:`Renderer`."""

    def get_renderer(self):
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if self._lastKey != key:
            self.renderer = Renderer(w, h, self.figure.dpi)
            self._lastKey = key
        return self.renderer
