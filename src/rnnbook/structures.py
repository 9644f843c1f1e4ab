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

* Outputs at padded steps are set to 0; losses (:func:`masked_cross_entropy`) skip them.
* The final state of a sequence is its state at its own last step ``lengths[n] - 1``
  (all layers, and the cell state of an LSTM): :func:`run_layer` runs the layer over
  the stretches between distinct lengths and freezes each sequence's state once it
  has ended, so a padded batch gives, to rounding, what running each sequence alone
  gives.
* A bidirectional layer's backward direction would start in the padding, so a
  bidirectional layer with padding is refused (``ValueError``); without padding it
  is accepted where a structure reads its whole final state (N-to-N, N-to-1, Encoder).

The N-to-M pieces (:class:`Encoder`, :class:`Decoder`, :class:`NToM`) are meant to be
extended (attention, scheduled sampling, beam search): the decoder runs step by
step (:meth:`Decoder.step`, :meth:`Decoder.unroll` with any rule choosing the next
input), and :meth:`Decoder.readout` is the hook where attention plugs in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ._validate import check_choice, check_int, check_tensor
from .data import IGNORE_INDEX, one_hot
from .train import sequence_loss

__all__ = [
    "available_layers",
    "STRUCTURES",
    "ENCODINGS",
    "make_layer",
    "make_structure",
    "check_lengths",
    "check_tokens",
    "length_mask",
    "masked_cross_entropy",
    "run_layer",
    "map_state",
    "select_state",
    "TokenInput",
    "NToN",
    "NToOne",
    "OneToN",
    "Encoder",
    "EncoderOutput",
    "Decoder",
    "NToM",
    "shift_right",
]

State = Union[Tensor, tuple[Tensor, ...]]

#: How a token id becomes the input vector x_t.
ENCODINGS = ("embedding", "one_hot")


# -- layers and structures by name ---------------------------------------------------------
def _layer_classes() -> dict[str, type[nn.Module]]:
    """Recurrent layers known by name. rnnbook's own are looked up when asked, so a layer
    added to rnnbook later (GRU, LSTM, ...) is found without editing this module."""
    import rnnbook

    classes: dict[str, type[nn.Module]] = {}
    for name in ("RNN", "GRU", "LSTM"):
        cls = getattr(rnnbook, name, None)
        if cls is not None:
            classes[name.lower()] = cls
    classes.update(torch_rnn=nn.RNN, torch_gru=nn.GRU, torch_lstm=nn.LSTM)
    return classes


def available_layers() -> tuple[str, ...]:
    """The layer names :func:`make_layer` accepts now."""
    return tuple(_layer_classes())


def make_layer(name: str, input_size: int, hidden_size: int, **kwargs) -> nn.Module:
    """Build the recurrent layer called ``name`` (``'rnn'``, ``'gru'``, ``'lstm'`` for
    rnnbook's own where present; ``'torch_rnn'``, ``'torch_gru'``, ``'torch_lstm'`` for
    torch's); ``kwargs`` go to its constructor (num_layers, dtype, ...)."""
    classes = _layer_classes()
    check_choice("layer", name, tuple(classes))
    return classes[name](input_size, hidden_size, **kwargs)


