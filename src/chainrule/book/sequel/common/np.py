"""The sequel's ``common/np.py``: ``np`` is NumPy, or with ``GPU`` chainrule's CuPy backend module.

The book's GPU mode also sets ``np.add.at = np.scatter_add``, which CuPy removed in version 8;
nothing here needs it, since chainrule's embeddings add their rows with
:func:`chainrule.backend.scatter_add` on either backend.
"""

from .config import GPU

if GPU:
    from chainrule.book.sequel.device import gpu_module as _gpu_module

    np = _gpu_module()
    print(f"chainrule.book: GPU mode ({np.__name__})\n")
else:
    import numpy as np
