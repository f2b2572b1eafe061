"""The book's code on chainrule: run *Deep Learning from Scratch*'s scripts unchanged.

``cd ch05 && python -m chainrule.book train_neuralnet.py`` (or ``chainrule book
train_neuralnet.py``) runs the script with its ``common.*`` and ``dataset.*`` imports served by
the modules in this package, thin adapters over chainrule's layers, nets, optimizers and MNIST
loader, even inside the book's own tree. See ``docs/book.md`` for what differs and why.
The sequel's scripts (``common/time_layers.py``, list ``params``) get the modules in
:mod:`chainrule.book.sequel` instead (:mod:`chainrule.book.trees` tells the books apart;
``docs/book2.md``).
"""

from .importer import BookFinder, book_imports
from .runner import restricted_pickle_loads, run_script

__all__ = ["BookFinder", "book_imports", "restricted_pickle_loads", "run_script"]
