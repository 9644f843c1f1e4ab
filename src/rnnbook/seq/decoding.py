"""The structures that generate: a step-by-step :class:`Decoder`, 1 to N and N to M.

The decoder runs one step at a time (:meth:`Decoder.step`, :meth:`Decoder.unroll` with any
rule choosing the next input), so attention, scheduled sampling and beam search plug into
it. :class:`OneToN` feeds each output back as the next input ("一步错，步步错": one wrong
step derails the rest; scheduled sampling, chapter 10, trains against it); :class:`NToM` is an
:class:`~rnnbook.seq.structures.Encoder` followed by a :class:`Decoder`.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from rnnbook._validate import check_choice, check_int, check_tensor
from rnnbook.seq.beam import Hypotheses, beam_search
from rnnbook.seq.losses import masked_cross_entropy
from rnnbook.seq.padding import (
    State,
    _call,
    _check_temperature,
    _directions,
    _hidden,
    _out_size,
    check_lengths,
    length_mask,
    run_layer,
    shift_right,
)
from rnnbook.seq.structures import (
    Encoder,
    EncoderOutput,
    NToN,
    NToOne,
    TokenInput,
    _check_layer,
    make_layer,
)

__all__ = ["Decoder", "OneToN", "NToM", "STRUCTURES", "make_structure"]


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
        embedding_dim, encoding: how a token becomes x_t (:class:`rnnbook.seq.structures.TokenInput`).
        extra_input_size: features a subclass concatenates to :math:`x_t` at every step
            (Luong's input feeding, Bahdanau's context); the layer's ``input_size`` must
            be the token vectors' size plus this (default 0).

    Extension points:
        ``readout(s, memory, memory_mask)`` maps the layer's outputs ``s`` (T, N, H) to
        the features the head reads (default: ``s`` itself). An attention decoder
        overrides it (e.g. :math:`\tilde h_t = \tanh(W[c_t; s_t] + b)`, with ``memory`` the
        encoder outputs (L, N, H_enc) and ``memory_mask`` (L, N) True at real source
        steps) and replaces ``self.head`` to match the new feature size.
        ``readout_size`` is the size of the default readout (the layer's H).

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> decoder = rnnbook.Decoder(rnnbook.GRU(4, 8), vocab_size=6, embedding_dim=4)
    >>> tokens = torch.randint(6, (5, 2))                  # teacher forcing: the true previous tokens
    >>> scores, state = decoder(tokens)
    >>> tuple(scores.shape), tuple(state.shape)            # (T, N, V), (num_layers, N, H)
    ((5, 2, 6), (1, 2, 8))
    >>> first = torch.tensor([1, 1])
    >>> out, lengths = decoder.generate(first, steps=4)   # greedy: each token fed back
    >>> tuple(out.shape), tuple(lengths.shape)
    ((4, 2), (2,))
    """

    def __init__(self, layer: nn.Module, vocab_size: int, *, embedding_dim: int | None = None,
                 encoding: str = "embedding", dtype: torch.dtype | None = None,
                 extra_input_size: int = 0):
        super().__init__()
        self.input = TokenInput(vocab_size, embedding_dim, encoding, dtype=dtype)
        check_int("extra_input_size", extra_input_size, minimum=0)
        self.layer = _check_layer(layer, self.input.size + extra_input_size, "decoder")
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

    def _inputs(self, tokens: Tensor, lengths: object) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """Check teacher-forcing ``tokens`` (T, N) and ``lengths``; the token vectors
        x (T, N, E), the lengths (N,) and the mask (T, N) (None without lengths)."""
        if not isinstance(tokens, Tensor) or tokens.dim() != 2:
            shape = tuple(tokens.shape) if isinstance(tokens, Tensor) else type(tokens).__name__
            raise ValueError(f"tokens must be a 2-D (T, N) tensor of token ids, got {shape}")
        steps, batch = tokens.shape
        if steps == 0:
            raise ValueError(f"tokens must have at least one time step, got shape {tuple(tokens.shape)}")
        lens = None if lengths is None else check_lengths(lengths, batch, steps)
        mask = None if lens is None else length_mask(lens, steps, tokens.device)
        return self.input(tokens, mask), lens, mask

    def _scores(self, features: Tensor, mask: Tensor | None) -> Tensor:
        """o_t = W_ho features_t + b_o (T, N, V), 0 at padded steps."""
        scores = self.head(features)
        if mask is not None:
            scores = scores.masked_fill(~mask.unsqueeze(-1), 0.0)
        return scores

    def forward(self, tokens: Tensor, state: State | None = None, lengths: object = None,
                memory: Tensor | None = None, memory_mask: Tensor | None = None) -> tuple[Tensor, State]:
        """Teacher forcing: ``tokens`` (T, N) are the inputs ``w_0 .. w_{T-1}``; returns the
        scores (T, N, V) for ``w_1 .. w_T`` (0 at padded steps) and the final state."""
        x, lens, mask = self._inputs(tokens, lengths)
        s, state = run_layer(self.layer, x, lens, state)
        # o_t = W_ho readout(s_t) + b_o
        return self._scores(self.readout(s, memory, memory_mask), mask), state

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
        if check_int("pad_token", pad_token, minimum=0) >= self.vocab_size:
            raise ValueError(f"pad_token must be a token id in [0, {self.vocab_size - 1}], got {pad_token}")
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

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> model = rnnbook.OneToN(rnnbook.GRU(4, 8), vocab_size=6, condition_size=3, embedding_dim=4)
    >>> condition = torch.randn(2, 3)                      # the one input c: (N, condition_size)
    >>> tuple(model.initial_state(condition).shape)        # s_0 = tanh(W_c c + b_c)
    (1, 2, 8)
    >>> scores, _ = model(torch.randint(6, (5, 2)), condition)
    >>> tuple(scores.shape)
    (5, 2, 6)
    >>> g = torch.Generator().manual_seed(0)
    >>> tokens, lengths = model.generate(4, torch.tensor([1, 1]), condition=condition,
    ...                                  temperature=1.0, generator=g)
    >>> tuple(tokens.shape)
    (4, 2)
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


    @torch.no_grad()
    def beam(self, steps: int, first_tokens: Tensor, *, condition: Tensor | None = None,
             prompt: Tensor | None = None, beam_width: int = 5, n_best: int = 1,
             end_token: int | None = None, normalize: str | None = None, alpha: float = 0.6,
             pad_token: int = 0) -> Hypotheses:
        """The ``n_best`` most probable continuations of at most ``steps`` tokens after
        ``prompt`` and ``first_tokens``, by :func:`rnnbook.seq.beam.beam_search`; returns its
        :class:`rnnbook.seq.beam.Hypotheses`.

        >>> import torch
        >>> _ = torch.manual_seed(0)
        >>> model = rnnbook.OneToN(rnnbook.GRU(4, 8), vocab_size=6, embedding_dim=4)
        >>> found = model.beam(3, torch.tensor([1]), beam_width=4, n_best=2)   # no end token
        >>> found.lengths.tolist(), bool(found.log_probs[0, 0] >= found.log_probs[0, 1])
        ([[3, 3]], True)
        """
        state = self.initial_state(condition)
        if prompt is not None:
            _, state = self.decoder(prompt, state)
        return beam_search(self.decoder, first_tokens, state, beam_width=beam_width, max_steps=steps,
                           end_token=end_token, n_best=n_best, normalize=normalize, alpha=alpha,
                           pad_token=pad_token)