# -- checks ----------------------------------------------------------------------------------
def check_lengths(lengths: object, batch: int, steps: int) -> Tensor:
    """Validate ``lengths`` (a 1-D integer tensor or a sequence of ints, one per sequence,
    each in ``[1, steps]``); return it as a CPU ``int64`` tensor."""
    if isinstance(lengths, Tensor):
        if lengths.is_floating_point() or lengths.is_complex() or lengths.dtype == torch.bool:
            raise TypeError(f"lengths must be an integer tensor, got dtype {lengths.dtype}")
        if lengths.dim() != 1:
            raise ValueError(
                f"lengths must be 1-D (one length per sequence), got shape {tuple(lengths.shape)}"
            )
        values = lengths.detach().cpu().long()
    elif isinstance(lengths, Sequence) and not isinstance(lengths, str):
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in lengths):
            raise TypeError(f"lengths must be a sequence of ints, got {list(lengths)!r}")
        values = torch.tensor(list(lengths), dtype=torch.long)
    else:
        raise TypeError(
            f"lengths must be a 1-D integer tensor or a sequence of ints, got {type(lengths).__name__}"
        )
    if values.shape != (batch,):
        raise ValueError(
            f"lengths must hold one length per sequence: shape ({batch},), got {tuple(values.shape)}"
        )
    if values.numel() and values.min() < 1:
        n = int(values.argmin())
        raise ValueError(
            f"lengths must be >= 1 (every sequence has at least one step), "
            f"got {int(values[n])} for sequence {n}"
        )
    if values.numel() and values.max() > steps:
        n = int(values.argmax())
        raise ValueError(
            f"lengths must be <= {steps} (the number of time steps in the padded input), "
            f"got {int(values[n])} for sequence {n}"
        )
    return values


def length_mask(lengths: Tensor, steps: int, device: torch.device | None = None) -> Tensor:
    """``mask[t, n] = t < lengths[n]``: True at real steps, False at padding; shape (steps, N)."""
    t = torch.arange(steps, device=device).unsqueeze(1)
    return t < lengths.to(device).unsqueeze(0)


