"""report.md -> report.html: one self-contained file to read and share.

The page is report.md rendered (markdown-it, raw HTML off, so every value from the data stays
text) with the pictures inline as base64 PNG, a stylesheet in the page, no script, and a
Content-Security-Policy that lets the browser load nothing: no network request, whatever a
data value holds.
"""

from __future__ import annotations

import base64
import html
import re

CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #1d2330;
       background: #f6f7f9; margin: 0; }
main { max-width: 1080px; margin: 0 auto; padding: 24px 32px 48px; background: #fff;
       box-shadow: 0 0 12px rgba(0,0,0,.06); }
h1 { font-size: 26px; margin: 0 0 12px; border-bottom: 3px solid #3b6fb6; padding-bottom: 8px; }
h2 { font-size: 19px; margin: 28px 0 8px; color: #23487a; }
details { margin: 10px 0; } details > summary { font-size: 17px; font-weight: 600;
  color: #23487a; cursor: pointer; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13.5px; display: block;
        overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #d5dae3; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef2f8; }
tr:nth-child(even) td { background: #fafbfd; }
code { background: #f0f2f6; padding: 1px 4px; border-radius: 3px; font-size: 92%; }
img { max-width: 100%; height: auto; border: 1px solid #e3e6ec; }
figure { margin: 12px 0 20px; }
figcaption { color: #4a5568; font-size: 13.5px; margin-top: 4px; }
ul { padding-left: 22px; }
@media print { body { background: #fff; } main { box-shadow: none; max-width: none; }
               h2 { break-after: avoid; } table, figure { break-inside: avoid; } }
"""
# a picture of report.md and the italic caption line after it (the figure's caption here)
_IMAGE = re.compile(r'<p><img src="([^"]*)" alt="([^"]*)"\s*/?></p>(?:\s*<p><em>[^<]*</em></p>)?')


def parse(markdown_text: str) -> str:
    """report.md as HTML, its pictures not yet in (:func:`render` puts them in): done while
    the pictures are still being drawn (markdown-it's import alone is 60 ms)."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")
    return parser.render(markdown_text)


def render(body: str, pictures: dict[str, bytes], captions: dict[str, str], title: str,
           report: dict | None = None) -> str:
    """The page: a summary of ``report`` on top, then report.md as :func:`parse` gave it
    (``body``), where a picture with an SVG twin (``umatrix.png``, ``umatrix.svg``) is
    shown as that SVG (hover titles per unit)."""
    from somcli.report import html_summary

    def figure(m: re.Match) -> str:
        name = html.unescape(m.group(1))
        data = pictures.get(name)
        if data is None:
            return ""
        caption = html.escape(captions.get(name, m.group(2)))
        vector = pictures.get(name.rsplit(".", 1)[0] + ".svg")
        if vector is not None:  # somcli's own SVG: values escaped, no script, no reference
            return (f"<figure>{vector.decode()}<figcaption>{caption} Hover over a unit for "
                    "its rows.</figcaption></figure>")
        src = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        return (f'<figure><img src="{src}" alt="{m.group(2)}">'
                f"<figcaption>{caption}</figcaption></figure>")

    body = _fold(_IMAGE.sub(figure, body))
    if report is not None:
        body = body.replace("</h1>", "</h1>\n" + html_summary.render(report), 1)
    body = re.sub(r'\ssrc="(?!data:image/png;base64,)[^"]*"', ' src=""', body)  # nothing else
    body = re.sub(r'\shref="(?!#)[^"]*"', ' href="#"', body)
    return ("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)}</title><style>{STYLE}{html_summary.STYLE}</style>"
            "</head>\n"
            f"<body><main>\n{body}</main></body></html>\n")


def _fold(body: str) -> str:
    """The sections on how the answer was reached (markdown.DETAILS), each folded into a
    <details> element that opens on a click (no script)."""
    from somcli.report.markdown import DETAILS

    parts = re.split(r"(?=<h2>)", body)
    out = []
    for part in parts:
        m = re.match(r"<h2>([^<]*)</h2>", part)
        if m and m.group(1) in DETAILS:
            rest = part[m.end():]
            out.append(f"<details><summary>{m.group(1)}</summary>{rest}</details>\n")
        else:
            out.append(part)
    return "".join(out)
