"""The autograd graph as Graphviz DOT text (no dependency), and rendered to a file when the
optional ``graphviz`` package is installed.

Boxes are tensors (name, shape, dtype, ``requires_grad``, and the gradient when one is held:
a leaf's ``.grad`` or a retained one), ellipses are the ops that made them; edges run from an
op's inputs to the op and from the op to its output. Call it before ``backward()`` or after
``backward(retain_graph=True)``: a plain backward frees the graph (an op whose inputs were
freed is drawn as "graph freed")::

    loss = loss_fn(model(x), y)
    loss.backward(retain_graph=True)
    text = minigrad.viz.to_dot(loss, params=dict(model.named_parameters()))
    minigrad.viz.render(loss, "graph.svg", params=dict(model.named_parameters()))
"""

from __future__ import annotations

import os

__all__ = ["graph_nodes", "pyplot", "render", "to_dot"]


def pyplot(owner: str):
    """matplotlib.pyplot with the file-only Agg backend, or ImportError naming ``owner`` and
    the package to install (matplotlib is optional: imported only when a plot is asked for)."""
    try:
        import matplotlib
    except ImportError:
        raise ImportError(f"{owner} needs matplotlib (pip install matplotlib)") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def graph_nodes(tensor):
    """The graph behind ``tensor``, breadth first from it: (tensors, ops, edges), where
    ``tensors`` and ``ops`` are lists in discovery order and ``edges`` pairs of
    ('t', index) / ('op', index) from producer to consumer."""
    tensors, ops, edges = [], [], []
    tensor_ids, op_ids = {}, {}

    def tensor_index(t):
        if id(t) not in tensor_ids:
            tensor_ids[id(t)] = len(tensors)
            tensors.append(t)
            queue.append(t)
        return tensor_ids[id(t)]

    queue = []
    tensor_index(tensor)
    position = 0
    while position < len(queue):             # an explicit queue: no recursion on deep graphs
        t = queue[position]
        position += 1
        node = _producer(t)
        if node is None:
            continue
        if id(node) not in op_ids:
            op_ids[id(node)] = len(ops)
            ops.append(node)
            for source in getattr(node, "inputs", None) or ():
                if source is None:
                    continue
                edges.append((("t", tensor_index(source)), ("op", op_ids[id(node)])))
        edges.append((("op", op_ids[id(node)]), ("t", tensor_ids[id(t)])))
    return tensors, ops, edges


def _producer(t):
    """The op that made ``t``: its grad_fn, or for one output of a several-output Function
    (an OutputSlot, whose input stands for all outputs) that Function's node."""
    node = t.grad_fn
    if type(node).__name__ == "OutputSlot" and getattr(node, "inputs", None):
        return node.inputs[0].grad_fn
    return node


def _op_name(node) -> str:
    name = getattr(node, "function_name", None) or type(node).__name__
    if not getattr(node, "inputs", None):
        name += "\\n(graph freed)"
    return name


def _tensor_label(t, name) -> str:
    shape = "(" + ", ".join(str(s) for s in t.shape) + ("," if t.ndim == 1 else "") + ")"
    lines = ([name] if name else []) + [f"{shape} {t.dtype}"]
    if t.requires_grad:
        lines.append("requires_grad")
    grad = t.grad if t.is_leaf or t.retains_grad else None
    if grad is not None:
        lines.append("grad (retained)" if not t.is_leaf else "grad")
    return "\\n".join(lines)


def to_dot(tensor, params=None, name: str = "minigrad") -> str:
    """Graphviz DOT text of the graph that computed ``tensor``. ``params`` (a dict name ->
    Tensor, such as ``dict(model.named_parameters())``) names those tensors; the root is
    called 'output'."""
    from .tensor import Tensor

    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dot: expected a Tensor, got {type(tensor).__name__}")
    names = {id(t): n for n, t in (params or {}).items()}
    names.setdefault(id(tensor), "output")
    tensors, ops, edges = graph_nodes(tensor)
    lines = [f"digraph {name} {{", '  node [fontname="Helvetica", fontsize=10];']
    for i, t in enumerate(tensors):
        style = ', style=filled, fillcolor=lightblue' if t.requires_grad and t.is_leaf else ""
        label = _tensor_label(t, names.get(id(t), ""))
        lines.append(f'  t{i} [label="{_escape(label)}", shape=box{style}];')
    for i, node in enumerate(ops):
        lines.append(f'  op{i} [label="{_escape(_op_name(node))}", shape=ellipse];')
    for (kind_a, a), (kind_b, b) in edges:
        lines.append(f"  {kind_a}{a} -> {kind_b}{b};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _escape(label: str) -> str:
    """Quotes escaped; the '\\n' line breaks are DOT's own and stay."""
    return label.replace('"', '\\"')


def render(tensor, path, params=None) -> str:
    """Render the graph to ``path`` (its suffix picks the format: .svg, .png, .pdf, ...) with
    the ``graphviz`` package and its ``dot`` program; a ``.dot`` or ``.gv`` path is written as
    text with no dependency. Returns the path written."""
    from .files import atomic_write_text

    text = to_dot(tensor, params)
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1]
    if suffix in (".dot", ".gv"):
        atomic_write_text(path, text, "minigrad.viz.render")
        return path
    try:
        import graphviz
    except ImportError:
        raise ImportError("minigrad.viz.render: rendering to an image needs the graphviz "
                          "package (pip install graphviz) and Graphviz's dot program; "
                          "write a .dot file instead") from None
    source = graphviz.Source(text)
    source.render(outfile=path, format=suffix.lstrip(".") or "svg", cleanup=True)
    return path