def check_tokens(name: str, tokens: object, vocab_size: int, mask: Tensor | None = None) -> Tensor:
    """Validate integer token ids in ``[0, vocab_size - 1]`` (only where ``mask`` is True)."""
    if not isinstance(tokens, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of token ids, got {type(tokens).__name__}")
    if tokens.is_floating_point() or tokens.is_complex() or tokens.dtype == torch.bool:
        raise TypeError(f"{name} must be an integer tensor of token ids, got dtype {tokens.dtype}")
    real = tokens if mask is None else tokens[mask]
    if real.numel() and (real.min() < 0 or real.max() >= vocab_size):
        raise ValueError(
            f"{name} must be token ids in [0, {vocab_size - 1}] (vocab_size={vocab_size}), "
            f"got values in [{int(real.min())}, {int(real.max())}]"
        )
    return tokens


def _check_temperature(temperature: object) -> float | None:
    if temperature is None:
        return None
    if isinstance(temperature, bool) or not isinstance(temperature, (int, float)):
        raise TypeError(
            f"temperature must be a positive number or None (greedy), got {temperature!r} "
            f"of type {type(temperature).__name__}"
        )
    if not temperature > 0:
        raise ValueError(
            "temperature must be > 0 (softmax(o / T) is undefined at T <= 0; use "
            f"temperature=None for greedy decoding, the limit T -> 0), got {temperature}"
        )
    return float(temperature)


# -- running a layer on a padded batch ---------------------------------------------------
def map_state(fn: Callable[[Tensor], Tensor], state: State) -> State:
    """Apply ``fn`` to a state: to the tensor, or to each tensor of a tuple (LSTM's (h, c))."""
    return tuple(fn(s) for s in state) if isinstance(state, tuple) else fn(state)


def select_state(state: State, index: Tensor) -> State:
    """Pick sequences of a batched state ``(rows, N, H)`` by ``index`` along the batch
    dimension (e.g. to reorder beams in beam search)."""
    return map_state(lambda s: s.index_select(1, index), state)


def _zip_state(fn: Callable[[Tensor, Tensor], Tensor], a: State, b: State) -> State:
    if isinstance(a, tuple):
        return tuple(fn(u, v) for u, v in zip(a, b, strict=True))
    return fn(a, b)


def _hidden(state: State) -> Tensor:
    """The hidden-state tensor ``h_n`` of a state (the first of LSTM's ``(h, c)``)."""
    return state[0] if isinstance(state, tuple) else state


def _call(layer: nn.Module, x: Tensor, hx: State | None) -> tuple[Tensor, State]:
    """Run ``layer`` on time-major ``x``, whatever its ``batch_first``."""
    if getattr(layer, "batch_first", False):
        out, state = layer(x.transpose(0, 1), hx)
        return out.transpose(0, 1), state
    return layer(x, hx)


def _directions(layer: nn.Module) -> int:
    return 2 if getattr(layer, "bidirectional", False) else 1


def _out_size(layer: nn.Module) -> int:
    """Features of the layer's hidden state ``h_t`` (``proj_size`` for a projected LSTM)."""
    return getattr(layer, "proj_size", 0) or layer.hidden_size


def run_layer(
    layer: nn.Module, x: Tensor, lengths: Tensor | None = None, hx: State | None = None,
    need_state: bool = True,
) -> tuple[Tensor, State | None]:
    """Run a recurrent ``layer`` over a padded, time-major batch ``x`` (L, N, H_in).

    Returns ``output`` (L, N, D*H) with zeros at padded steps, and the final state
    taken at each sequence's own last step. The layer is called once per stretch
    ``[a, b)`` between consecutive distinct lengths; after each stretch, a sequence
    that has ended keeps its old state:

    .. math:: s^{(n)} \\leftarrow s^{(n)}_{\\text{new}} \\text{ if } \\ell_n \\ge b
              \\text{ else } s^{(n)}

    A unidirectional layer's output at step ``t`` depends only on steps ``<= t``, so
    the outputs before each sequence's end are what running it alone gives. With
    ``need_state=False`` the layer is called once and the state returned is None (the
    outputs are the same; only the final state needs the stretches).
    """
    steps = x.shape[0]
    if lengths is None or bool((lengths == steps).all()):
        return _call(layer, x, hx)
    if _directions(layer) == 2:
        raise ValueError(
            "a bidirectional layer cannot take a padded batch here: its backward direction "
            "would start in the padding; pass sequences of equal length (no padding) or use "
            "a unidirectional layer"
        )
    mask = length_mask(lengths, steps, x.device).unsqueeze(-1)
    if not need_state:
        output, _ = _call(layer, x, hx)
        return output.masked_fill(~mask, 0.0), None
    bounds = sorted(set(lengths.tolist()))
    if bounds[-1] != steps:
        bounds.append(steps)  # every sequence is shorter than the padded input: run the rest too
    outs, state, start = [], hx, 0
    for stop in bounds:
        out, new = _call(layer, x[start:stop], state)
        if state is None:
            state = map_state(torch.zeros_like, new)
        # sequences still running at `stop` take the new state; those that ended keep theirs
        active = (lengths >= stop).to(x.device).view(1, -1, 1)
        state = _zip_state(lambda n, o: torch.where(active, n, o), new, state)
        outs.append(out)
        start = stop
    output = torch.cat(outs)
    return output.masked_fill(~mask, 0.0), state


def masked_cross_entropy(scores: Tensor, targets: Tensor, lengths: Tensor | None = None) -> Tensor:
    """Mean cross entropy over the real steps: scores (L, N, q), targets (L, N).

    .. math:: \\mathcal{L} = -\\frac{1}{\\sum_n \\ell_n} \\sum_n \\sum_{t < \\ell_n}
              \\log \\mathrm{softmax}(o^{(n)}_t)[y^{(n)}_t]

    Padded steps (``t >= lengths[n]``) count for nothing, whatever their targets hold.
    """
    check_tensor("scores", scores, ndims=(3,))
    if not isinstance(targets, Tensor) or targets.is_floating_point():
        raise TypeError(f"targets must be an integer tensor, got {type(targets).__name__}")
    if targets.shape != scores.shape[:2]:
        raise ValueError(
            f"targets must have shape {tuple(scores.shape[:2])} (the scores' (L, N)), "
            f"got {tuple(targets.shape)}"
        )
    steps, batch = targets.shape
    if lengths is None:
        mask = torch.ones_like(targets, dtype=torch.bool)
    else:
        mask = length_mask(check_lengths(lengths, batch, steps), steps, targets.device)
    check_tokens("targets", targets, scores.shape[-1], mask)
    # the same loss as rnnbook.train.sequence_loss, with the padded steps' targets ignored
    return sequence_loss(scores, targets.masked_fill(~mask, IGNORE_INDEX))


# -- from tokens to input vectors ------------------------------------------------------------
class TokenInput(nn.Module):
    """Token ids (L, N) to input vectors x_t (L, N, size): an embedding row ``E[w_t]`` or a
    one-hot vector ``e_{w_t}`` (which is ``E[w_t]`` with ``E = I``; see the embedding chapter).

    Args:
        vocab_size: number of distinct tokens V.
        embedding_dim: size of an embedding row (required for ``'embedding'``; for
            ``'one_hot'`` the size is V and this must be None).
        encoding: ``'embedding'`` (learned ``E`` of shape (V, embedding_dim), a
            ``torch.nn.Embedding`` called ``embedding``) or ``'one_hot'`` (no parameters).
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
    ``loss(x, y, lengths=None)``: :func:`masked_cross_entropy` over the real steps.
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


# -- the decoder: 1 to N, and the second half of N to M -------------------------------------
def _check_generator(generator: object) -> torch.Generator:
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            "generator must be a torch.Generator when sampling (temperature given), e.g. "
            f"torch.Generator().manual_seed(0); got {type(generator).__name__}"
        )
    return generator


class Decoder(nn.Module):
    r"""A recurrent network over tokens that predicts the next token:

    .. math::

        x_t = E[w_{t-1}], \quad s_t = \mathrm{layer}(x_t, s_{t-1}), \quad
        o_t = W_{ho}\, \mathrm{readout}(s_t) + b_o .

    Trained with *teacher forcing* (:meth:`forward`: the inputs are the true previous
    tokens), run *free* with :meth:`unroll` / :meth:`generate` (each step's input is
    chosen from the previous step's scores: greedy, sampled, or by any rule, e.g.
    scheduled sampling). It is the 1-to-N generator (with :class:`OneToN`) and the
    decoder of :class:`NToM`.

    Args:
        layer: a unidirectional recurrent layer with ``input_size`` equal to the token
            vectors' size.
        vocab_size: V, the tokens read and predicted.
        embedding_dim, encoding: how a token becomes x_t (:class:`TokenInput`).

    Extension points:
        ``readout(s, memory, memory_mask)`` maps the layer's outputs ``s`` (T, N, H) to
        the features the head reads (default: ``s`` itself). An attention decoder
        overrides it (e.g. :math:`\tilde h_t = \tanh(W[c_t; s_t] + b)`, with ``memory`` the
        encoder outputs (L, N, H_enc) and ``memory_mask`` (L, N) True at real source
        steps) and replaces ``self.head`` to match the new feature size.
        ``readout_size`` is the size of the default readout (the layer's H).
    """

    def __init__(self, layer: nn.Module, vocab_size: int, *, embedding_dim: int | None = None,
                 encoding: str = "embedding", dtype: torch.dtype | None = None):
        super().__init__()
        self.input = TokenInput(vocab_size, embedding_dim, encoding, dtype=dtype)
        self.layer = _check_layer(layer, self.input.size, "decoder")
        if _directions(layer) != 1:
            raise ValueError(
                "a decoder's layer must not be bidirectional: it runs forward in time, one step "
                "at a time, feeding back its own outputs; got bidirectional=True"
            )
        self.vocab_size = vocab_size
        self.readout_size = _out_size(layer)
        self.head = nn.Linear(self.readout_size, vocab_size, dtype=dtype)

    def readout(self, s: Tensor, memory: Tensor | None = None, memory_mask: Tensor | None = None) -> Tensor:
        """Features for the output layer from the states s (T, N, H); the attention hook."""
        return s

    def forward(self, tokens: Tensor, state: State | None = None, lengths: object = None,
                memory: Tensor | None = None, memory_mask: Tensor | None = None) -> tuple[Tensor, State]:
        """Teacher forcing: ``tokens`` (T, N) are the inputs ``w_0 .. w_{T-1}``; returns the
        scores (T, N, V) for ``w_1 .. w_T`` (0 at padded steps) and the final state."""
        if not isinstance(tokens, Tensor) or tokens.dim() != 2:
            shape = tuple(tokens.shape) if isinstance(tokens, Tensor) else type(tokens).__name__
            raise ValueError(f"tokens must be a 2-D (T, N) tensor of token ids, got {shape}")
        steps, batch = tokens.shape
        if steps == 0:
            raise ValueError(f"tokens must have at least one time step, got shape {tuple(tokens.shape)}")
        lens = None if lengths is None else check_lengths(lengths, batch, steps)
        mask = None if lens is None else length_mask(lens, steps, tokens.device)
        x = self.input(tokens, mask)
        s, state = run_layer(self.layer, x, lens, state)
        # o_t = W_ho readout(s_t) + b_o
        scores = self.head(self.readout(s, memory, memory_mask))
        if mask is not None:
            scores = scores.masked_fill(~mask.unsqueeze(-1), 0.0)
        return scores, state

    def step(self, tokens: Tensor, state: State | None = None, memory: Tensor | None = None,
             memory_mask: Tensor | None = None) -> tuple[Tensor, State]:
        """One step: tokens (N,) -> scores (N, V), new state."""
        if not isinstance(tokens, Tensor) or tokens.dim() != 1:
            shape = tuple(tokens.shape) if isinstance(tokens, Tensor) else type(tokens).__name__
            raise ValueError(f"tokens must be a 1-D (N,) tensor of token ids for one step, got {shape}")
        scores, state = self(tokens.unsqueeze(0), state, None, memory, memory_mask)
        return scores[0], state

    def unroll(self, first_tokens: Tensor, steps: int, state: State | None = None, *,
               next_tokens: Callable[[int, Tensor], Tensor],
               memory: Tensor | None = None, memory_mask: Tensor | None = None) -> tuple[Tensor, State]:
        """Run ``steps`` steps, feeding back: step 0 reads ``first_tokens`` (N,); step t+1 reads
        ``next_tokens(t, scores_t)`` (N,) chosen from step t's scores (N, V) (greedy:
        ``lambda t, o: o.argmax(-1)``; teacher forcing: ``lambda t, o: targets[t]``; scheduled
        sampling: a per-sequence mix). Returns scores (steps, N, V) and the final state."""
        check_int("steps", steps, minimum=1)
        tokens, outs = first_tokens, []
        for t in range(steps):
            scores, state = self.step(tokens, state, memory, memory_mask)
            outs.append(scores)
            if t + 1 < steps:
                tokens = next_tokens(t, scores)
        return torch.stack(outs), state

    @torch.no_grad()
    def generate(self, first_tokens: Tensor, steps: int, state: State | None = None, *,
                 temperature: float | None = None, generator: torch.Generator | None = None,
                 end_token: int | None = None, pad_token: int = 0,
                 memory: Tensor | None = None, memory_mask: Tensor | None = None) -> tuple[Tensor, Tensor]:
        r"""Generate up to ``steps`` tokens per sequence, each fed back as the next input.

        Greedy (``temperature=None``): :math:`w_t = \arg\max o_t`. Sampling:
        :math:`w_t \sim \mathrm{softmax}(o_t / T)` drawn with ``generator`` (so a seed fixes
        the sample). With ``end_token``, a sequence stops after emitting it; later places
        hold ``pad_token``. Returns tokens (steps, N) and lengths (N,) (end token included).
        """
        temperature = _check_temperature(temperature)
        check_int("steps", steps, minimum=1)
        if temperature is not None:
            _check_generator(generator)
        if end_token is not None:
            check_int("end_token", end_token, minimum=0)
            if end_token >= self.vocab_size:
                raise ValueError(
                    f"end_token must be a token id in [0, {self.vocab_size - 1}], got {end_token}"
                )
        batch = first_tokens.shape[0]
        done = torch.zeros(batch, dtype=torch.bool, device=first_tokens.device)
        lengths = torch.full((batch,), steps, dtype=torch.long)
        tokens, out = first_tokens, []
        for t in range(steps):
            scores, state = self.step(tokens, state, memory, memory_mask)
            if temperature is None:
                # w_t = argmax o_t
                tokens = scores.argmax(-1)
            else:
                # w_t ~ softmax(o_t / T)
                probs = torch.softmax(scores / temperature, dim=-1)
                tokens = torch.multinomial(probs.cpu().double(), 1, generator=generator)[:, 0]
                tokens = tokens.to(scores.device)
            out.append(torch.where(done, torch.full_like(tokens, pad_token), tokens))
            if end_token is not None:
                ended = (~done) & (tokens == end_token)
                lengths[ended.cpu()] = t + 1
                done = done | ended
                if bool(done.all()):
                    break
        return torch.stack(out), lengths


class OneToN(nn.Module):
    r"""1 to N: one input, a generated sequence.

    The one input is a vector ``c`` (``condition_size`` features) that sets the initial
    state of every layer, :math:`s_0 = \tanh(W_c c + b_c)` (an LSTM's cell state starts
    at 0), or nothing (``condition_size=None``: :math:`s_0 = 0`, as a language model
    that starts from a start token or a prompt). The sequence is then written by a
    :class:`Decoder`, whose outputs are fed back as its next inputs through the
    embedding or one-hot encoding ("一步错，步步错": a wrong token, once fed back,
    conditions every later step).

    ``forward(tokens, condition=None, lengths=None) -> (scores, state)``: teacher forcing.
    ``generate(steps, ...)``: greedy or temperature sampling, see :meth:`generate`.

    Shapes: ``tokens`` (T, N) token ids, time-major; ``condition`` (N, condition_size);
    ``lengths`` (N,); ``scores`` (T, N, vocab_size).
    """

    def __init__(self, layer: nn.Module, vocab_size: int, *, condition_size: int | None = None,
                 embedding_dim: int | None = None, encoding: str = "embedding",
                 dtype: torch.dtype | None = None):
        super().__init__()
        self.decoder = Decoder(layer, vocab_size, embedding_dim=embedding_dim, encoding=encoding,
                               dtype=dtype)
        self.condition_size = condition_size
        if condition_size is not None:
            check_int("condition_size", condition_size, minimum=1)
            rows = getattr(layer, "num_layers", 1)
            self.bridge = nn.Linear(condition_size, rows * _out_size(layer), dtype=dtype)
        else:
            self.bridge = None

    def initial_state(self, condition: Tensor | None) -> State | None:
        """s_0 from the condition c (N, condition_size); None (zeros) without a condition."""
        if self.bridge is None:
            if condition is not None:
                raise ValueError("condition must be None: this model was built with condition_size=None")
            return None
        dtype = self.bridge.weight.dtype
        c = check_tensor("condition", condition, ndims=(2,), dtype=dtype)
        if c.shape[1] != self.condition_size:
            raise ValueError(
                f"condition must have shape (N, {self.condition_size}) = (batch, condition_size), "
                f"got {tuple(c.shape)}"
            )
        layer = self.decoder.layer
        rows, size = getattr(layer, "num_layers", 1), _out_size(layer)
        # s_0 = tanh(W_c c + b_c), one row block per layer
        h0 = torch.tanh(self.bridge(c)).view(c.shape[0], rows, size).transpose(0, 1).contiguous()
        _, probe = _call(layer, h0.new_zeros(1, c.shape[0], layer.input_size), None)
        if isinstance(probe, tuple):  # LSTM: (h_0, c_0 = 0)
            return (h0,) + tuple(torch.zeros_like(p) for p in probe[1:])
        return h0

    def forward(self, tokens: Tensor, condition: Tensor | None = None,
                lengths: object = None) -> tuple[Tensor, State]:
        return self.decoder(tokens, self.initial_state(condition), lengths)

    def loss(self, tokens: Tensor, targets: Tensor, condition: Tensor | None = None,
             lengths: object = None) -> Tensor:
        scores, _ = self(tokens, condition, lengths)
        return masked_cross_entropy(scores, targets, lengths)

    @torch.no_grad()
    def generate(self, steps: int, first_tokens: Tensor, *, condition: Tensor | None = None,
                 prompt: Tensor | None = None, temperature: float | None = None,
                 generator: torch.Generator | None = None, end_token: int | None = None,
                 pad_token: int = 0) -> tuple[Tensor, Tensor]:
        """Generate ``steps`` tokens after reading ``prompt`` (P, N) (if given) and then
        ``first_tokens`` (N,); see :meth:`Decoder.generate`. Returns tokens and lengths."""
        state = self.initial_state(condition)
        if prompt is not None:
            _, state = self.decoder(prompt, state)
        return self.decoder.generate(first_tokens, steps, state, temperature=temperature,
                                     generator=generator, end_token=end_token, pad_token=pad_token)


# -- N to M --------------------------------------------------------------------------------------
@dataclass
class EncoderOutput:
    """What an :class:`Encoder` hands on: ``outputs`` (L, N, D*H), zeros at padding (the
    memory an attention decoder reads); ``state``, each sequence's final state (the
    context the decoder starts from); ``mask`` (L, N), True at real source steps;
    ``lengths`` (N,)."""

    outputs: Tensor
    state: State
    mask: Tensor
    lengths: Tensor


class Encoder(_SequenceReader):
    """The N-to-1 half of N to M: reads the source (tokens or vectors) with any layer and
    returns an :class:`EncoderOutput`; arguments as :class:`NToN` without the head.

    Shapes: ``src`` (L, N) token ids or (L, N, layer.input_size) vectors, time-major;
    ``lengths`` (N,); the output's ``outputs`` (L, N, D*H) and ``mask`` (L, N).
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


