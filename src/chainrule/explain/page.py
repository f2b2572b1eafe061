"""The explainer as one HTML file: styles, script and data inline, nothing fetched from anywhere.

The graph's SVG is also written straight into the page, so a reader without JavaScript still
sees the finished picture (every value and gradient); the script then hides what has not been
computed yet and plays the passes step by step.
"""

from __future__ import annotations

import json
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
    """The full page for a document made by :func:`~chainrule.explain.document.build_document`."""
    if language not in LANGUAGES:
        raise ValueError(f"explain: language must be one of {sorted(LANGUAGES)}, got {language!r}")

    def w(key: str) -> str:
        return escape(WORDS[key][language])

    def button(action: str, key: str) -> str:
        return f'<button type="button" data-action="{action}" data-word="{key}">{w(key)}</button>'

    title = escape(document["title"])
    language_buttons = "".join(
        f'<button type="button" data-language-choice="{code}" lang="{HTML_LANG[code]}" '
        f'aria-pressed="{str(code == language).lower()}">{escape(name)}</button>'
        for code, name in LANGUAGES.items()
    )
    return f"""<!DOCTYPE html>
<html lang="{HTML_LANG[language]}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}: chainrule explain</title>
<style>
{_asset("page.css")}</style>
</head>
<body>
<div id="explainer" data-language="{language}" data-play-ms="{int(play_ms)}">
<header>
<h1>{title}: <span class="subtitle" data-word="subtitle">{w("subtitle")}</span></h1>
<div class="languages" role="group" aria-label="Language / 语言">{language_buttons}</div>
</header>
<main>
<nav class="controls" aria-label="steps">
{button("reset", "reset")}
{button("back", "back")}
{button("play", "play")}
{button("next", "next")}
<span class="position" aria-live="polite"></span>
</nav>
<p class="keys" data-word="keys">{w("keys")}</p>
<figure class="graph" tabindex="0" aria-label="{w("graph_label")}">{document["svg"]}</figure>
<div class="panels">
<section class="panel step" aria-live="polite">
<h2></h2>
<p class="text"></p>
<div class="lines"></div>
<div class="figures"></div>
</section>
<div>
<section class="panel cost">
<h2 data-word="cost_heading">{w("cost_heading")}</h2>
<p class="unit" data-word="cost_unit">{w("cost_unit")}</p>
<p class="unit what"></p>
<div class="meter backprop"><span class="label" data-word="backprop">{w("backprop")}</span>
<div class="bar"><div class="fill"></div></div><span class="count"></span></div>
<div class="meter numerical"><span class="label" data-word="numerical">{w("numerical")}</span>
<div class="bar"><div class="fill"></div></div><span class="count"></span></div>
<p class="ratio"></p>
</section>
<section class="panel inputs">
<h2 data-word="inputs_heading">{w("inputs_heading")}</h2>
<form></form>
<p class="hint"></p>
<p class="status" role="status"></p>
</section>
</div>
</div>
</main>
</div>
<script type="application/json" id="explain-data">{_script_json(document)}</script>
<script>
{_asset("page.js")}</script>
</body>
</html>
"""
