"""The shape of every email the service sends: a summary sentence, a table of details, and
optional titled sections, as plain text and as the HTML alternative (alerts and digests alike).
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from core.config import APP_NAME

Details = Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Section:
    """A titled list: each row is one line of text, or the cells of one HTML table row."""

    title: str
    rows: Sequence[Sequence[str]]
    header: Sequence[str] = ()


def render_text(summary: str, details: Details, sections: Sequence[Section] = ()) -> str:
    lines = [summary, ""]
    lines += [f"{label}: {value}" for label, value in details]
    for section in sections:
        lines += ["", f"{section.title}:"]
        lines += [f"- {' · '.join(cell for cell in row if cell)}" for row in section.rows]
    lines += ["", f"-- {APP_NAME}"]
    return "\n".join(lines) + "\n"


def render_html(summary: str, details: Details, sections: Sequence[Section] = ()) -> str:
    rows = "".join(
        f'<tr><th align="left" style="padding:2px 12px 2px 0">{html.escape(label)}</th>'
        f"<td>{html.escape(value)}</td></tr>"
        for label, value in details
    )
    parts = [f"<p>{html.escape(summary)}</p><table>{rows}</table>"]
    for section in sections:
        parts.append(f"<h3>{html.escape(section.title)}</h3>{_table(section)}")
    return (
        '<!DOCTYPE html><html><body style="font-family:sans-serif">'
        + "".join(parts)
        + f'<p style="color:#666;font-size:small">{html.escape(APP_NAME)}</p>'
        "</body></html>"
    )


def _table(section: Section) -> str:
    cell = 'style="padding:2px 12px 2px 0;text-align:left"'
    head = ""
    if section.header:
        head = "<tr>" + "".join(f"<th {cell}>{html.escape(h)}</th>" for h in section.header)
        head += "</tr>"
    body = "".join(
        "<tr>" + "".join(f"<td {cell}>{html.escape(value)}</td>" for value in row) + "</tr>"
        for row in section.rows
    )
    return f"<table>{head}{body}</table>"
