"""The explainer's document for a recurrent net unrolled in time: backpropagation through time.

The same records as :mod:`.document` (steps of ``rows`` and ``figures``, arrows and circles
revealed by step, the two cost meters), so ``page.js`` renders them; what is new is the picture,
a row of cells with the hidden state (and the LSTM's cell state) running left to right, and the
``time_norms`` row: ``‖∂L/∂h_t‖`` (and ``‖∂L/∂c_t‖``) at each time step, filled in as the
backward pass reaches it, so a reader watches the gradient shrink on its way back in time.

Every number is read from :class:`~.unrolled.Unrolled`, that is from the cell layers' own
forward and backward; this module only lays them out and words them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..graph.core import operation_label
from ..graph.layout import NAME_FONT, WORD_FONT, Arrow, Circle, Drawing, text_width
from ..graph.svg import drawing_to_svg
from ..graph.text import norm, shape_text, value_text
from .document import Record, gradient, heat_figure, norm_text
from .unrolled import GATES, Unrolled, unroll
from .words import say, words, words_for_page

GATE_FORMULAS = {  # ∂L/∂A of each gate: upstream × the gate's local derivative (the book's figures)
    "f": "∂L/∂c_{t} ⊙ c_{p} ⊙ f_{t}(1 − f_{t})",
    "g": "∂L/∂c_{t} ⊙ i_{t} ⊙ (1 − g_{t}²)",
    "i": "∂L/∂c_{t} ⊙ g_{t} ⊙ i_{t}(1 − i_{t})",
    "o": "∂L/∂h_{t} ⊙ tanh(c_{t}) ⊙ o_{t}(1 − o_{t})",
}
GATE_ACTIVATIONS = {"f": "σ", "g": "tanh", "i": "σ", "o": "σ"}
VANISHED, SHRUNK = 0.1, 1.0  # ‖∂L/∂h_0‖ / ‖∂L/∂h_T‖ below these: "vanishes", "shrinks"


def _ratio(series: list[float]) -> float:
    """How much of the last step's gradient norm is left at the first step."""
    return series[0] / series[-1] if series[-1] else 0.0


def _plain(x: float) -> str:
    return f"{x:.3g}"


class _Picture:
    """The unrolled net drawn left to right: arrows and circles in the order the records index them."""

    LANE = 125.0  # width of a gap's horizontal runs: room for "norm 0.000123"
    BEND = 30.0
    GAP = 14.0
    ROW = 74.0  # between stacked lanes: a name and value above each, its gradient below

    def __init__(self, net: Unrolled) -> None:
        self.arrows: list[Arrow] = []
        self.circles: list[Circle] = []
        self.arrow_steps: list[Record] = []
        self.circle_steps: list[Record] = []
        self.labels = ["RNN" if net.kind == "rnn" else "LSTM", operation_label(net.head), operation_label(net.loss_layer)]

    @staticmethod
    def radius(label: str) -> float:
        """Big enough for the label's widest line and all its lines (as :mod:`chainrule.graph.layout` sizes them)."""
        return max(22.0, max(text_width(label, WORD_FONT) / 2, 0.6 * WORD_FONT * label.count("\n") + 8) + 10)

    def circle(self, x: float, y: float, label: str, name: str, caption: list[tuple[str, str]], value: int,
               grad: int | None, norms: list[list[str]]) -> Circle:
        circle = Circle(x, y, self.radius(label), label, WORD_FONT, name, caption)
        self.circles.append(circle)
        self.circle_steps.append({"value": value, "grad": grad, "norms": norms})
        return circle

    def lane(self, name: str, value: Any, grad: Any, source: Circle | None, target: Circle | None, y: float,
             start: float, value_step: int, grad_step: int | None) -> None:
        """A value's arrow: out of ``source`` (or from nowhere), along a run at ``y``, into ``target``."""
        end = start + self.LANE
        points = [(source.x + source.r, source.y)] if source is not None else []
        if target is None:
            points += [(start, y), (end, y)]
        else:
            points += [(start, y), (end, y)]
            dx, dy = target.x - end, target.y - y
            length = (dx * dx + dy * dy) ** 0.5
            points.append((target.x - target.r * dx / length, target.y - target.r * dy / length))
        grad_label = "" if grad is None else (value_text(grad) if np.ndim(grad) == 0 else f"norm {norm(grad):.3g}")
        self.arrows.append(Arrow(
            points, name, value_text(value), grad_label, start + self.LANE / 2, y,
            source=source.name if source else "", target=target.name if target else "",
        ))
        self.arrow_steps.append({
            "value": value_step,
            "grad": grad_step if grad is not None else None,
            "source": source.name if source else "",
            "target": target.name if target else "",
            "norm": grad_label.removeprefix("norm ") if grad_label.startswith("norm ") else None,
        })


