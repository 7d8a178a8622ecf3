"""Keeping secrets out of what the project logs, stores and shows.

URLs lose their credentials and query strings (which may carry tokens); untrusted text shown in Dagster's
Markdown metadata or in pages is escaped so a tool name or file name cannot inject markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

_URL = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>]+")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~>-])")


def redact_url(url: str) -> str:
    """``scheme://host[:port]/path`` of a URL: no user, password, query or fragment."""
    try:
        p = urlsplit(url)
        host = p.hostname or ""
        port = p.port
    except ValueError:
        return "<unparsable URL>"
    if port:
        host += f":{port}"
    hidden = "…" if (p.query or p.fragment) else ""
    return f"{p.scheme}://{host}{p.path}{'?' + hidden if hidden else ''}"


def redact(text: str) -> str:
    """Every URL inside ``text`` redacted (see :func:`redact_url`)."""
    return _URL.sub(lambda m: redact_url(m.group(0)), str(text))


def md_text(value: object) -> str:
    """Untrusted text for a Markdown cell: URLs redacted, HTML escaped, Markdown syntax and newlines neutralised."""
    text = html.escape(redact(str(value)), quote=False).replace("\r", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table whose every cell is escaped with :func:`md_text`."""
    head = "| " + " | ".join(md_text(c) for c in columns) + " |\n|" + "---|" * len(columns) + "\n"
    return head + "".join("| " + " | ".join(md_text(v) for v in row) + " |\n" for row in rows)
