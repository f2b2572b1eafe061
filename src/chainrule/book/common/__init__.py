"""The book's ``common`` package, served by chainrule (see :mod:`chainrule.book`).

Each module here has the name, signatures and printed behaviour of the book's module of the same
name, and is a thin layer over chainrule's own code. Names are the book's, including what its
``from common.x import *`` brings along (``np``), because the book's scripts rely on that.
"""
