"""The sequel's ``common`` package, served by chainrule (see :mod:`chainrule.book.sequel`).

Each module has the name, signatures and printed behaviour of the book's module of the same
name and is a thin layer over chainrule's code. Names are the book's, including what its
``from common.x import *`` brings along (``np``, ``GPU``), because the book's scripts use them.
"""
