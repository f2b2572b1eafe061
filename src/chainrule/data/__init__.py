"""Datasets: MNIST and Fashion-MNIST from their original IDX files, local or downloaded."""

from .idx import decode_idx, read_idx, write_idx

__all__ = ["decode_idx", "read_idx", "write_idx"]