def shift_right(targets: Tensor, start_token: int) -> Tensor:
    """Decoder inputs for teacher forcing: ``[start, y_1, ..., y_{M-1}]`` from targets (M, N)."""
    start = torch.full_like(targets[:1], start_token)
    return torch.cat([start, targets[:-1]])


class NToM(nn.Module):
    r"""N to M: an :class:`Encoder` reads the source (N steps), its final state is the
    context that starts a :class:`Decoder`, which writes the target (M steps, M != N in
    general) and stops at ``end_token``:

    .. math:: s_0 = \mathrm{bridge}(h^{enc}_{\ell}), \qquad
              s_t = \mathrm{layer}_{dec}(E[y_{t-1}], s_{t-1}), \quad y_0 = \texttt{start}.

    Args:
        encoder, decoder: built separately, over any layers whose final states have the
            same shapes (same number of layers and hidden size; both LSTMs or neither),
            unless :meth:`bridge` is overridden.
        start_token, end_token: ids in the decoder's vocabulary.

    ``forward(src, tgt_in, src_lengths=None, tgt_lengths=None) -> scores (M, N, V)``
    (teacher forcing: ``tgt_in = shift_right(targets, start_token)``); ``loss(src, targets,
    src_lengths, tgt_lengths)``; ``greedy(src, src_lengths, max_steps) -> (tokens, lengths)``.
    The decoder receives ``memory = encoded.outputs`` and ``memory_mask = encoded.mask``,
    unused unless its :meth:`Decoder.readout` is overridden (attention).
    """

    def __init__(self, encoder: Encoder, decoder: Decoder, *, start_token: int, end_token: int):
        super().__init__()
        if not isinstance(encoder, Encoder):
            raise TypeError(f"encoder must be an rnnbook.structures.Encoder, got {type(encoder).__name__}")
        if not isinstance(decoder, Decoder):
            raise TypeError(f"decoder must be an rnnbook.structures.Decoder, got {type(decoder).__name__}")
        self.encoder, self.decoder = encoder, decoder
        for name, value in (("start_token", start_token), ("end_token", end_token)):
            check_int(name, value, minimum=0)
            if value >= decoder.vocab_size:
                raise ValueError(f"{name} must be a token id in [0, {decoder.vocab_size - 1}], got {value}")
        self.start_token, self.end_token = start_token, end_token

    def bridge(self, state: State) -> State:
        """The decoder's initial state from the encoder's final state (identity; checked)."""
        _, probe = _call(self.decoder.layer, _hidden(state).new_zeros(1, _hidden(state).shape[1],
                                                                     self.decoder.layer.input_size), None)
        a = state if isinstance(state, tuple) else (state,)
        b = probe if isinstance(probe, tuple) else (probe,)
        if len(a) != len(b) or any(u.shape != v.shape for u, v in zip(a, b, strict=False)):
            raise ValueError(
                "the encoder's final state must have the decoder's state shape to start it: "
                f"got {[tuple(u.shape) for u in a]}, the decoder needs {[tuple(v.shape) for v in b]} "
                "(use the same num_layers, hidden size and layer family, a unidirectional "
                "encoder, or override NToM.bridge)"
            )
        return state

    def encode(self, src: Tensor, src_lengths: object = None) -> EncoderOutput:
        return self.encoder(src, src_lengths)

    def forward(self, src: Tensor, tgt_in: Tensor, src_lengths: object = None,
                tgt_lengths: object = None) -> Tensor:
        enc = self.encode(src, src_lengths)
        scores, _ = self.decoder(tgt_in, self.bridge(enc.state), tgt_lengths, enc.outputs, enc.mask)
        return scores

    def loss(self, src: Tensor, targets: Tensor, src_lengths: object = None,
             tgt_lengths: object = None) -> Tensor:
        """Teacher-forced cross entropy over the real target steps (targets end with end_token)."""
        scores = self(src, shift_right(targets, self.start_token), src_lengths, tgt_lengths)
        return masked_cross_entropy(scores, targets, tgt_lengths)

    @torch.no_grad()
    def greedy(self, src: Tensor, src_lengths: object = None, max_steps: int = 50,
               pad_token: int = 0) -> tuple[Tensor, Tensor]:
        """Greedy decoding until ``end_token`` (or ``max_steps``): tokens (T, N), lengths (N,)."""
        enc = self.encode(src, src_lengths)
        batch = enc.outputs.shape[1]
        first = torch.full((batch,), self.start_token, dtype=torch.long, device=enc.outputs.device)
        return self.decoder.generate(first, max_steps, self.bridge(enc.state), end_token=self.end_token,
                                     pad_token=pad_token, memory=enc.outputs, memory_mask=enc.mask)


