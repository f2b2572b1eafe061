"""The book's ``dataset`` package, served by chainrule (see :mod:`chainrule.book`)."""
