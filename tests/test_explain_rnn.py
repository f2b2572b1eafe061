"""``chainrule explain --model rnn / lstm``: the records of backpropagation through time.

The page's numbers must be the cell layers' own: the tests hold them against the time-unrolled
layers (:class:`TimeRNN`, :class:`TimeLSTM`, a second implementation of the same loop) and
against central differences of the loss with respect to each hidden and cell state.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from chainrule.cli.main import main
from chainrule.errors import ConfigError, GraphError
from chainrule.explain import ThroughTimeExplanation
from chainrule.explain.through_time import explain_through_time
from chainrule.explain.unrolled import GATES, Unrolled, unroll
from chainrule.explain.words import WORDS, say
from chainrule.gradients import numerical_gradient
from chainrule.layers import LSTM, RNN, Affine, SoftmaxWithLoss, TimeLSTM, TimeRNN

TOLERANCE = 1e-10  # float64; central differences with h = 1e-5 land within ~2e-11 here


def series(document: dict, label: str, step: int = -1) -> list[float | None]:
    rows = document["steps"][step]["rows"]
    table = next(row for row in rows if row["kind"] == "time_norms")
    return next(s["norms"] for s in table["series"] if s["label"] == label)


def loss_from(net: Unrolled, t: int, h: np.ndarray, c: np.ndarray | None = None) -> float:
    """The loss recomputed from state ``(h_t, c_t)`` on, with fresh layers holding the same weights."""
    cell_type = LSTM if net.kind == "lstm" else RNN
    params = net.cells[0].params
    state = (h,) if c is None else (h, c)
    for x in net.xs[t:]:
        out = cell_type(params["Wx"], params["Wh"], params["b"]).forward(x, *state)
        state = out if isinstance(out, tuple) else (out,)
    head = Affine(net.head.params["W"], net.head.params["b"])
    return float(SoftmaxWithLoss().forward(head.forward(state[0]), net.label))


def time_layer(net: Unrolled) -> tuple[object, np.ndarray]:
    """The same weights in the time-unrolled layer, run forward and back from ``∂L/∂h_T`` only."""
    params = net.cells[0].params
    layer = (TimeLSTM if net.kind == "lstm" else TimeRNN)(params["Wx"], params["Wh"], params["b"])
    xs = np.stack([x[0] for x in net.xs])[None]
    hs = layer.forward(xs)
    dhs = np.zeros_like(hs)
    dhs[:, -1] = net.dh[net.steps]
    return layer, layer.backward(dhs)


@pytest.fixture(scope="module", params=["rnn", "lstm"])
def built(request):
    document, net = explain_through_time(request.param, steps=4, seed=0)
    return request.param, document, net


def test_every_array_is_float64_and_the_loss_sits_at_the_last_step(built):
    kind, document, net = built
    assert all(a.dtype == np.float64 for a in net.params.values()) and net.xs[0].dtype == np.float64
    assert net.dh[net.steps].shape == (1, 4) and net.steps == 4
    assert document["steps"][net.steps + 2]["rows"][0]["formula"] == "L = SoftmaxWithLoss(s, t)"


def test_gradients_equal_the_time_unrolled_layers_backward(built):
    kind, document, net = built
    layer, dxs = time_layer(net)
    for t in range(1, net.steps + 1):
        np.testing.assert_allclose(net.dxs[t][0], dxs[0, t - 1], rtol=0, atol=TOLERANCE)
    np.testing.assert_allclose(net.dh[0], layer.dstate[0], rtol=0, atol=TOLERANCE)
    if kind == "lstm":
        np.testing.assert_allclose(net.dc[0], layer.dstate[1], rtol=0, atol=TOLERANCE)
    grads = net.grads()
    for key in ("Wx", "Wh", "b"):
        np.testing.assert_allclose(grads[key], layer.grads[key], rtol=0, atol=TOLERANCE)
    # the summary's parameter rows are these sums
    results = {row["edge"]: row["grad"]["norm"] for row in document["steps"][-1]["rows"] if row["kind"] == "result"}
    assert results["Wh"] == f"{np.linalg.norm(layer.grads['Wh']):.3g}"


def test_the_norms_by_time_step_are_the_layers_gradients_and_numerical_ones(built):
    kind, document, net = built
    label = f"{kind.upper()} ‖∂L/∂h_t‖"
    shown = series(document, label)
    assert shown == pytest.approx([np.linalg.norm(net.dh[t]) for t in range(net.steps + 1)], rel=0, abs=TOLERANCE)
    for t in range(net.steps + 1):
        h = net.states[t][0].copy()
        c = net.states[t][1] if kind == "lstm" else None
        numerical = numerical_gradient(lambda h_: loss_from(net, t, h_, c), h, h=1e-5)
        np.testing.assert_allclose(net.dh[t], numerical, rtol=0, atol=TOLERANCE)
        assert abs(shown[t] - np.linalg.norm(numerical)) < TOLERANCE


def test_lstm_cell_state_gradients_add_two_paths_and_match_numerical_ones():
    document, net = explain_through_time("lstm", steps=4, seed=0)
    shown = series(document, "LSTM ‖∂L/∂c_t‖")
    for t in range(net.steps + 1):
        # ∂L/∂c_t over every path: c_t moves c_{t+1} and h_t = o_t ⊙ tanh(c_t) (o_t as the forward computed it)
        o = net.gates(t)["o"] if t > 0 else None
        c = net.states[t][1].copy()
        h_of = (lambda c_: o * np.tanh(c_)) if t > 0 else (lambda c_: net.states[0][0])
        numerical = numerical_gradient(lambda c_: loss_from(net, t, h_of(c_), c_), c, h=1e-5)
        np.testing.assert_allclose(net.dc[t], numerical, rtol=0, atol=TOLERANCE)
        assert abs(shown[t] - np.linalg.norm(net.dc[t])) < TOLERANCE
    for t in range(1, net.steps + 1):
        # the cell's backward sends ∂L/∂c_t ⊙ f_t back along the cell state: the page's product row
        np.testing.assert_allclose(net.dc[t] * net.gates(t)["f"], net.dc_via_c[t - 1], rtol=0, atol=TOLERANCE)
    # the gate rows are the blocks of ∂L/∂A, whose sum over the steps is the time layer's ∂L/∂b
    layer, _ = time_layer(net)
    np.testing.assert_allclose(sum(net.dA(t) for t in range(1, 5))[0], layer.grads["b"], rtol=0, atol=TOLERANCE)
    back = document["steps"][-2]  # the first time step's backward
    gates = [row for row in back["rows"] if row["kind"] == "gate_grad"]
    assert [row["gate"] for row in gates] == list(GATES)
    assert [row["norm"] for row in gates] == [f"{np.linalg.norm(net.dA(1)[:, 4 * k:4 * k + 4]):.3g}" for k in range(4)]
    paths = next(row for row in back["rows"] if row["kind"] == "paths")
    assert paths["grad"]["norm"] == f"{np.linalg.norm(net.dc[1]):.3g}" and len(paths["parts"]) == 2


def test_the_norms_fill_in_as_the_backward_pass_goes_back_in_time(built):
    kind, document, net = built
    T, label = net.steps, f"{kind.upper()} ‖∂L/∂h_t‖"
    assert len(document["steps"]) == 2 * T + 7  # inputs, T cells + head + loss, seed, back, summary
    cell_steps = range(T + 6, 2 * T + 6)  # the cells' backward steps, from t = T down to 1
    for step, t in zip(cell_steps, range(T, 0, -1)):
        assert document["steps"][step]["node"] == f"{kind.upper()}_{t}"
        shown = series(document, label, step)
        assert all(n is None for n in shown[: t - 1]) and all(n is not None for n in shown[t - 1 :])
    # each backward cell step writes the product along the state, with the factor its norm changes by
    rnn_row = next(r for r in document["steps"][T + 6]["rows"] if r["kind"] == "product" and "factor" in r)
    assert rnn_row["upstream"]["norm"] == f"{np.linalg.norm(net.dh[T] if kind == 'rnn' else net.dc[T]):.3g}"


def test_the_rnn_page_says_the_gradient_vanishes_and_the_lstm_page_compares():
    rnn_document, rnn = explain_through_time("rnn", steps=4, seed=0)
    notes = [row["words"] for row in rnn_document["steps"][-1]["rows"] if row["kind"] == "note"]
    assert [n["key"] for n in notes] == ["time_vanish"]
    ratio = np.linalg.norm(rnn.dh[0]) / np.linalg.norm(rnn.dh[4])
    assert ratio < 0.1 and notes[0]["values"]["ratio"] == f"{ratio:.3g}"
    assert "vanishes" in say(notes[0]) and "梯度消失" in say(notes[0], "zh")
    lstm_document, lstm = explain_through_time("lstm", steps=4, seed=0)
    notes = [row["words"] for row in lstm_document["steps"][-1]["rows"] if row["kind"] == "note"]
    assert [n["key"] for n in notes] == ["time_vanish", "lstm_compare"]
    # the LSTM's cell-state gradient keeps more of itself than the RNN's hidden-state gradient
    kept = np.linalg.norm(lstm.dc[0]) / np.linalg.norm(lstm.dc[4])
    assert kept > ratio and notes[1]["values"]["ratio"] == f"{kept:.3g}"
    assert series(lstm_document, "RNN ‖∂L/∂h_t‖") == series(rnn_document, "RNN ‖∂L/∂h_t‖")


def test_a_growing_gradient_is_not_called_vanishing(monkeypatch):
    import chainrule.explain.through_time as through_time

    monkeypatch.setattr(through_time, "_ratio", lambda values: 3.0)
    document, _ = explain_through_time("rnn", steps=3, seed=1)
    assert [r["words"]["key"] for r in document["steps"][-1]["rows"] if r["kind"] == "note"] == ["time_grow"]


def test_pages_are_deterministic_and_seeded(tmp_path):
    first, _ = explain_through_time("lstm", steps=5, seed=7)
    again, _ = explain_through_time("lstm", steps=5, seed=7)
    other, _ = explain_through_time("lstm", steps=5, seed=8)
    assert json.dumps(first) == json.dumps(again) != json.dumps(other)
    for name in ("a", "b"):
        assert main(["explain", "--model", "rnn", "--seed", "3", "--steps", "6", "-o", str(tmp_path / f"{name}.html")]) == 0
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "b.html").read_bytes()


def test_every_new_sentence_is_in_both_languages():
    document, _ = explain_through_time("lstm", steps=3, seed=0)
    keys = set()

    def collect(value):
        if isinstance(value, dict):
            if set(value) == {"key", "values"}:
                keys.add(value["key"])
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect(document["steps"])
    assert {"time_norms_heading", "lstm_compare", "two_paths", "gate_f", "norm_factor"} <= keys
    assert all(WORDS[key]["en"] and WORDS[key]["zh"] for key in keys)
    new = ["text_start_time", "shared_weights", "gate_f", "gate_g", "gate_i", "gate_o", "gate_stats", "text_backward_rnn",
           "text_backward_lstm", "two_paths", "norm_factor", "shares_add", "time_norms_heading", "time_vanish",
           "time_shrink", "time_grow", "lstm_compare", "text_done_time"]
    assert all(WORDS[key]["en"] != WORDS[key]["zh"] for key in new)
    # the same {fields} in both languages: a translation cannot drop a number
    import string

    for key in new:
        fields = [{f for _, f, _, _ in string.Formatter().parse(WORDS[key][lang]) if f} for lang in ("en", "zh")]
        assert fields[0] == fields[1], key


def test_the_picture_reveals_each_state_when_it_is_computed(built):
    kind, document, net = built
    arrows = {a["target"] + "<" + a["source"]: a for a in document["arrows"]}
    T = net.steps
    name = kind.upper()
    chain = arrows[f"{name}_3<{name}_2"]  # h_2 (and, for the LSTM, c_2 first)
    assert chain["value"] == 2 and chain["grad"] == document["steps"].index(
        next(s for s in document["steps"] if s["kind"] == "backward" and s["node"] == f"{name}_3"))
    assert len(document["circles"]) == T + 2
    assert document["svg"].count('class="node"') == T + 2


def test_unroll_refuses_bad_steps_and_kinds():
    for steps in (2, 9, 4.0, True):
        with pytest.raises(ConfigError, match="steps must be an integer in 3..8"):
            unroll("rnn", steps=steps)
    with pytest.raises(ConfigError, match="must be one of"):
        unroll("gru")
    explanation = ThroughTimeExplanation("rnn", steps=3)
    with pytest.raises(GraphError, match="nothing to recompute"):
        explanation.serve()
    assert 'title="RNN unrolled over 3 time steps' in explanation._repr_html_()  # Jupyter shows it inline


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--model", "rnn", "--steps", "2"], "argument --steps: expected a number of time steps in 3..8"),
        (["--model", "rnn", "--steps", "9"], "argument --steps: expected an integer <= 8"),
        (["--model", "lstm", "--steps", "four"], "argument --steps"),
        (["--model", "rnn", "--seed", "-1"], "argument --seed"),
        (["--model", "two-layer", "--steps", "4"], "--steps unrolls --model rnn or --model lstm"),
        (["apple", "--steps", "4"], "--steps unrolls"),
        (["--model", "rnn", "--serve"], "not with --serve"),
        (["--model", "lstm", "--trace"], "--trace"),
        (["--model", "rnn", "--random-batch"], "--random-batch"),
    ],
)
def test_cli_mistakes_are_one_line(argv, message, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["explain", *argv, "-o", str(tmp_path / "page.html")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert message in err[-1] and "Traceback" not in "\n".join(err)
    assert not (tmp_path / "page.html").exists()


def test_cli_writes_the_page_and_prints_the_norms(capsys, tmp_path):
    path = tmp_path / "lstm.html"
    assert main(["explain", "--model", "lstm", "--steps", "3", "--lang", "zh", "-o", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {path}" in out and "LSTM ‖∂L/∂c_t‖  t = 0..3:" in out and "RNN ‖∂L/∂h_t‖" in out
    html = path.read_text(encoding="utf-8")
    assert '<html lang="zh-CN">' in html and "LSTM unrolled over 3 time steps" in html
