"""Figures: learning curves and confusion matrices, drawn with matplotlib when it is installed.

matplotlib is optional (the ``plot`` extra). Figures are drawn on an explicit Agg canvas rather
than through ``pyplot``, so making a plot never changes a user's global matplotlib state.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from .errors import MissingExtraError

INSTALL_HINT = "install the plot extra to draw figures: pip install 'chainrule[plot]'"


def matplotlib_available() -> bool:
    """True when the parts of matplotlib chainrule draws with can be imported."""
    try:
        import matplotlib.backends.backend_agg  # noqa: F401
        import matplotlib.figure  # noqa: F401
    except ImportError:
        return False
    return True


def require_matplotlib(what: str = "figures") -> None:
    """Raise :class:`MissingExtraError` saying how to install matplotlib, if it is missing."""
    if not matplotlib_available():
        raise MissingExtraError(f"{what} need matplotlib: {INSTALL_HINT}")


def new_figure(width: float, height: float, **options: Any) -> Any:
    """A matplotlib ``Figure`` (inches) on an Agg canvas: no pyplot global state, no GUI backend."""
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), **options)
    FigureCanvasAgg(figure)
    return figure


def plot_learning_curve(history: Any, path: str | os.PathLike, title: str = "", *, perplexity: bool = False) -> Any:
    """Loss (left) and accuracy (right) per epoch: train, and validation and test where measured;
    the epoch kept in best.npz circled. Returns the figure (saved to ``path``).

    ``perplexity``: a language model's run, drawn as one panel of perplexity (``exp`` of the loss)."""
    if perplexity:
        return _plot_perplexity(history, path, title)
    figure = new_figure(10, 4, dpi=100, layout="constrained")
    loss_ax, acc_ax = figure.subplots(1, 2)
    epochs = history.epoch
    loss_ax.plot(epochs, history.train_loss, "o-", label="train")
    acc_ax.plot(epochs, 100 * np.asarray(history.train_acc), "o-", label="train")
    for name, marker in (("val", "s-"), ("test", "^-")):
        loss, acc = getattr(history, f"{name}_loss"), getattr(history, f"{name}_acc")
        if not np.all(np.isnan(loss)):
            loss_ax.plot(epochs, loss, marker, label="validation" if name == "val" else name)
            acc_ax.plot(epochs, 100 * np.asarray(acc), marker, label="validation" if name == "val" else name)
    if not np.all(np.isnan(history.val_loss)):
        # The epoch best.npz keeps: the lowest validation loss (the rule chainrule.rundir applies).
        best = int(np.nanargmin(history.val_loss))
        loss_ax.plot(epochs[best], history.val_loss[best], "o", markersize=14, markerfacecolor="none",
                     color="black", label=f"best.npz (epoch {epochs[best]})")
        acc_ax.plot(epochs[best], 100 * history.val_acc[best], "o", markersize=14, markerfacecolor="none",
                    color="black", label=f"best.npz: {100 * history.val_acc[best]:.2f}%")
    loss_ax.set(xlabel="epoch", ylabel="cross-entropy loss", title="loss")
    acc_ax.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    return _finish_epoch_figure(figure, (loss_ax, acc_ax), epochs, title, path)


def _plot_perplexity(history: Any, path: str | os.PathLike, title: str) -> Any:
    figure = new_figure(6, 4, dpi=100, layout="constrained")
    ax = figure.subplots()
    epochs = history.epoch
    with np.errstate(over="ignore"):
        for name, marker, label in (("train", "o-", "train"), ("val", "s-", "validation"), ("test", "^-", "test")):
            loss = np.asarray(getattr(history, f"{name}_loss"), dtype=float)
            if not np.all(np.isnan(loss)):
                ax.plot(epochs, np.exp(loss), marker, label=label)
        if not np.all(np.isnan(history.val_loss)):
            best = int(np.nanargmin(history.val_loss))
            ax.plot(epochs[best], np.exp(history.val_loss[best]), "o", markersize=14, markerfacecolor="none",
                    color="black", label=f"best.npz (epoch {epochs[best]})")
    ax.set(xlabel="epoch", ylabel="perplexity (exp of the cross-entropy)", title="perplexity")
    return _finish_epoch_figure(figure, (ax,), epochs, title, path)


def _finish_epoch_figure(figure: Any, axes: Sequence[Any], epochs: Sequence[int], title: str,
                         path: str | os.PathLike) -> Any:
    """Grid, legend, one tick per epoch (up to 20), the title; then write the figure to ``path``."""
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend()
        if len(epochs) <= 20:
            ax.set_xticks(epochs)
    if title:
        figure.suptitle(title)
    figure.savefig(path)
    return figure


def plot_confusion_matrix(matrix: np.ndarray, path: str | os.PathLike, class_names: Sequence[str], title: str = "") -> None:
    """Counts of true class (rows) against predicted class (columns), diagonal = correct."""
    size = max(5.0, 0.6 * len(class_names) + 2.5)
    figure = new_figure(size + 1, size, dpi=100, layout="constrained")
    ax = figure.subplots()
    image = ax.imshow(np.log1p(matrix), cmap="Blues")
    threshold = np.log1p(matrix).max() / 2
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                    color="white" if np.log1p(matrix[i, j]) > threshold else "black")
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set_yticks(range(len(class_names)), class_names)
    ax.set(xlabel="predicted", ylabel="true", title=title or "confusion matrix")
    figure.colorbar(image, ax=ax, label="log(1 + count)")
    figure.savefig(path)
