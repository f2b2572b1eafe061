"""The explainer as one HTML file: styles, script and data inline, nothing fetched from anywhere.

The skeleton is the template ``page.html`` beside this module. The graph's SVG is written straight
into the page, so a reader without JavaScript still sees the finished picture (every value and
gradient); ``page.js`` then renders the document's step records, hides what has not been computed
yet and plays the passes step by step.
"""

from __future__ import annotations

import json
from string import Template
from html import escape
from importlib.resources import files
from typing import Any

from .words import HTML_LANG, LANGUAGES, WORDS


def _asset(name: str) -> str:
    return files(__package__).joinpath(name).read_text(encoding="utf-8")


def _script_json(data: Any) -> str:
    """JSON that can sit inside <script>: ``</`` and ``<!--`` would end or confuse the element."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def render_page(document: dict[str, Any], *, language: str = "en", play_ms: int = 1200) -> str:
    """The full page for a document made by :func:`~chainrule.explain.document.build_document`.

    ``page.html`` is the skeleton (``$name`` fields, :class:`string.Template`); the words are
    filled in ``language`` so that a reader without JavaScript still reads headings and labels.
    """
    if language not in LANGUAGES:
        raise ValueError(f"explain: language must be one of {sorted(LANGUAGES)}, got {language!r}")
    language_buttons = "".join(
        f'<button type="button" data-language-choice="{code}" lang="{HTML_LANG[code]}" '
        f'aria-pressed="{str(code == language).lower()}">{escape(name)}</button>'
        for code, name in LANGUAGES.items()
    )
    fields = {f"w_{key}": escape(text[language]) for key, text in WORDS.items()}
    fields.update(
        html_lang=HTML_LANG[language],
        language=language,
        play_ms=str(int(play_ms)),
        title=escape(document["title"]),
        language_buttons=language_buttons,
        svg=document["svg"],
        css=_asset("page.css"),
        data=_script_json(document),
        script=_asset("page.js"),
    )
    return Template(_asset("page.html")).substitute(fields)
