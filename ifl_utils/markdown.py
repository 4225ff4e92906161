"""Tables as Markdown for the book's pages.

A pandas DataFrame renders as an HTML table whose long text cells (paths, column descriptions)
push it past the page width, behind a horizontal scroll bar. The same table as Markdown, displayed
with ``IPython.display.Markdown`` (the book renders Markdown outputs as MyST, see ``_config.yml``),
wraps its text inside the page like the prose tables do.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pandas as pd


def cell(value: Any, code: bool = False) -> str:
    """One table cell: a pipe cannot end the cell, a line break cannot end the row.

    Parameters
    ----------
    value
        Any value; ``None`` and NA become an empty cell.
    code
        Show the value as inline code (paths, column names). Otherwise ``<``, ``>`` and ``&`` are
        written as entities, so that ``<user_id>`` shows as text and not as an HTML tag.

    Examples
    --------
    >>> cell("a | b")
    'a \\\\| b'
    >>> cell("user_behavior/<user_id>/")
    'user_behavior/&lt;user_id&gt;/'
    >>> cell("user_behavior/<user_id>/", code=True)
    '`user_behavior/<user_id>/`'
    """
    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return ""
    text = " ".join(str(value).split())
    if code:
        return "`" + text.replace("`", "'").replace("|", "\\|") + "`" if text else ""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("|", "\\|")


def table(df: pd.DataFrame, code: Iterable[str] = (), index: bool = False) -> str:
    """``df`` as a Markdown (GFM/MyST) table.

    Parameters
    ----------
    df
        The table; column names become the header.
    code
        Columns whose values are shown as inline code.
    index
        Include the index as the first column (named after ``df.index.name``).

    Returns
    -------
    str
        The table, one line per row, ending with a line break.
    """
    if index:
        df = df.reset_index()
    code = set(code)
    head = [cell(c) for c in df.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v, code=c in code) for c, v in zip(df.columns, row)) + " |")
    return "\n".join(lines) + "\n"
