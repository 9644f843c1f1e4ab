r"""The four RNN structures of the notes, around any recurrent layer.

The notes ("RNN 基本结构") draw four ways to wire a recurrent network: the classic
**N to N** (one output per input step), **N to 1** (one output from the whole
sequence), **1 to N** (one input, a generated sequence whose outputs are fed back
as the next inputs) and **N to M** (an encoder reads N steps, a decoder writes M).
Every structure here wraps a *layer* chosen independently of it: any module with
torch's recurrent-layer contract,

    ``layer(input (L, N, H_in), hx) -> (output (L, N, D*H), state)``

where ``state`` is a tensor ``(D*num_layers, N, H)`` (``rnnbook.RNN``,
``torch.nn.RNN``/``GRU``) or a tuple of them (``torch.nn.LSTM``'s ``(h, c)``), and
``batch_first`` layers are handled. :func:`make_layer` builds one by name. The
structures themselves are time-major and batched: token ids ``(L, N)`` or vectors
``(L, N, H_in)``; one sequence is a batch of one, ``x[:, None]``.

In the notes' notation, with :math:`x_t` the input vector of step ``t`` (an embedding
row :math:`E[w_t]` or a one-hot vector for a token ``w_t``) and ``layer`` one step
of the chosen recurrence,

.. math::

    h_t = \mathrm{layer}(x_t, h_{t-1}), \qquad o_t = \mathrm{SoftMax}(W_{ho} h_t + b_o).

**Sequences of different lengths in one batch** ("问题2：输入序列间的长度差异") are
passed padded to the longest, time-major ``(L, N)``, with ``lengths`` ``(N,)``.
What the padding steps hold is never used: token ids there are not even checked.

* Outputs at padded steps are set to 0; losses (:func:`rnnbook.seq.losses.masked_cross_entropy`) skip them.
* The final state of a sequence is its state at its own last step ``lengths[n] - 1``
  (all layers, and the cell state of an LSTM): :func:`rnnbook.seq.padding.run_layer` hands the lengths to
  the layer (``lengths=`` for rnnbook's, a ``PackedSequence`` for torch's; see
  :mod:`rnnbook.layers.packing`), so a padded batch gives, to rounding, what running
  each sequence alone gives.
* A bidirectional layer reads each sequence backwards from its own last step.

The N-to-M pieces (:class:`Encoder`, :class:`rnnbook.seq.decoding.Decoder`, :class:`rnnbook.seq.decoding.NToM`) are meant to be
extended (attention, scheduled sampling, beam search): the decoder runs step by
step (:meth:`rnnbook.seq.decoding.Decoder.step`, :meth:`rnnbook.seq.decoding.Decoder.unroll` with any rule choosing the next
input), and :meth:`rnnbook.seq.decoding.Decoder.readout` is the hook where attention plugs in.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rnnbook._validate import check_choice, check_int, check_tensor
from rnnbook.layers.gru import GRU
from rnnbook.layers.lstm import LSTM
from rnnbook.layers.rnn import RNN
from rnnbook.seq.losses import masked_cross_entropy
from rnnbook.seq.padding import (
    State,
    _directions,
    _hidden,
    _out_size,
    check_lengths,
    check_tokens,
    length_mask,
    one_hot,
    run_layer,
)

__all__ = ["available_layers", "ENCODINGS", "make_layer", "TokenInput", "NToN", "NToOne", "Encoder",
           "EncoderOutput"]

#: How a token id becomes the input vector x_t.
ENCODINGS = ("embedding", "one_hot")


# -- layers and structures by name ---------------------------------------------------------
def _layer_classes() -> dict[str, type[nn.Module]]:
    """Recurrent layers known by name: rnnbook's own and torch's."""
    return {"rnn": RNN, "gru": GRU, "lstm": LSTM,
            "torch_rnn": nn.RNN, "torch_gru": nn.GRU, "torch_lstm": nn.LSTM}


def available_layers() -> tuple[str, ...]:
    """The layer names :func:`make_layer` accepts now.

    >>> rnnbook.available_layers()
    ('rnn', 'gru', 'lstm', 'torch_rnn', 'torch_gru', 'torch_lstm')
    """
    return tuple(_layer_classes())


def make_layer(name: str, input_size: int, hidden_size: int, **kwargs) -> nn.Module:
    """Build the recurrent layer called ``name`` (``'rnn'``, ``'gru'``, ``'lstm'`` for
    rnnbook's own where present; ``'torch_rnn'``, ``'torch_gru'``, ``'torch_lstm'`` for
    torch's); ``kwargs`` go to its constructor (num_layers, dtype, ...).

    >>> rnnbook.make_layer("gru", 3, 4, num_layers=2)
    GRU(3, 4, num_layers=2)
    >>> rnnbook.make_layer("torch_lstm", 3, 4)
    LSTM(3, 4)
    """
    classes = _layer_classes()
    check_choice("layer", name, tuple(classes))
    return classes[name](input_size, hidden_size, **kwargs)

class TokenInput(nn.Module):
    """Token ids (L, N) to input vectors x_t (L, N, size): an embedding row ``E[w_t]`` or a
    one-hot vector ``e_{w_t}`` (which is ``E[w_t]`` with ``E = I``; see the embedding chapter).

    Args:
        vocab_size: number of distinct tokens V.
        embedding_dim: size of an embedding row (required for ``'embedding'``; for
            ``'one_hot'`` the size is V and this must be None).
        encoding: ``'embedding'`` (learned ``E`` of shape (V, embedding_dim), a
            ``torch.nn.Embedding`` called ``embedding``) or ``'one_hot'`` (no parameters).

    >>> import torch
    >>> tokens = torch.tensor([[0, 2], [1, 1]])            # (L, N) token ids
    >>> tuple(rnnbook.TokenInput(3, 5)(tokens).shape)      # x_t = E[w_t]: (L, N, embedding_dim)
    (2, 2, 5)
    >>> rnnbook.TokenInput(3, encoding="one_hot")(tokens)[0].tolist()   # x_t = e_{w_t}
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """

    def __init__(self, vocab_size: int, embedding_dim: int | None = None,
                 encoding: str = "embedding", dtype: torch.dtype | None = None):
        super().__init__()
        self.vocab_size = check_int("vocab_size", vocab_size, minimum=1)
        self.encoding = check_choice("encoding", encoding, ENCODINGS)
        if encoding == "embedding":
            if embedding_dim is None:
                raise ValueError("embedding_dim must be given (an int >= 1) for encoding='embedding'")
            self.size = check_int("embedding_dim", embedding_dim, minimum=1)
            self.embedding = nn.Embedding(vocab_size, embedding_dim, dtype=dtype)
        else:
            if embedding_dim is not None:
                raise ValueError(
                    f"embedding_dim must be None for encoding='one_hot' (the size is "
                    f"vocab_size={vocab_size}), got {embedding_dim}"
                )
            self.size = vocab_size
            self.register_buffer(
                "_dtype_probe", torch.zeros((), dtype=dtype or torch.get_default_dtype()), persistent=False
            )

    def extra_repr(self) -> str:
        return f"{self.vocab_size}, encoding={self.encoding!r}, size={self.size}"

    def forward(self, tokens: Tensor, mask: Tensor | None = None) -> Tensor:
        check_tokens("tokens", tokens, self.vocab_size, mask)
        if mask is not None:
            tokens = tokens.masked_fill(~mask, 0)  # padding: any id; never used
        if self.encoding == "embedding":
            # x_t = E[w_t]
            return self.embedding(tokens)
        # x_t = e_{w_t}
        return one_hot(tokens, self.vocab_size, dtype=self._dtype_probe.dtype)


def _check_layer(layer: object, input_size: int, role: str) -> nn.Module:
    if not isinstance(layer, nn.Module) or not hasattr(layer, "hidden_size"):
        raise TypeError(
            f"layer must be a recurrent layer (an nn.Module such as rnnbook.RNN or torch.nn.LSTM; "
            f"see make_layer), got {type(layer).__name__}"
        )
    if layer.input_size != input_size:
        raise ValueError(
            f"layer.input_size must be {input_size} (the size of the {role}'s input vectors), "
            f"got {layer.input_size}"
        )
    return layer


class _SequenceReader(nn.Module):
    """Reads a padded batch (tokens or feature vectors) through a layer."""

    def __init__(self, layer: nn.Module, vocab_size: int | None, embedding_dim: int | None,
                 encoding: str, dtype: torch.dtype | None, role: str):
        super().__init__()
        if vocab_size is None:
            self.input = None
            size = layer.input_size if isinstance(layer, nn.Module) and hasattr(layer, "input_size") else 0
        else:
            self.input = TokenInput(vocab_size, embedding_dim, encoding, dtype=dtype)
            size = self.input.size
        self.layer = _check_layer(layer, size, role)

    def _param_dtype(self) -> torch.dtype:
        return next(self.layer.parameters()).dtype

    def read(self, x: Tensor, lengths: object, hx: State | None,
             need_state: bool = True) -> tuple[Tensor, State | None, Tensor | None]:
        if self.input is None:
            x = check_tensor("input", x, ndims=(3,), dtype=self._param_dtype())
            if x.shape[-1] != self.layer.input_size:
                raise ValueError(
                    f"input must have {self.layer.input_size} features (layer.input_size) in its "
                    f"last dimension, got shape {tuple(x.shape)}"
                )
        elif not isinstance(x, Tensor) or x.dim() != 2:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"tokens must be a 2-D (L, N) tensor of token ids, got {shape}")
        steps, batch = x.shape[:2]
        if steps == 0:
            raise ValueError(f"input must have at least one time step, got shape {tuple(x.shape)}")
        lens = None if lengths is None else check_lengths(lengths, batch, steps)
        mask = None if lens is None else length_mask(lens, steps, x.device)
        if self.input is not None:
            x = self.input(x, mask)
        out, state = run_layer(self.layer, x, lens, hx, need_state)
        return out, state, lens


# -- N to N ------------------------------------------------------------------------------------
class NToN(_SequenceReader):
    r"""N to N: one output per step, :math:`o_t = W_{ho} h_t + b_o` (scores; softmax in the loss).

    Tagging, or language modelling (targets = the inputs shifted by one).

    Args:
        layer: the recurrent layer (its ``input_size`` must match the input vectors).
        output_size: q, the number of classes per step.
        vocab_size: if given, the input is token ids (L, N) turned into vectors by
            :class:`TokenInput` (``embedding_dim``, ``encoding``); if None, the input is
            feature vectors (L, N, layer.input_size).

    ``forward(x, lengths=None, hx=None) -> (scores (L, N, q), state)``: scores are 0 at
    padded steps; ``state`` is each sequence's at its last real step.
    ``loss(x, y, lengths=None)``: :func:`rnnbook.seq.losses.masked_cross_entropy` over the real steps.

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = rnnbook.NToN(rnnbook.GRU(8, 16), output_size=5, vocab_size=10, embedding_dim=8)
    >>> tokens = torch.randint(10, (6, 3))                 # (L, N) token ids
    >>> scores, h_n = model(tokens, lengths=[6, 4, 2])     # o_t = W_ho h_t + b_o
    >>> tuple(scores.shape), tuple(h_n.shape)
    ((6, 3, 5), (1, 3, 16))
    >>> bool((scores[4:, 1] == 0).all())                   # padded steps score 0
    True
    >>> loss = model.loss(tokens, torch.randint(5, (6, 3)), lengths=[6, 4, 2])
    >>> loss.shape
    torch.Size([])
    """

    def __init__(self, layer: nn.Module, output_size: int, *, vocab_size: int | None = None,
                 embedding_dim: int | None = None, encoding: str = "embedding",
                 dtype: torch.dtype | None = None):
        super().__init__(layer, vocab_size, embedding_dim, encoding, dtype, "N-to-N model")
        self.output_size = check_int("output_size", output_size, minimum=1)
        self.head = nn.Linear(_directions(layer) * _out_size(layer), output_size, dtype=dtype)

    def forward(self, x: Tensor, lengths: object = None, hx: State | None = None) -> tuple[Tensor, State]:
        out, state, lens = self.read(x, lengths, hx)
        # o_t = W_ho h_t + b_o
        scores = self.head(out)
        if lens is not None:
            scores = scores.masked_fill(~length_mask(lens, scores.shape[0], scores.device).unsqueeze(-1), 0.0)
        return scores, state

    def loss(self, x: Tensor, y: Tensor, lengths: object = None) -> Tensor:
        scores, _ = self(x, lengths)
        return masked_cross_entropy(scores, y, lengths)


# -- N to 1 ------------------------------------------------------------------------------------
class NToOne(_SequenceReader):
    r"""N to 1: one output from the whole sequence, read from the final state,
    :math:`o = W_{ho} h_{\ell} + b_o` with :math:`h_\ell` the last layer's state at the
    sequence's own last step :math:`\ell` (for a bidirectional layer, forward and backward
    final states concatenated).

    Arguments as :class:`NToN`; ``forward(x, lengths=None, hx=None) -> scores (N, q)``
    (for regression, read the scores as the q predicted values).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = rnnbook.NToOne(rnnbook.LSTM(2, 8), output_size=1)   # regression from vectors
    >>> x = torch.randn(7, 4, 2)                           # (L, N, H_in)
    >>> tuple(model(x).shape)                              # o = W_ho h_ell + b_o: (N, q)
    (4, 1)
    >>> tuple(model.final_features(x, lengths=[7, 5, 3, 1]).shape)
    (4, 8)
    """

    def __init__(self, layer: nn.Module, output_size: int, *, vocab_size: int | None = None,
                 embedding_dim: int | None = None, encoding: str = "embedding",
                 dtype: torch.dtype | None = None):
        super().__init__(layer, vocab_size, embedding_dim, encoding, dtype, "N-to-1 model")
        self.output_size = check_int("output_size", output_size, minimum=1)
        self.head = nn.Linear(_directions(layer) * _out_size(layer), output_size, dtype=dtype)

    def final_features(self, x: Tensor, lengths: object = None, hx: State | None = None) -> Tensor:
        """h_ell: (N, D*H), the last layer's final state(s)."""
        d = _directions(self.layer)
        if d == 1:
            # unidirectional: h_ell is the output at step ell - 1 (one layer call)
            out, _, lens = self.read(x, lengths, hx, need_state=False)
            if lens is None:
                return out[-1]
            return out[lens.to(out.device) - 1, torch.arange(out.shape[1], device=out.device)]
        _, state, _ = self.read(x, lengths, hx)
        h = _hidden(state)
        return torch.cat(list(h[-d:]), dim=-1)

    def forward(self, x: Tensor, lengths: object = None, hx: State | None = None) -> Tensor:
        # o = W_ho h_ell + b_o
        return self.head(self.final_features(x, lengths, hx))

    def loss(self, x: Tensor, y: Tensor, lengths: object = None) -> Tensor:
        return F.cross_entropy(self(x, lengths), y)