#: The structures by name, for :func:`make_structure`.
STRUCTURES: dict[str, type[nn.Module]] = {"n_to_n": NToN, "n_to_1": NToOne, "1_to_n": OneToN}


def make_structure(name: str, layer: nn.Module | str, *args, layer_kwargs: dict | None = None,
                   **kwargs) -> nn.Module:
    """Build structure ``name`` (``'n_to_n'``, ``'n_to_1'``, ``'1_to_n'``) around ``layer``
    (a module, or a layer name for :func:`make_layer` with ``layer_kwargs`` holding
    ``input_size``, ``hidden_size`` and any other constructor argument). N to M is built
    from its parts: ``NToM(Encoder(...), Decoder(...), ...)``."""
    if name == "n_to_m":
        raise ValueError(
            "structure 'n_to_m' is built from its parts: NToM(Encoder(layer, ...), "
            "Decoder(layer, vocab_size, ...), start_token=..., end_token=...)"
        )
    check_choice("structure", name, tuple(STRUCTURES))
    if isinstance(layer, str):
        kw = dict(layer_kwargs or {})
        try:
            input_size, hidden_size = kw.pop("input_size"), kw.pop("hidden_size")
        except KeyError as missing:
            raise ValueError(
                f"layer_kwargs must hold input_size and hidden_size to build layer {layer!r}; "
                f"missing {missing}"
            ) from None
        layer = make_layer(layer, input_size, hidden_size, **kw)
    return STRUCTURES[name](layer, *args, **kwargs)
