"""A computational graph you build from layers: named values on the edges, layers on the nodes.

``forward`` runs the nodes in topological order and stores each edge's value; ``backward``
runs them in reverse, seeding the output with ``dout`` and handing every layer the gradient of
its output (the upstream gradient). A value that feeds several nodes receives the sum of the
gradients they send back: the chain rule summed over every path.

    g = Graph("apple")
    g.input("apple", 100.0); g.input("apple_num", 2.0); g.input("tax", 1.1)
    g.apply(MulLayer(), ["apple", "apple_num"], "apple_price")
    g.apply(MulLayer(), ["apple_price", "tax"], "total")
    g.forward()      # 220.0
    g.backward()     # {'apple': 2.2, 'apple_num': 110.0, 'tax': 200.0}
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ..backend import array_module
from ..errors import GraphError, NotForwardedError


# How each layer is drawn and written in formulas; any other layer is labelled by its class name.
OPERATION_LABELS = {
    "MulLayer": "×",
    "AddLayer": "+",
    "Relu": "ReLU",
    "LeakyRelu": "LReLU",
    "Sigmoid": "σ",
    "Tanh": "tanh",
    "Affine": "Affine",
    "Softmax": "softmax",
    "SoftmaxWithLoss": "Softmax\nwith Loss",
    "MeanSquaredError": "MSE",
}


def operation_label(layer: Any) -> str:
    return OPERATION_LABELS.get(type(layer).__name__, type(layer).__name__)


@dataclass(eq=False)
class Edge:
    """A named value: who produces it, who consumes it, its forward value and its gradient."""

    name: str
    value: Any = None
    grad: Any = None
    producer: Node | None = None
    consumers: list[Node] = field(default_factory=list)
    is_input: bool = False

    @property
    def grad_parts(self) -> list[Any]:
        """What each reading of this value sent back in the last backward pass; ``grad`` is their sum."""
        return [
            consumer.input_grads[position]
            for consumer in dict.fromkeys(self.consumers)
            for position, name in enumerate(consumer.inputs)
            if name == self.name and position < len(consumer.input_grads)
        ]

    def __repr__(self) -> str:
        return f"Edge({self.name!r}, value={self.value!r}, grad={self.grad!r})"


@dataclass(eq=False)
class Node:
    """One layer applied to named input edges, producing one named output edge.

    After ``backward``, ``upstream`` is the gradient that reached the output and
    ``input_grads[i]`` what the layer sent back along its i-th input.
    """

    name: str
    layer: Any
    inputs: list[str]
    output: str
    label: str
    upstream: Any = None
    input_grads: tuple[Any, ...] = ()
    param_labels: dict[str, str] = field(default_factory=dict)  # layer's "W" -> the net's "W1"

    def __repr__(self) -> str:
        return f"Node({self.name!r}: {', '.join(self.inputs)} -> {self.output})"


def _ones_like(value: Any) -> Any:
    """The seed ``d value / d value``: 1, or an array of ones (the gradient of ``value.sum()``)."""
    if getattr(value, "ndim", 0):
        return array_module(value).ones_like(value)
    return 1


class Graph:
    """Layers wired by named values. Nodes may be added in any order; ``forward`` sorts them.

    Pictures and the explainer are functions of the modules above this one (``to_svg(graph)``,
    ``save(graph, path)``, ``chainrule.explain.explain(graph)``): the graph itself knows nothing of them.
    """

    def __init__(self, name: str = "graph") -> None:
        self.name = name
        self.edges: dict[str, Edge] = {}
        self.nodes: dict[str, Node] = {}
        self._ran_forward = False
        self.differentiated: str | None = None  # the edge the last backward() started from

    # -- building ------------------------------------------------------------------------------

    def _edge(self, name: str) -> Edge:
        if not isinstance(name, str) or not name:
            raise GraphError(f"graph {self.name!r}: an edge name must be a non-empty string, got {name!r}")
        if name not in self.edges:
            self.edges[name] = Edge(name)
        return self.edges[name]

    def input(self, name: str, value: Any) -> Edge:
        """Declare the input value ``name``; change it later with ``forward(name=value)``."""
        edge = self._edge(name)
        if edge.producer is not None:
            raise GraphError(
                f"graph {self.name!r}: {name!r} is the output of node {edge.producer.name!r}, not an input"
            )
        if edge.is_input:
            raise GraphError(
                f"graph {self.name!r}: input {name!r} is already defined; use forward({name}=...) to change it"
            )
        edge.is_input, edge.value = True, value
        self._ran_forward = False
        return edge

    def apply(
        self,
        layer: Any,
        inputs: Iterable[str | Edge] | str | Edge,
        output: str,
        *,
        name: str | None = None,
        label: str | None = None,
    ) -> Edge:
        """Add the node ``output = layer.forward(*inputs)``; return the output edge.

        Inputs may name edges defined later (by ``input`` or another ``apply``); ``forward``
        checks that everything is defined and that there is no cycle.
        """
        if not hasattr(layer, "forward") or not hasattr(layer, "backward"):
            raise GraphError(
                f"graph {self.name!r}: {type(layer).__name__} has no forward/backward, so it is not a layer"
            )
        for node in self.nodes.values():
            if node.layer is layer:
                # A layer caches its forward inputs for backward; two nodes would overwrite each other.
                raise GraphError(
                    f"graph {self.name!r}: this {type(layer).__name__} is already node {node.name!r}; "
                    "each node needs its own layer object"
                )
        if isinstance(inputs, (str, Edge)):
            inputs = [inputs]
        input_names = [edge.name if isinstance(edge, Edge) else edge for edge in inputs]
        if name is None:
            kind = type(layer).__name__
            name = next(f"{kind}{i}" for i in range(1, len(self.nodes) + 2) if f"{kind}{i}" not in self.nodes)
        if name in self.nodes:
            raise GraphError(f"graph {self.name!r}: two nodes are named {name!r}; node names must be unique")
        out = self._edge(output)
        if out.producer is not None or out.is_input:
            source = f"the output of node {out.producer.name!r}" if out.producer else "an input"
            raise GraphError(f"graph {self.name!r}: node {name!r} outputs {output!r}, which is already {source}")
        node = Node(name, layer, input_names, output, label or operation_label(layer))
        for edge_name in input_names:
            self._edge(edge_name).consumers.append(node)
        out.producer = node
        self.nodes[name] = node
        self._ran_forward = False
        return out

    # -- what the graph is -----------------------------------------------------------------------

    def __getitem__(self, name: str) -> Edge:
        try:
            return self.edges[name]
        except KeyError:
            raise KeyError(f"graph {self.name!r} has no edge {name!r}; it has {list(self.edges)}") from None

    @property
    def inputs(self) -> list[Edge]:
        return [edge for edge in self.edges.values() if edge.is_input]

    @property
    def outputs(self) -> list[Edge]:
        """Edges produced by a node and consumed by none: what the graph computes."""
        return [edge for edge in self.edges.values() if edge.producer is not None and not edge.consumers]

    def order(self) -> list[Node]:
        """The nodes in topological order (each after the producers of its inputs).

        Raises :class:`GraphError` for a value nothing defines or for a cycle, naming the edges.
        """
        for node in self.nodes.values():
            for name in node.inputs:
                edge = self.edges[name]
                if edge.producer is None and not edge.is_input:
                    raise GraphError(
                        f"graph {self.name!r}: node {node.name!r} reads {name!r}, but nothing defines it "
                        f"(no node outputs {name!r} and there is no input({name!r}, value))"
                    )
        waiting = {name: len({n for n in node.inputs if self.edges[n].producer}) for name, node in self.nodes.items()}
        ready = [node for name, node in self.nodes.items() if waiting[name] == 0]
        ordered: list[Node] = []
        while ready:
            node = ready.pop(0)
            ordered.append(node)
            for consumer in dict.fromkeys(self.edges[node.output].consumers):
                waiting[consumer.name] -= 1
                if waiting[consumer.name] == 0:
                    ready.append(consumer)
        if len(ordered) < len(self.nodes):
            raise GraphError(
                f"graph {self.name!r} has a cycle: {self._describe_cycle(set(self.nodes) - {n.name for n in ordered})}"
            )
        return ordered

    def _describe_cycle(self, stuck: set[str]) -> str:
        """Walk back along producers from a node left unsorted until a node repeats."""
        node = self.nodes[min(stuck)]
        path = [node]
        while True:
            node = next(
                self.edges[n].producer
                for n in node.inputs
                if self.edges[n].producer and self.edges[n].producer.name in stuck
            )
            if node in path:
                # path runs against the data flow; reversed, each node feeds the next
                cycle = path[path.index(node) :][::-1]
                cycle.append(cycle[0])
                break
            path.append(node)
        steps = [f"{cycle[0].output}"] + [f"[{n.name}] -> {n.output}" for n in cycle[1:]]
        return " -> ".join(steps) + "; each value must be computed from values computed before it"

    # -- running ------------------------------------------------------------------------------

    def forward(self, **inputs: Any) -> Any:
        """Run every node in topological order; return the output value (a dict if several).

        Keyword arguments replace input values first: ``g.forward(apple=150.0)``.
        """
        for name, value in inputs.items():
            if name not in self.edges or not self.edges[name].is_input:
                raise GraphError(
                    f"graph {self.name!r}: {name!r} is not an input; inputs are {[e.name for e in self.inputs]}"
                )
            self.edges[name].value = value
        self._clear_gradients()  # they belonged to the previous values
        for node in self.order():
            self.edges[node.output].value = node.layer.forward(*(self.edges[n].value for n in node.inputs))
        self._ran_forward = True
        outputs = self.outputs
        return outputs[0].value if len(outputs) == 1 else {edge.name: edge.value for edge in outputs}

    def backward(self, dout: Any = None, of: str | None = None) -> dict[str, Any]:
        """Run the chain rule from ``of`` back to the inputs; return ``{input name: gradient}``.

        ``of`` defaults to the graph's only output and ``dout`` to 1 (ones for an array output).
        Every edge on the way records its gradient in ``edge.grad``; an input no gradient
        reaches (integer labels) gets ``None``.
        """
        if not self._ran_forward:
            raise NotForwardedError(f"graph {self.name!r}: backward() was called before forward()")
        if of is None:
            outputs = self.outputs
            if len(outputs) != 1:
                raise GraphError(
                    f"graph {self.name!r} has outputs {[e.name for e in outputs]}; "
                    "say which to differentiate: backward(of=...)"
                )
            of = outputs[0].name
        target = self[of]
        self._clear_gradients()
        target.grad = _ones_like(target.value) if dout is None else dout
        self.differentiated = of
        for node in reversed(self.order()):
            upstream = self.edges[node.output].grad
            if upstream is None:  # not on a path to `of`
                continue
            grads = node.layer.backward(upstream)
            grads = grads if isinstance(grads, tuple) else (grads,)
            if len(grads) > len(node.inputs):
                raise GraphError(
                    f"graph {self.name!r}: {node.name}.backward returned {len(grads)} gradients "
                    f"for {len(node.inputs)} inputs"
                )
            node.upstream, node.input_grads = upstream, grads
            # Inputs past the gradients returned (a loss layer's labels) receive none.
            for name, grad in zip(node.inputs, grads):
                edge = self.edges[name]
                edge.grad = grad if edge.grad is None else edge.grad + grad
        return {edge.name: edge.grad for edge in self.inputs}

    def _clear_gradients(self) -> None:
        for edge in self.edges.values():
            edge.grad = None
        for node in self.nodes.values():
            node.upstream, node.input_grads = None, ()
        self.differentiated = None

    def __repr__(self) -> str:
        return f"Graph({self.name!r}, inputs={[e.name for e in self.inputs]}, nodes={list(self.nodes)})"
