"""The sequel's ``dataset`` package, served by chainrule (see :mod:`chainrule.book.sequel`)."""