# -- N to M --------------------------------------------------------------------------------------
class NToM(nn.Module):
    r"""N to M: an :class:`rnnbook.seq.structures.Encoder` reads the source (N steps), its final state is the
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

    >>> import torch
    >>> _ = torch.manual_seed(0)
    >>> encoder = rnnbook.Encoder(rnnbook.GRU(4, 8), vocab_size=10, embedding_dim=4)
    >>> decoder = rnnbook.Decoder(rnnbook.GRU(4, 8), vocab_size=6, embedding_dim=4)
    >>> model = rnnbook.NToM(encoder, decoder, start_token=1, end_token=2)
    >>> src, targets = torch.randint(10, (7, 3)), torch.randint(3, 6, (4, 3))   # N = 7, M = 4
    >>> scores = model(src, rnnbook.shift_right(targets, 1), src_lengths=[7, 5, 2])
    >>> tuple(scores.shape)                                # (M, N, V)
    (4, 3, 6)
    >>> model.loss(src, targets, src_lengths=[7, 5, 2]).shape
    torch.Size([])
    >>> tokens, lengths = model.greedy(src, [7, 5, 2], max_steps=6)
    >>> tuple(tokens.shape)[1], tuple(lengths.shape)
    (3, (3,))
    """

    def __init__(self, encoder: Encoder, decoder: Decoder, *, start_token: int, end_token: int):
        super().__init__()
        if not isinstance(encoder, Encoder):
            raise TypeError(f"encoder must be an rnnbook.seq.structures.Encoder, got {type(encoder).__name__}")
        if not isinstance(decoder, Decoder):
            raise TypeError(f"decoder must be an rnnbook.seq.decoding.Decoder, got {type(decoder).__name__}")
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
    (a module, or a layer name for :func:`rnnbook.seq.structures.make_layer` with ``layer_kwargs`` holding
    ``input_size``, ``hidden_size`` and any other constructor argument). N to M is built
    from its parts: ``NToM(Encoder(...), Decoder(...), ...)``.

    >>> model = rnnbook.make_structure("n_to_1", "lstm", 3,
    ...                                layer_kwargs={"input_size": 2, "hidden_size": 8})
    >>> type(model).__name__, type(model.layer).__name__, model.head
    ('NToOne', 'LSTM', Linear(in_features=8, out_features=3, bias=True))
    """
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
