"""The graph API: same values and gradients as the layers run by hand, sums for shared values,
topological order whatever order nodes were added in, and clear errors for graphs that cannot run."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from chainrule import AddLayer, MulLayer, NotForwardedError, Relu, Sigmoid, TwoLayerNet
from chainrule.demos import apple_orange as demo_apple_orange
from chainrule.graph import Graph, GraphError, apple, apple_orange, network_graph


def shopping_gradients(graph: Graph) -> dict:
    return {edge.name: edge.grad for edge in graph.inputs}


@pytest.mark.parametrize("number", [float, Fraction])
def test_apple_orange_matches_the_layers_run_by_hand(number):
    graph, by_hand = apple_orange(number), demo_apple_orange(number)
    assert graph["total"].value == by_hand.total
    assert shopping_gradients(graph) == by_hand.gradients


def test_apple_exact_values():
    graph = apple(Fraction)
    assert graph["total"].value == 220
    assert shopping_gradients(graph) == {"apple": Fraction(11, 5), "apple_num": 110, "tax": 200}
    assert graph["apple_price"].value == 200 and graph["apple_price"].grad == Fraction(11, 10)


def test_a_few_lines_build_and_run_the_apple_graph():
    g = Graph("apple")
    g.input("apple", 100.0)
    g.input("apple_num", 2.0)
    g.input("tax", 1.1)
    g.apply(MulLayer(), ["apple", "apple_num"], "apple_price")
    g.apply(MulLayer(), ["apple_price", "tax"], "total")
    assert g.forward() == pytest.approx(220.0)
    assert g.backward() == pytest.approx({"apple": 2.2, "apple_num": 110.0, "tax": 200.0})


def test_nodes_added_in_any_order_run_in_topological_order():
    g = Graph()
    g.apply(MulLayer(), ["fruit_price", "tax"], "total", name="mul_tax")  # reads values defined below
    g.apply(AddLayer(), ["apple_price", "orange_price"], "fruit_price", name="add")
    g.apply(MulLayer(), ["orange", "orange_num"], "orange_price", name="mul_orange")
    g.apply(MulLayer(), ["apple", "apple_num"], "apple_price", name="mul_apple")
    for name, value in {"apple": 100, "apple_num": 2, "orange": 150, "orange_num": 3, "tax": Fraction(11, 10)}.items():
        g.input(name, value)
    order = [node.name for node in g.order()]
    assert order.index("add") > order.index("mul_apple") and order.index("add") > order.index("mul_orange")
    assert order[-1] == "mul_tax"
    assert g.forward() == 715
    assert g.backward() == demo_apple_orange(Fraction).gradients


def test_a_shared_value_receives_the_sum_of_its_gradients():
    # out = (x + x*y) * (x + x*y): x feeds two nodes, s feeds one node twice
    g = Graph()
    g.input("x", 3.0)
    g.input("y", 2.0)
    g.apply(MulLayer(), ["x", "y"], "xy")
    g.apply(AddLayer(), ["x", "xy"], "s")
    g.apply(MulLayer(), ["s", "s"], "out")
    assert g.forward() == 81.0
    grads = g.backward()
    s, x, y = 9.0, 3.0, 2.0
    assert g["s"].grad == 2 * s and g["s"].grad_parts == [s, s]
    assert grads["x"] == pytest.approx(2 * s * (1 + y)) and grads["y"] == pytest.approx(2 * s * x)
    assert g["x"].grad_parts == pytest.approx([2 * s * y, 2 * s])  # through xy, then directly


def test_shared_array_input_gradients_add():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    g = Graph()
    g.input("x", x)
    g.input("w", w)
    g.apply(MulLayer(), ["x", "w"], "xw")
    g.apply(Sigmoid(), ["x"], "sx")
    g.apply(AddLayer(), ["xw", "sx"], "out")
    g.forward()
    grads = g.backward()  # dout = ones: the gradient of out.sum()
    sig = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(grads["x"], w + sig * (1 - sig))
    np.testing.assert_allclose(grads["w"], x)


def test_graph_values_and_gradients_equal_the_layers_own():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    dout = rng.standard_normal((2, 3))
    g = Graph()
    g.input("a", a)
    g.input("b", b)
    g.apply(MulLayer(), ["a", "b"], "ab")
    g.apply(Relu(), ["ab"], "out")
    out = g.forward()
    grads = g.backward(dout)

    mul, relu = MulLayer(), Relu()
    expected_out = relu.forward(mul.forward(a, b))
    da, db = mul.backward(relu.backward(dout))
    np.testing.assert_array_equal(out, expected_out)
    np.testing.assert_array_equal(grads["a"], da)
    np.testing.assert_array_equal(grads["b"], db)


def test_network_graph_gives_the_gradients_of_net_gradient():
    rng = np.random.default_rng(2)
    net = TwoLayerNet(12, 6, 4, rng=0)
    x, t = rng.random((5, 12)), rng.integers(0, 4, size=5)
    graph = network_graph(net, x, t)
    from_graph = {key: net.layers[f"Affine{key[-1]}"].grads[key[0]].copy() for key in net.params}
    expected = net.gradient(x, t)
    assert graph["loss"].value == pytest.approx(float(net.loss(x, t)))
    for key, grad in expected.items():
        np.testing.assert_allclose(from_graph[key], grad, rtol=1e-12, atol=0)
    assert graph["a1"].value.shape == (5, 6) and graph["a2"].grad.shape == (5, 4)
    assert graph["t"].grad is None  # labels are not differentiated


def test_network_graph_without_data_uses_a_random_batch():
    graph = network_graph(TwoLayerNet(10, 4, 3, rng=0), batch_size=7)
    assert graph["x"].value.shape == (7, 10) and graph["z1"].value.shape == (7, 4)
    assert [node.name for node in graph.order()] == ["Affine1", "Relu1", "Affine2", "loss_layer"]


def test_forward_keywords_replace_inputs_and_clear_old_gradients():
    g = apple()
    assert g["tax"].grad is not None
    assert g.forward(apple=150.0) == pytest.approx(330.0)
    assert g["tax"].grad is None
    assert g.backward()["tax"] == pytest.approx(300.0)


def test_cycle_is_an_error_naming_the_edges():
    g = Graph("loop")
    g.input("x", 1.0)
    g.apply(MulLayer(), ["a", "x"], "b", name="mul")
    g.apply(AddLayer(), ["b", "x"], "a", name="add")
    with pytest.raises(GraphError, match="cycle") as error:
        g.forward()
    message = str(error.value)
    assert "a -> [mul] -> b -> [add] -> a" in message or "b -> [add] -> a -> [mul] -> b" in message


def test_value_nothing_defines_is_an_error():
    g = Graph("dangling")
    g.input("x", 1.0)
    g.apply(MulLayer(), ["x", "price"], "y", name="mul")
    with pytest.raises(GraphError, match=r"node 'mul' reads 'price', but nothing defines it"):
        g.forward()


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda g, layer: (g.apply(layer, ["x", "x"], "y"), g.apply(layer, ["y", "x"], "z")), "already node"),
        (
            lambda g, layer: (g.apply(layer, ["x", "x"], "y"), g.apply(AddLayer(), ["x", "x"], "y")),
            "already the output",
        ),
        (lambda g, layer: g.apply(layer, ["x", "x"], "x"), "already an input"),
        (lambda g, layer: g.input("x", 2.0), "already defined"),
        (lambda g, layer: g.apply(object(), ["x"], "y"), "not a layer"),
        (lambda g, layer: g.forward(y=1.0), "not an input"),
    ],
)
def test_building_mistakes_are_clear_errors(build, message):
    g = Graph()
    g.input("x", 1.0)
    with pytest.raises(GraphError, match=message):
        build(g, MulLayer())


def test_backward_needs_forward_and_one_output():
    g = Graph()
    g.input("x", 2.0)
    g.apply(MulLayer(), ["x", "x"], "square")
    with pytest.raises(NotForwardedError):
        g.backward()
    g.apply(AddLayer(), ["x", "x"], "double")
    assert g.forward() == {"square": 4.0, "double": 4.0}
    with pytest.raises(GraphError, match="say which"):
        g.backward()
    assert g.backward(of="square") == {"x": 4.0}
    assert g["double"].grad is None  # not on the path to "square"
