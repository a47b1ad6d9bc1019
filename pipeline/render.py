"""The one template set and the one evidence highlighter of every page and card the project writes:
the HTML report of each law (pipeline.report), the dataset card (publish), the model card (train),
and the provision cards of the notebooks (pipeline.explore). Templates live in pipeline/templates/.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

TEMPLATES = Path(__file__).parent / "templates"
# Highlight colour of evidence per dimension ("both": a span of each dimension covers the words); the
# report's stylesheet (templates/report.html.j2) uses the same colours for the same classes.
COLOURS = {"vagueness": "#ffe08a", "speech_risk": "#ffb3b3", "both": "#f5a3ff"}
WITHHELD = Markup("<em>text not redistributable (manifest: redistribute_text: false)</em>")


def md_cell(v: Any) -> str:
    """A value as one Markdown table cell: whitespace collapsed, pipes escaped."""
    return " ".join(str(v if v is not None else "").split()).replace("|", "\\|")


def environment(markdown: bool = False) -> jinja2.Environment:
    """Templates of pipeline/templates: HTML autoescaped, Markdown (``markdown=True``) not."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=not markdown,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["md"] = md_cell
    return env


def render(template: str, **context: Any) -> str:
    """Render ``template`` (``*.md.j2`` as Markdown, anything else as autoescaped HTML)."""
    return environment(markdown=template.endswith(".md.j2")).get_template(template).render(**context)


def highlight(
    text: str | None, evidence: Iterable[dict[str, Any]], dimension: str | None = None, inline: bool = False
) -> Markup:
    """``text`` escaped, with every evidence span (of ``dimension``, or all) wrapped in <mark>.

    Overlapping spans are cut at every boundary, so each piece shows all the evidence covering it: its
    class is the dimension (``both`` when spans of both dimensions cover it) plus ``model`` when a
    model span does, its title the categories and sources. ``inline`` adds the colour as a style, for
    pages without the report's stylesheet (notebooks). Text withheld by its licence (None) says so.
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return WITHHELD
    spans = [
        e
        for e in evidence
        if (dimension is None or e["dimension"] == dimension) and 0 <= e["start"] < e["end"] <= len(text)
    ]
    cuts = sorted({0, len(text)} | {e["start"] for e in spans} | {e["end"] for e in spans})
    out: list[str] = []
    for s, t in zip(cuts, cuts[1:], strict=False):
        seg = escape(text[s:t])
        cover = [e for e in spans if e["start"] <= s and t <= e["end"]]
        if not cover:
            out.append(str(seg))
            continue
        dims = {e["dimension"] for e in cover}
        key = "both" if len(dims) > 1 else next(iter(dims))
        cls = key + (" model" if any(e["source"] == "model" for e in cover) else "")
        style = f' style="background:{COLOURS[key]}"' if inline else ""
        title = "; ".join(sorted({f"{e['dimension']}:{e['category']} ({e['source']})" for e in cover}))
        out.append(f'<mark class="{escape(cls)}"{style} title="{escape(title)}">{seg}</mark>')
    return Markup("".join(out))


def legend(inline: bool = True) -> Markup:
    """The colour key of :func:`highlight`."""
    return Markup(
        " ".join(
            f'<mark class="{k}"' + (f' style="background:{c}"' if inline else "") + f">{k}</mark>"
            for k, c in COLOURS.items()
        )
    )
