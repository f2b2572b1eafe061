"""Watch the chain rule happen: an interactive page that steps through a graph's forward and backward pass.

    from chainrule.explain import explain, serve
    from chainrule.graph import apple_orange
    explain(apple_orange(), "apple-orange.html")    # one self-contained file
    explanation = explain(apple_orange())           # Jupyter shows it inline
    serve(apple_orange())                           # a local server: edit inputs, recompute
    ThroughTimeExplanation("rnn").save("rnn.html")  # backpropagation through time, step by step
    explain_network(open_network(onnx="model.onnx").net, x, t)   # any network: chainrule.explain.networks

Everything shown is computed in Python by the graph's own layers (:mod:`.document`); the page's
script only reveals it step by step. ``chainrule explain`` is the command-line entry point.
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from pathlib import Path
from typing import Any

from ..errors import GraphError
from ..graph.core import Graph
from .document import build_document, ready_to_run
from .inputs import apply_inputs, parse_value
from .page import render_page
from .server import ExplainServer
from .through_time import explain_through_time
from .words import LANGUAGES


class Explanation:
    """The explainer for one graph: ``save`` it as a file, ``serve`` it, or display it in Jupyter."""

    def __init__(self, graph: Graph, *, language: str = "en", serve_command: str = "chainrule.explain.serve(graph)") -> None:
        if language not in LANGUAGES:
            raise ValueError(f"explain: language must be one of {sorted(LANGUAGES)}, got {language!r}")
        self.graph = ready_to_run(graph)
        self.language = language
        self.serve_command = serve_command

    def document(self, *, served: bool = False) -> dict[str, Any]:
        return build_document(self.graph, served=served, serve_command=self.serve_command)

    def html(self, *, served: bool = False) -> str:
        """The whole page as one string: no external file, font, script or network request."""
        return render_page(self.document(served=served), language=self.language)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(self.html(), encoding="utf-8")
        return path

    def recompute(self, inputs: Mapping[str, str]) -> dict[str, Any]:
        """Set inputs from text (as typed in the page), rerun the graph, return the served document."""
        apply_inputs(self.graph, inputs)
        return self.document(served=True)

    def serve(self, port: int = 0) -> ExplainServer:
        """A server on 127.0.0.1 (``port=0``: a free one); call ``serve_forever()`` or ``start_in_thread()``."""
        return ExplainServer(self, port)

    @property
    def title(self) -> str:
        return self.graph.name

    def _repr_html_(self) -> str:
        # An iframe keeps the page's script, styles and element ids apart from the notebook's.
        return (
            f'<iframe title="{escape(self.title)}: chainrule explain" srcdoc="{escape(self.html(), quote=True)}" '
            'sandbox="allow-scripts" style="width: 100%; height: 900px; border: 1px solid #ccc"></iframe>'
        )

    def __repr__(self) -> str:
        return f"Explanation({self.graph!r})"


class ThroughTimeExplanation(Explanation):
    """The explainer of a small RNN or LSTM unrolled over ``steps`` time steps (backpropagation through time).

    A fixed page: its inputs are a sequence of arrays, so there is nothing to retype and serve.
    """

    def __init__(self, kind: str, *, steps: int = 4, seed: int = 0, language: str = "en") -> None:
        if language not in LANGUAGES:
            raise ValueError(f"explain: language must be one of {sorted(LANGUAGES)}, got {language!r}")
        self._document, self.net = explain_through_time(kind, steps=steps, seed=seed)
        self.language = language
        self.serve_command = ""

    @property
    def title(self) -> str:
        return self._document["title"]

    def document(self, *, served: bool = False) -> dict[str, Any]:
        return self._document

    def recompute(self, inputs: Mapping[str, str]) -> dict[str, Any]:
        raise GraphError(f"{self.title}: its inputs are a sequence of arrays; there is no input to set")

    def serve(self, port: int = 0) -> ExplainServer:
        raise GraphError(f"{self.title}: a fixed page with nothing to recompute; save() it and open the file")

    def norms_text(self) -> str:
        """``‖∂L/∂h_t‖`` (and ``‖∂L/∂c_t‖``) for t = 0..T, as the page's summary shows them."""
        summary = next(row for row in self._document["steps"][-1]["rows"] if row["kind"] == "time_norms")
        width = max(len(series["label"]) for series in summary["series"])
        return "\n".join(
            f"{series['label']:<{width}}  t = 0..{len(series['texts']) - 1}: {'  '.join(series['texts'])}"
            for series in summary["series"]
        )

    def __repr__(self) -> str:
        return f"ThroughTimeExplanation({self.net.kind!r}, steps={self.net.steps})"


def explain(graph: Graph, path: str | Path | None = None, *, language: str = "en") -> Explanation:
    """The explainer of ``graph`` (run forward and backward first if it has not been); saved if ``path``."""
    explanation = Explanation(graph, language=language)
    if path is not None:
        explanation.save(path)
    return explanation


def serve(graph: Graph, port: int = 0, *, language: str = "en") -> ExplainServer:
    """Serve ``graph``'s explainer in a background thread; open the returned server's ``url``."""
    server = Explanation(graph, language=language).serve(port)
    server.start_in_thread()
    print(f"chainrule explain: serving {graph.name!r} at {server.url} (server.shutdown() stops it)")
    return server


__all__ = ["ExplainServer", "Explanation", "ThroughTimeExplanation", "apply_inputs", "explain", "parse_value", "serve"]
