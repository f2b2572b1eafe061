"""Sequence to sequence: an encoder LSTM reads the source, a decoder LSTM writes the target.

Three decoders, as in the book: the plain one starts from the encoder's last hidden state
``h``; the "peeky" one also sees ``h`` at every step (concatenated to its LSTM's and its
affine's inputs); the attention one looks back over all the encoder's hidden states at every
step. Training is teacher forcing: the decoder reads ``ts[:, :-1]`` and is scored on
``ts[:, 1:]``. ``generate`` decodes greedily (the highest-scoring word at each step).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import init
from ..backend import Array, Backend, array_module, get_backend
from ..checks import check_positive_int
from ..errors import ShapeError
from ..layers import Layer, TimeAffine, TimeAttention, TimeEmbedding, TimeLSTM, TimeSoftmaxWithLoss
from .sequence_net import SequenceNet


class _Sizes:
    """What every part is built from: sizes, the generator, dtype and backend."""

    def __init__(self, where: str, vocab_size: int, wordvec_size: int, hidden_size: int, rng: Any, dtype: Any, backend: Any) -> None:
        for label, size in (("vocab_size", vocab_size), ("wordvec_size", wordvec_size), ("hidden_size", hidden_size)):
            check_positive_int(size, label, where)
        self.V, self.D, self.H = vocab_size, wordvec_size, hidden_size
        self.generator, self.dtype, self.backend = init.as_generator(rng), dtype, get_backend(backend)

    def normal(self, shape: tuple[int, ...], std: float) -> Array:
        return init.normal(self.generator, shape, std, self.dtype, self.backend)

    def embedding(self) -> TimeEmbedding:
        return TimeEmbedding(self.normal((self.V, self.D), 0.01))

    def lstm(self, input_size: int, stateful: bool) -> TimeLSTM:
        H = self.H
        return TimeLSTM(self.normal((input_size, 4 * H), 1 / math.sqrt(input_size)), self.normal((H, 4 * H), 1 / math.sqrt(H)),
                        init.zeros((4 * H,), self.dtype, self.backend), stateful=stateful)

    def affine(self, input_size: int) -> TimeAffine:
        return TimeAffine(self.normal((input_size, self.V), 1 / math.sqrt(input_size)), init.zeros((self.V,), self.dtype, self.backend))


class Encoder:
    """``TimeEmbedding -> TimeLSTM``: source ids ``(N, T)`` -> hidden states ``(N, T, H)``."""

    def __init__(self, sizes: _Sizes) -> None:
        self.layers: dict[str, Layer] = {"embed": sizes.embedding(), "lstm": sizes.lstm(sizes.D, stateful=False)}

    def forward(self, xs: Array) -> Array:
        return self.layers["lstm"].forward(self.layers["embed"].forward(xs))

    def backward(self, dhs: Array) -> None:
        self.layers["embed"].backward(self.layers["lstm"].backward(dhs))


class Decoder:
    """``TimeEmbedding -> TimeLSTM (from the encoder's h) -> TimeAffine``; with ``peeky``, ``h`` is
    also concatenated to the LSTM's input and to the affine's at every step."""

    def __init__(self, sizes: _Sizes, peeky: bool = False) -> None:
        self.peeky = peeky
        extra = sizes.H if peeky else 0
        self.layers: dict[str, Layer] = {
            "embed": sizes.embedding(),
            "lstm": sizes.lstm(sizes.D + extra, stateful=True),
            "affine": sizes.affine(sizes.H + extra),
        }
        self.hidden_size = sizes.H

    def _with_h(self, xs: Array, h: Array, xp: Any) -> Array:
        """``h`` repeated along time, before ``xs``'s features."""
        N, T = xs.shape[:2]
        return xp.concatenate((xp.broadcast_to(h[:, None, :], (N, T, h.shape[1])), xs), axis=2)

    def forward(self, xs: Array, h: Array) -> Array:
        embed, lstm, affine = self.layers["embed"], self.layers["lstm"], self.layers["affine"]
        xp = _array_module_of(embed)
        lstm.set_state(h)
        out = embed.forward(xs)
        if self.peeky:
            out = self._with_h(out, h, xp)
        out = lstm.forward(out)
        if self.peeky:
            out = self._with_h(out, h, xp)
        return affine.forward(out)

    def backward(self, dscores: Array) -> Array:
        """Returns the gradient of ``h``: through the LSTM's first state, and with ``peeky`` from
        every step's copy as well."""
        H = self.hidden_size
        dout = self.layers["affine"].backward(dscores)
        dh_peeked = 0
        if self.peeky:
            dh_peeked, dout = dout[:, :, :H].sum(axis=1), dout[:, :, H:]
        dout = self.layers["lstm"].backward(dout)
        if self.peeky:
            dh_peeked, dout = dh_peeked + dout[:, :, :H].sum(axis=1), dout[:, :, H:]
        self.layers["embed"].backward(dout)
        return self.layers["lstm"].dh + dh_peeked

    def generate(self, h: Array, start_id: int, sample_size: int) -> list[int]:
        """Greedy decoding of one sequence (``h`` of shape ``(1, H)``)."""
        xp = _array_module_of(self.layers["embed"])
        self.layers["lstm"].set_state(h)
        word_ids, word = [], start_id
        embed, lstm, affine = self.layers["embed"], self.layers["lstm"], self.layers["affine"]
        for _ in range(sample_size):
            out = embed.forward(xp.asarray([[word]]))
            if self.peeky:
                out = self._with_h(out, h, xp)
            out = lstm.forward(out)
            if self.peeky:
                out = self._with_h(out, h, xp)
            word = int(affine.forward(out).reshape(-1).argmax())
            word_ids.append(word)
        return word_ids


class AttentionDecoder:
    """``TimeEmbedding -> TimeLSTM -> [TimeAttention context, LSTM state] -> TimeAffine``: each
    step's output sees the attention-weighted sum of the encoder's hidden states."""

    def __init__(self, sizes: _Sizes) -> None:
        self.layers: dict[str, Layer] = {
            "embed": sizes.embedding(),
            "lstm": sizes.lstm(sizes.D, stateful=True),
            "attention": TimeAttention(),
            "affine": sizes.affine(2 * sizes.H),
        }
        self.hidden_size = sizes.H

    def _step(self, xs: Array, enc_hs: Array) -> Array:
        xp = _array_module_of(self.layers["embed"])
        dec_hs = self.layers["lstm"].forward(self.layers["embed"].forward(xs))
        contexts = self.layers["attention"].forward(enc_hs, dec_hs)
        return self.layers["affine"].forward(xp.concatenate((contexts, dec_hs), axis=2))

    def forward(self, xs: Array, enc_hs: Array) -> Array:
        self.layers["lstm"].set_state(enc_hs[:, -1])
        return self._step(xs, enc_hs)

    def backward(self, dscores: Array) -> Array:
        """Returns the gradient of the encoder's hidden states: through attention, and at the last
        step also through the decoder's first state."""
        H = self.hidden_size
        dout = self.layers["affine"].backward(dscores)
        dcontexts, ddec_hs = dout[:, :, :H], dout[:, :, H:]
        denc_hs, ddec_hs_attention = self.layers["attention"].backward(dcontexts)
        self.layers["embed"].backward(self.layers["lstm"].backward(ddec_hs + ddec_hs_attention))
        denc_hs = denc_hs.copy()
        denc_hs[:, -1] += self.layers["lstm"].dh
        return denc_hs

    def generate(self, enc_hs: Array, start_id: int, sample_size: int) -> list[int]:
        xp = _array_module_of(self.layers["embed"])
        self.layers["lstm"].set_state(enc_hs[:, -1])
        word_ids, word = [], start_id
        for _ in range(sample_size):
            word = int(self._step(xp.asarray([[word]]), enc_hs).reshape(-1).argmax())
            word_ids.append(word)
        return word_ids


def _array_module_of(layer: Layer) -> Any:
    """NumPy or CuPy: the module of the layer's parameters (ids are moved there)."""
    return array_module(next(iter(layer.params.values())))


class Seq2seq(SequenceNet):
    """Encoder and decoder LSTMs; the decoder starts from the encoder's last hidden state.

    ``loss(xs, ts)``: source ids ``(N, T)``, target ids ``(N, T')`` whose first column is the
    start symbol. ``forward(xs, decoder_xs)`` gives the decoder's scores ``(N, T_dec, V)``.
    Parameters are named ``encoder.embed.W``, ``decoder.lstm.Wx``, ...
    """

    def __init__(self, vocab_size: int, wordvec_size: int, hidden_size: int, *,
                 rng: int | np.random.Generator | None = None, dtype: Any = np.float64, backend: str | Backend = "numpy") -> None:
        sizes = _Sizes(type(self).__name__, vocab_size, wordvec_size, hidden_size, rng, dtype, backend)
        self.encoder = Encoder(sizes)
        self.decoder = self._make_decoder(sizes)
        layers = {f"encoder.{k}": v for k, v in self.encoder.layers.items()}
        layers.update({f"decoder.{k}": v for k, v in self.decoder.layers.items()})
        super().__init__(layers, TimeSoftmaxWithLoss())

    def _make_decoder(self, sizes: _Sizes) -> Any:
        return Decoder(sizes)

    def _encode(self, xs: Array) -> Array:
        """What the decoder starts from: the encoder's last hidden state."""
        return self.encoder.forward(xs)[:, -1]

    def _encoded_gradient(self, d_encoded: Array) -> Array:
        """``d_encoded`` placed at the last step of the encoder's hidden states."""
        lstm = self.encoder.layers["lstm"]
        N, T, _ = lstm.xs.shape
        dhs = self.xp.zeros((N, T, d_encoded.shape[-1]), dtype=d_encoded.dtype)
        dhs[:, -1] = d_encoded
        return dhs

    def forward(self, xs: Array, decoder_xs: Array | None = None) -> Array:
        xs = self._as_input(xs)
        if decoder_xs is None:
            raise ShapeError(f"{type(self).__name__}.forward: needs the decoder's input ids as well: forward(xs, decoder_xs)")
        return self.decoder.forward(self._as_input(decoder_xs), self._encode(xs))

    def loss(self, xs: Array, ts: Array) -> Array:
        ts = self._as_input(ts)
        if ts.ndim != 2 or ts.shape[1] < 2:
            raise ShapeError(f"{type(self).__name__}.loss: ts must be (N, T) ids with T >= 2 (a start symbol and a word), got {ts.shape}")
        self.last_scores = self.forward(xs, ts[:, :-1])
        self.last_loss = self.last_layer.forward(self.last_scores, ts[:, 1:])
        return self.last_loss

    def backward(self, dout: Any = 1) -> None:
        d_encoded = self.decoder.backward(self.last_layer.backward(dout))
        self.encoder.backward(self._encoded_gradient(d_encoded))

    def predict(self, xs: Array, decoder_xs: Array | None = None) -> Array:
        """The decoder's scores in inference mode (teacher forcing with ``decoder_xs``)."""
        with self._mode(False):
            return self.forward(xs, decoder_xs)

    def generate(self, xs: Array, start_id: int, sample_size: int) -> list[int]:
        """Greedy decoding of ``sample_size`` ids for one source sequence ``xs`` of shape ``(1, T)``."""
        xs = self._as_input(xs)
        if xs.ndim != 2 or xs.shape[0] != 1:
            raise ShapeError(f"{type(self).__name__}.generate: expected one source sequence of shape (1, T), got {xs.shape}")
        with self._mode(False):
            return self.decoder.generate(self._encode(xs), start_id, sample_size)


class PeekySeq2seq(Seq2seq):
    """:class:`Seq2seq` whose decoder sees the encoder's last hidden state at every step."""

    def _make_decoder(self, sizes: _Sizes) -> Any:
        return Decoder(sizes, peeky=True)


class AttentionSeq2seq(Seq2seq):
    """:class:`Seq2seq` whose decoder attends over all of the encoder's hidden states."""

    def _make_decoder(self, sizes: _Sizes) -> Any:
        return AttentionDecoder(sizes)

    def _encode(self, xs: Array) -> Array:
        return self.encoder.forward(xs)

    def _encoded_gradient(self, d_encoded: Array) -> Array:
        return d_encoded
