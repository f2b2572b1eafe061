"""The learning curve circles the epoch best.npz keeps: lowest validation loss, not highest accuracy."""

import pytest

pytest.importorskip("matplotlib")

from chainrule.plots import plot_learning_curve  # noqa: E402
from chainrule.history import History  # noqa: E402


def test_the_best_marker_is_the_lowest_validation_loss(tmp_path):
    history = History()
    # epoch 2 has the lowest validation loss; epoch 3 the highest validation accuracy
    for epoch, (val_loss, val_acc) in enumerate([(0.30, 0.90), (0.10, 0.95), (0.20, 0.97)], start=1):
        history.append(epoch=epoch, train_loss=0.5 / epoch, train_acc=0.8, val_loss=val_loss, val_acc=val_acc, lr=0.1)
    figure = plot_learning_curve(history, tmp_path / "curve.png")
    labels = [text.get_text() for ax in figure.axes for text in ax.get_legend().get_texts()]
    assert "best.npz (epoch 2)" in labels and "best.npz: 95.00%" in labels
    assert (tmp_path / "curve.png").stat().st_size > 0