def cell_name(net: Unrolled, t: int) -> str:
    return f"{'RNN' if net.kind == 'rnn' else 'LSTM'}_{t}"


class _Document:
    """Steps: inputs; the cells forward, the head, the loss; the seed; back through them; all gradients."""

    def __init__(self, net: Unrolled, comparison: Unrolled | None) -> None:
        self.net, self.comparison = net, comparison
        T = self.T = net.steps
        self.lstm = net.kind == "lstm"
        self.nodes = [cell_name(net, t) for t in range(1, T + 1)] + ["Affine", "Loss"]
        self.forward_step = {name: i + 1 for i, name in enumerate(self.nodes)}
        self.seed = len(self.nodes) + 1
        self.backward_step = {name: self.seed + 1 + i for i, name in enumerate(reversed(self.nodes))}
        self.done = self.seed + len(self.nodes) + 1
        self.title = (
            f"{'RNN' if not self.lstm else 'LSTM'} unrolled over {T} time steps "
            f"(input {net.xs[0].shape[1]}, hidden {net.states[0][0].shape[1]})"
        )

    def cell_forward(self, t: int) -> int:
        return self.forward_step[cell_name(self.net, t)]

    def cell_backward(self, t: int) -> int:
        return self.backward_step[cell_name(self.net, t)]

    # -- the picture ------------------------------------------------------------------------------

    def picture(self) -> tuple[Drawing, _Picture]:
        net, T, lstm = self.net, self.T, self.lstm
        p = _Picture(net)
        row = p.ROW
        top = 20 + 30 + 42  # margin, title, room above the first lane
        c_y = top  # the cell state's lane (an LSTM's), above the hidden state's
        y = top + (row / 2 if lstm else 0)  # the cells' centre line
        h_y = y + (row / 2 if lstm else 0)
        x_y = h_y + row
        cell_labels = [f"{p.labels[0]}\nt = {t}" for t in range(1, T + 1)]  # inside: a caption would meet x_t's arrow
        radii = [p.radius(cell_labels[-1])] * T + [p.radius(p.labels[1]), p.radius(p.labels[2])]
        starts = [20.0]  # where each column's gap of lanes begins; the circle follows it
        for r in radii:
            starts.append(starts[-1] + p.LANE + p.BEND + 2 * r + p.GAP)

        def centre(k: int) -> float:  # the k-th circle from the left (0-based)
            return starts[k] + p.LANE + p.BEND + radii[k]

        cells: list[Circle] = []
        for t in range(1, T + 1):
            name = cell_name(net, t)
            cells.append(p.circle(centre(t - 1), y, cell_labels[t - 1], name, [],
                                  self.cell_forward(t), self.cell_backward(t), []))
        head_norms = [["dW_out", norm_text(net.head.grads["W"])], ["db_out", norm_text(net.head.grads["b"])]]
        head = p.circle(centre(T), y, p.labels[1], "Affine",
                        [("W_out " + shape_text(net.head.params["W"]), "value"),
                         ("dW_out " + f"norm {head_norms[0][1]}", "grad")],
                        self.forward_step["Affine"], self.backward_step["Affine"], head_norms[:1])
        loss = p.circle(centre(T + 1), y, p.labels[2], "Loss", [], self.forward_step["Loss"], self.backward_step["Loss"], [])
        for t in range(1, T + 1):
            start = starts[t - 1]
            source = cells[t - 2] if t > 1 else None
            back = self.cell_backward(t)
            if lstm:
                p.lane(f"c_{t - 1}", net.states[t - 1][1], net.dc_via_c[t - 1], source, cells[t - 1], c_y, start,
                       self.cell_forward(t - 1) if t > 1 else 0, back)
            p.lane(f"h_{t - 1}", net.states[t - 1][0], net.dh[t - 1], source, cells[t - 1], h_y, start,
                   self.cell_forward(t - 1) if t > 1 else 0, back)
            p.lane(f"x_{t}", net.xs[t - 1], net.dxs[t], None, cells[t - 1], x_y, start, 0, back)
        start = starts[T]
        p.lane(f"h_{T}", net.states[T][0], net.dh[T], cells[-1], head, h_y, start, self.cell_forward(T),
               self.backward_step["Affine"])
        start = starts[T + 1]
        p.lane("s", net.score, net.dscore, head, loss, y, start, self.forward_step["Affine"], self.backward_step["Loss"])
        p.lane("t", net.label, None, None, loss, y + row, start, 0, None)
        p.lane("L", net.loss, 1.0, loss, None, y, starts[T + 2], self.forward_step["Loss"], self.seed)
        legend = say(words("legend_arrays", out="L"))
        width = max(starts[T + 2] + p.LANE + 20, text_width(legend, NAME_FONT) + 40)
        height = x_y + 32 + 16 + 34 + 10
        return Drawing(self.title, width, height, p.circles, p.arrows, legend), p

    # -- steps ------------------------------------------------------------------------------------

    @staticmethod
    def step(kind: str, title: Record, text: Record, rows: list[Record], figures: list[Record | None],
             node: str | None = None, arrows: list[int] | None = None, circles: list[int] | None = None) -> Record:
        return {"kind": kind, "node": node, "title": title, "text": text, "rows": rows,
                "figures": [f for f in figures if f], "arrows": arrows or [], "circles": circles or []}

    def touching(self, picture: _Picture, name: str) -> tuple[list[int], list[int]]:
        arrows = [i for i, a in enumerate(picture.arrows) if name in (a.source, a.target)]
        return arrows, [i for i, c in enumerate(picture.circles) if c.name == name]

    def figure_value(self, name: str, array: Any) -> Record | None:
        return heat_figure(array, words("figure_value", name=name, shape=shape_text(array)))

    def figure_grad(self, name: str, array: Any) -> Record | None:
        return heat_figure(array, words("figure_grad", out="L", name=name, shape=shape_text(array)))

    def start(self, picture: _Picture) -> Record:
        net, T = self.net, self.T
        rows: list[Record] = [{"kind": "input_array", "edge": f"x_{t}", "shape": shape_text(net.xs[t - 1])}
                              for t in range(1, T + 1)]
        rows.append({"kind": "input_array", "edge": "h_0", "shape": shape_text(net.states[0][0])})
        if self.lstm:
            rows.append({"kind": "input_array", "edge": "c_0", "shape": shape_text(net.states[0][1])})
        rows.append({"kind": "labels", "edge": "t", "shape": shape_text(net.label), "labels": str(int(net.label[0]))})
        cell = net.cells[0]
        rows.append({"kind": "params", "node": cell_name(net, 1),
                     "params": [{"name": k, "shape": shape_text(v)} for k, v in cell.params.items()]})
        rows.append({"kind": "note", "words": words("shared_weights", cell="LSTM" if self.lstm else "RNN", steps=T)})
        sequence = np.concatenate(net.xs, axis=0)
        figures = [self.figure_value(f"x_1 … x_{T}", sequence), self.figure_value("Wh", cell.params["Wh"])]
        arrows = [i for i, a in enumerate(picture.arrows) if not a.source]
        return self.step("start", words("phase_start"), words("text_start_time", steps=T), rows, figures, arrows=arrows)

    def forward_row(self, node: str, formula: str, result: str) -> Record:
        return {"kind": "forward", "node": node, "formula": formula, "numbers": "", "result": result}

    def array_row(self, name: str, array: Any) -> Record:
        return {"kind": "array", "edge": name, "shape": shape_text(array), "norm": norm_text(array)}

    def cell_forward_step(self, picture: _Picture, t: int) -> Record:
        net, node = self.net, cell_name(self.net, t)
        h = net.states[t][0]
        inputs = f"x_{t}, h_{t - 1}" + (f", c_{t - 1}" if self.lstm else "")
        if not self.lstm:
            rows = [self.forward_row(node, f"h_{t} = tanh(x_{t} Wx + h_{t - 1} Wh + b)", shape_text(h)),
                    self.array_row(f"h_{t}", h)]
            figures = [self.figure_value(f"h_{t}", h)]
            output = f"h_{t}"
        else:
            c = net.states[t][1]
            gates = net.gates(t)
            H = h.shape[1]
            rows = [self.forward_row(node, f"A = x_{t} Wx + h_{t - 1} Wh + b", f"(1, {4 * H})")]
            for gate in GATES:
                values = gates[gate]
                rows.append({
                    "kind": "gate", "node": node, "gate": gate, "name": f"{gate}_{t}",
                    "formula": f"{gate}_{t} = {GATE_ACTIVATIONS[gate]}(A_{gate})", "words": words(f"gate_{gate}"),
                    "mean": _plain(values.mean()), "low": _plain(values.min()), "high": _plain(values.max()),
                })
            rows += [self.forward_row(node, f"c_{t} = f_{t} ⊙ c_{t - 1} + g_{t} ⊙ i_{t}", shape_text(c)),
                     self.forward_row(node, f"h_{t} = o_{t} ⊙ tanh(c_{t})", shape_text(h)),
                     self.array_row(f"c_{t}", c), self.array_row(f"h_{t}", h)]
            stacked = np.concatenate([gates[g] for g in GATES], axis=0)  # one row per gate
            figures = [self.figure_value(f"f_{t}, g_{t}, i_{t}, o_{t} (rows)", stacked),
                       self.figure_value(f"c_{t}", c), self.figure_value(f"h_{t}", h)]
            output = f"h_{t}, c_{t}"
        arrows, circles = self.touching(picture, node)
        return self.step(
            "forward", words("phase_forward", index=t, count=len(self.nodes), node=node),
            words("text_forward", node=node, inputs=inputs, output=output), rows, figures, node, arrows, circles,
        )

    def head_forward_steps(self, picture: _Picture) -> list[Record]:
        net, T = self.net, self.T
        rows = [self.forward_row("Affine", f"s = h_{T} W_out + b_out", shape_text(net.score)), self.array_row("s", net.score),
                {"kind": "params", "node": "Affine",
                 "params": [{"name": k, "shape": shape_text(v)} for k, v in net.params.items() if k.endswith("_out")]}]
        arrows, circles = self.touching(picture, "Affine")
        affine = self.step("forward", words("phase_forward", index=T + 1, count=len(self.nodes), node="Affine"),
                           words("text_forward", node="Affine", inputs=f"h_{T}", output="s"), rows,
                           [self.figure_value("s", net.score)], "Affine", arrows, circles)
        arrows, circles = self.touching(picture, "Loss")
        loss = self.step(
            "forward", words("phase_forward", index=T + 2, count=len(self.nodes), node="Loss"),
            words("text_forward", node="Loss", inputs="s, t", output="L"),
            [self.forward_row("Loss", "L = SoftmaxWithLoss(s, t)", value_text(net.loss))], [], "Loss", arrows, circles,
        )
        return [affine, loss]

    def seed_step(self, picture: _Picture) -> Record:
        arrows = [i for i, a in enumerate(picture.arrows) if not a.target and a.name == "L"]
        return self.step("seed", words("phase_seed"), words("text_seed", out="L", seed="1"),
                         [{"kind": "seed", "out": "L", "grad": {"value": "1"}}], [], arrows=arrows)

    def product(self, node: str, input_name: str, output: str, local_name: str, upstream: Any, grad: Any,
                formula: str, factor: bool = False) -> Record:
        record: Record = {
            "kind": "product", "node": node, "input": input_name, "out": "L", "output": output,
            "local_name": local_name, "upstream": gradient(upstream), "local": None, "grad": gradient(grad),
            "why": words("why_formula", formula=f"= {formula}"),
        }
        if factor:
            record["factor"] = words("norm_factor", factor=_plain(norm(grad) / norm(upstream)) if norm(upstream) else "0")
        return record

    def head_backward_steps(self, picture: _Picture) -> list[Record]:
        net, T = self.net, self.T
        index = {name: i + 1 for i, name in enumerate(reversed(self.nodes))}
        loss_rows = [
            self.product("Loss", "s", "L", "∂SoftmaxWithLoss(s, t)/∂s", 1.0, net.dscore, "softmax(s) − onehot(t)"),
            {"kind": "no_gradient", "node": "Loss", "input": "t"},
        ]
        arrows, circles = self.touching(picture, "Loss")
        loss = self.step("backward", words("phase_backward", index=index["Loss"], count=len(self.nodes), node="Loss"),
                         words("text_backward_array", node="Loss", out="L", output="L"), loss_rows,
                         [self.figure_grad("s", net.dscore)], "Loss", arrows, circles)
        grads = net.head.grads
        rows = [
            self.product("Affine", f"h_{T}", "s", f"∂Affine(h_{T})/∂h_{T}", net.dscore, net.dh[T], "∂L/∂s W_outᵀ"),
            {"kind": "param_grads", "node": "Affine",
             "grads": [{"name": "dW_out", "norm": norm_text(grads["W"])}, {"name": "db_out", "norm": norm_text(grads["b"])}]},
            self.time_norms(known_h=T, known_c=T + 1),
        ]
        arrows, circles = self.touching(picture, "Affine")
        affine = self.step(
            "backward", words("phase_backward", index=index["Affine"], count=len(self.nodes), node="Affine"),
            words("text_backward_array", node="Affine", out="L", output="s"), rows,
            [self.figure_grad(f"h_{T}", net.dh[T]), self.figure_grad("W_out", grads["W"])], "Affine", arrows, circles,
        )
        return [loss, affine]

    def cell_backward_step(self, picture: _Picture, t: int) -> Record:
        net, T, node = self.net, self.T, cell_name(self.net, t)
        index = T + 3 - t
        cell = net.cells[t - 1]
        rows: list[Record] = []
        figures: list[Record | None] = []
        if not self.lstm:
            slope = f"(∂L/∂h_{t} ⊙ (1 − h_{t}²))"
            rows += [
                self.product(node, f"h_{t - 1}", f"h_{t}", f"∂h_{t}/∂h_{t - 1}", net.dh[t], net.dh[t - 1],
                             f"{slope} Whᵀ", factor=True),
                self.product(node, f"x_{t}", f"h_{t}", f"∂h_{t}/∂x_{t}", net.dh[t], net.dxs[t], f"{slope} Wxᵀ"),
            ]
            figures.append(self.figure_grad(f"h_{t - 1}", net.dh[t - 1]))
            text = words("text_backward_rnn", node=node, t=t, prev=t - 1)
        else:
            rows.append({
                "kind": "paths", "edge": f"c_{t}", "out": "L",
                "parts": [
                    {"formula": f"∂L/∂c_{t + 1} ⊙ f_{t + 1}" if t < T else "0", "norm": norm_text(net.dc_via_c[t])},
                    {"formula": f"∂L/∂h_{t} ⊙ o_{t} ⊙ (1 − tanh²(c_{t}))", "norm": norm_text(net.dc[t] - net.dc_via_c[t])},
                ],
                "grad": gradient(net.dc[t]),
                "why": words("two_paths", edge=f"c_{t}", next=f"c_{t + 1}", hidden=f"h_{t}"),
            })
            dA = net.dA(t)
            H = net.states[0][0].shape[1]
            for k, gate in enumerate(GATES):
                formula = GATE_FORMULAS[gate].replace("{t}", str(t)).replace("{p}", str(t - 1))
                rows.append({"kind": "gate_grad", "node": node, "gate": gate, "name": f"A_{gate}",
                             "formula": formula, "norm": norm_text(dA[:, k * H:(k + 1) * H]), "words": words(f"gate_{gate}")})
            rows += [
                self.product(node, f"c_{t - 1}", f"c_{t}", f"∂c_{t}/∂c_{t - 1}", net.dc[t], net.dc_via_c[t - 1],
                             f"∂L/∂c_{t} ⊙ f_{t}", factor=True),
                self.product(node, f"h_{t - 1}", f"A_{t}", f"∂A_{t}/∂h_{t - 1}", dA, net.dh[t - 1], f"∂L/∂A_{t} Whᵀ"),
                self.product(node, f"x_{t}", f"A_{t}", f"∂A_{t}/∂x_{t}", dA, net.dxs[t], f"∂L/∂A_{t} Wxᵀ"),
            ]
            figures += [self.figure_grad(f"A_{t}: A_f, A_g, A_i, A_o (rows)", dA.reshape(len(GATES), H)), self.figure_grad(f"c_{t}", net.dc[t]),
                        self.figure_grad(f"h_{t - 1}", net.dh[t - 1])]
            text = words("text_backward_lstm", node=node, t=t, prev=t - 1)
        rows.append({"kind": "param_grads", "node": node,
                     "grads": [{"name": f"d{k}", "norm": norm_text(g)} for k, g in cell.grads.items()]})
        if t == 1:
            rows.append({"kind": "note", "words": words("shares_add", steps=T)})
        rows.append(self.time_norms(known_h=t - 1, known_c=t if t > 1 else 0))
        figures.append(self.figure_grad(f"Wh, t = {t}", cell.grads["Wh"]))
        arrows, circles = self.touching(picture, node)
        return self.step("backward", words("phase_backward", index=index, count=len(self.nodes), node=node), text,
                         rows, figures, node, arrows, circles)

    # -- the gradient's size through time ---------------------------------------------------------

    def series(self, net: Unrolled, state: str, known: int, label: str) -> Record:
        grads = net.dh if state == "h" else net.dc
        norms = [norm(grads[t]) if t >= known else None for t in range(net.steps + 1)]
        return {
            "label": label, "names": [f"{state}_{t}" for t in range(net.steps + 1)], "norms": norms,
            "texts": [None if n is None else _plain(n) for n in norms],
        }

    def time_norms(self, known_h: int, known_c: int, comparison: bool = False) -> Record:
        """``‖∂L/∂h_t‖`` (and ``‖∂L/∂c_t‖``) for ``t = 0..T``: those not yet computed are None."""
        series = []
        if self.lstm:
            series.append(self.series(self.net, "c", known_c, "LSTM ‖∂L/∂c_t‖"))
        series.append(self.series(self.net, "h", known_h, f"{'LSTM' if self.lstm else 'RNN'} ‖∂L/∂h_t‖"))
        if comparison and self.comparison is not None:
            series.append(self.series(self.comparison, "h", 0, "RNN ‖∂L/∂h_t‖"))
        return {"kind": "time_norms", "words": words("time_norms_heading"), "series": series}

    def verdict(self) -> list[Record]:
        """What the norms did on the way back, in words: vanished, shrank or grew (RNN: ``∂L/∂h``)."""
        rnn = self.comparison if self.lstm else self.net
        if rnn is None:  # an LSTM drawn without its RNN to compare with
            return []
        series = [norm(rnn.dh[t]) for t in range(rnn.steps + 1)]
        ratio = _ratio(series)
        key = "time_vanish" if ratio < VANISHED else "time_shrink" if ratio < SHRUNK else "time_grow"
        values = dict(steps=rnn.steps, last=_plain(series[-1]), first=_plain(series[0]), ratio=_plain(ratio),
                      per_step=_plain(ratio ** (1 / rnn.steps)))
        notes = [{"kind": "note", "words": words(key, **values)}]
        if self.lstm:
            cells = [norm(self.net.dc[t]) for t in range(self.T + 1)]
            notes.append({"kind": "note", "words": words(
                "lstm_compare", steps=self.T, last=_plain(cells[-1]), first=_plain(cells[0]),
                ratio=_plain(_ratio(cells)), rnn_ratio=_plain(ratio),
                forget=_plain(np.mean([self.net.gates(t)["f"].mean() for t in range(1, self.T + 1)])),
            )})
        return notes

    def summary(self) -> Record:
        net, T = self.net, self.T
        rows: list[Record] = [{"kind": "heading", "words": words("results_inputs")}]
        rows += [{"kind": "result", "edge": f"x_{t}", "out": "L", "grad": gradient(net.dxs[t]), "parameter": False}
                 for t in range(1, T + 1)]
        rows.append({"kind": "result", "edge": "h_0", "out": "L", "grad": gradient(net.dh[0]), "parameter": False})
        if self.lstm:
            rows.append({"kind": "result", "edge": "c_0", "out": "L", "grad": gradient(net.dc[0]), "parameter": False})
        params, grads = net.params, net.grads()
        count = sum(int(a.size) for a in params.values())
        rows.append({"kind": "heading", "words": words("results_parameters", count=len(params), unknowns=f"{count:,}")})
        rows += [{"kind": "result", "edge": k, "out": "L", "grad": gradient(g), "parameter": True} for k, g in grads.items()]
        rows.append(self.time_norms(known_h=0, known_c=0, comparison=True))
        rows += self.verdict()
        return self.step("done", words("phase_done"), words("text_done_time", out="L", steps=T), rows, [])

    # -- the cost meters --------------------------------------------------------------------------

    def costs(self) -> tuple[Record, list[Record]]:
        """As :meth:`.document._Steps.costs`: a shared weight is known once the first step's backward added its share."""
        net = self.net
        nodes = len(self.nodes)
        cell_params = sum(int(a.size) for a in net.cells[0].params.values())
        head_params = sum(int(a.size) for a in net.head.params.values())
        known_at = {self.backward_step["Affine"]: head_params, self.cell_backward(1): cell_params}
        unknowns = cell_params + head_params
        totals = {"kind": "parameters", "nodes": nodes, "unknowns": unknowns, "backprop": 2 * nodes,
                  "numerical": 2 * nodes * unknowns}
        per_step, known = [], 0
        for step in range(self.done + 1):
            known += known_at.get(step, 0)
            per_step.append({"forward": min(step, nodes), "backward": max(0, min(step - self.seed, nodes)),
                             "known": known, "numerical": 2 * nodes * known})
        return totals, per_step

    def build(self) -> Record:
        drawing, picture = self.picture()
        steps = [self.start(picture)]
        steps += [self.cell_forward_step(picture, t) for t in range(1, self.T + 1)]
        steps += self.head_forward_steps(picture)
        steps.append(self.seed_step(picture))
        steps += self.head_backward_steps(picture)
        steps += [self.cell_backward_step(picture, t) for t in range(self.T, 0, -1)]
        steps.append(self.summary())
        totals, costs = self.costs()
        for step, cost in zip(steps, costs, strict=True):
            step["cost"] = cost
        return {
            "title": self.title,
            "differentiated": "L",
            "svg": drawing_to_svg(drawing).split("\n", 1)[1],
            "legend": words("legend_arrays", out="L"),
            "arrows": picture.arrow_steps,
            "circles": picture.circle_steps,
            "steps": steps,
            "cost": totals,
            "inputs": [],
            "served": False,
            "serve_command": "",
            "words": words_for_page(),
        }


def through_time_document(net: Unrolled, comparison: Unrolled | None = None) -> Record:
    """The page's document for ``net``; an LSTM's also shows ``comparison`` (an RNN's) ``‖∂L/∂h_t‖``."""
    return _Document(net, comparison).build()


def explain_through_time(kind: str, *, steps: int = 4, seed: int = 0) -> tuple[Record, Unrolled]:
    """``kind`` "rnn" or "lstm" unrolled over ``steps``; an LSTM's page compares with the RNN of the same seed."""
    net = unroll(kind, steps=steps, seed=seed)
    comparison = unroll("rnn", steps=steps, seed=seed) if kind == "lstm" else None
    return through_time_document(net, comparison), net
