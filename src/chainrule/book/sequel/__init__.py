"""The sequel's code on chainrule: *Deep Learning from Scratch 2*'s scripts, unchanged.

``common/`` and ``dataset/`` here are served (by :mod:`chainrule.book.importer`) to scripts in
the sequel's tree, which :mod:`chainrule.book.trees` recognises. Its layers keep ``params`` and
``grads`` as lists that models concatenate and optimizers update in place; :mod:`.listed` puts
that interface on chainrule's own layers. :mod:`.device` says what ``GPU = True`` runs on.
See ``docs/book2.md``.
"""