# -- the encoder: the first half of N to M --------------------------------------------------
@dataclass
class EncoderOutput:
    """What an :class:`Encoder` hands on: ``outputs`` (L, N, D*H), zeros at padding (the
    memory an attention decoder reads); ``state``, each sequence's final state (the
    context the decoder starts from); ``mask`` (L, N), True at real source steps;
    ``lengths`` (N,).

    >>> import torch
    >>> encoder = rnnbook.Encoder(rnnbook.GRU(4, 6), vocab_size=10, embedding_dim=4)
    >>> enc = encoder(torch.randint(10, (5, 2)), lengths=[5, 3])
    >>> tuple(enc.outputs.shape), tuple(enc.state.shape)
    ((5, 2, 6), (1, 2, 6))
    >>> enc.mask.T.int().tolist(), enc.lengths.tolist()
    ([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], [5, 3])
    """

    outputs: Tensor
    state: State
    mask: Tensor
    lengths: Tensor


class Encoder(_SequenceReader):
    """The N-to-1 half of N to M: reads the source (tokens or vectors) with any layer and
    returns an :class:`EncoderOutput`; arguments as :class:`NToN` without the head.

    Shapes: ``src`` (L, N) token ids or (L, N, layer.input_size) vectors, time-major;
    ``lengths`` (N,); the output's ``outputs`` (L, N, D*H) and ``mask`` (L, N).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> encoder = rnnbook.Encoder(rnnbook.LSTM(4, 6), vocab_size=10, embedding_dim=4)
    >>> enc = encoder(torch.randint(10, (5, 2)), lengths=[5, 3])   # src: (L, N)
    >>> tuple(enc.outputs.shape), [tuple(s.shape) for s in enc.state]   # LSTM: (h, c)
    ((5, 2, 6), [(1, 2, 6), (1, 2, 6)])
    """

    def __init__(self, layer: nn.Module, *, vocab_size: int | None = None, embedding_dim: int | None = None,
                 encoding: str = "embedding", dtype: torch.dtype | None = None):
        super().__init__(layer, vocab_size, embedding_dim, encoding, dtype, "encoder")

    def forward(self, src: Tensor, lengths: object = None, hx: State | None = None) -> EncoderOutput:
        out, state, lens = self.read(src, lengths, hx)
        steps, batch = out.shape[:2]
        if lens is None:
            lens = torch.full((batch,), steps, dtype=torch.long)
        return EncoderOutput(out, state, length_mask(lens, steps, out.device), lens)


