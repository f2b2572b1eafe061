"""The sequel's ``common/config.py``: ``GPU``, as the book's own ``config.py`` sets it.

The book switches to CuPy by editing ``GPU = True`` into its ``common/config.py``; that file is
read here (parsed, never run) for the tree of the running script, and ``CHAINRULE_BOOK_GPU=1``
(or ``0``) overrides it, so a read-only book can run either way.
"""

import sys

from chainrule.book.trees import book_tree as _book_tree
from chainrule.book.trees import sequel_gpu_flag as _sequel_gpu_flag

GPU = _sequel_gpu_flag(_book_tree(sys.argv[0]).root if sys.argv and sys.argv[0] else None)
