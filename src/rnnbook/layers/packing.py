r"""Variable lengths in one batch: ``lengths=`` and ``PackedSequence``, for every recurrent layer.

A batch of sequences of different lengths is passed padded to the longest, with
``lengths`` (one per sequence), or as a ``torch.nn.utils.rnn.PackedSequence``, as torch's
layers take it. Every layer of rnnbook (:mod:`rnnbook.layers` and :mod:`rnnbook.variants`)
then gives each sequence what it gives alone:

* the outputs at padded steps are zero, and what the padding held is never read;
* the final state of sequence ``n`` is its state after its own last step
  ``lengths[n] - 1`` (every state tensor: LSTM's cell, the Clockwork RNN's clock,
  the QRNN's window of past inputs);
* a bidirectional layer's backward direction reads each sequence reversed *within
  its length*, so it starts at the sequence's last real step, not in the padding.

How :func:`run_with_lengths` does it: the recurrence runs over the stretches
``[a, b)`` between consecutive distinct lengths; after each stretch, a sequence that
has ended keeps its old state,

.. math:: s^{(n)} \leftarrow s^{(n)}_{\text{new}} \text{ if } \ell_n \ge b
          \text{ else } s^{(n)},

and the padded steps of the input are set to zero first, so that whatever they held
(even NaN) reaches neither an output nor a gradient. Each stretch runs on the whole
batch through the layer's own loop (the hand-written BPTT kernels included), so a
batch of ``k`` distinct lengths costs ``k`` calls of the loop and the same arithmetic
as the padded batch. A batch without lengths, or whose lengths all equal the padded
length, runs exactly as before (one call).

A ``PackedSequence`` in gives a ``PackedSequence`` out, with the same
``batch_sizes``, ``sorted_indices`` and ``unsorted_indices`` as the input (as torch);
initial and final states are in the batch's original order (as torch).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

__all__ = ["check_lengths", "sequence_lengths", "length_mask", "mask_padding", "reverse_within_lengths", "run_with_lengths",
           "unpack_input", "pack_output", "PackInfo"]

#: What :func:`unpack_input` keeps of a ``PackedSequence`` to rebuild the output:
#: ``(sorted_indices, unsorted_indices)``, or None for a padded input.
PackInfo = tuple[Tensor | None, Tensor | None] | None


def check_lengths(lengths: object, batch: int, steps: int) -> Tensor:
    """Validate ``lengths`` (a 1-D integer tensor or a sequence of ints, one per sequence,
    each in ``[1, steps]``); return it as a CPU ``int64`` tensor.

    >>> from rnnbook.layers.packing import check_lengths

    >>> check_lengths([3, 1], batch=2, steps=4)
    tensor([3, 1])
    """
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


def sequence_lengths(lengths: object, x: Tensor, batched: bool) -> Tensor | None:
    """Validate a layer's ``lengths`` for its time-major input ``x`` (L, N, ...); None stays None.

    >>> from rnnbook.layers.packing import sequence_lengths

    >>> import torch
    >>> sequence_lengths([2, 1], torch.zeros(3, 2, 4), batched=True)
    tensor([2, 1])
    """
    if lengths is None:
        return None
    if not batched:
        raise ValueError(
            "lengths must be None for an unbatched input (L, H_in): one sequence has one length, "
            f"its L = {x.shape[0]}; got lengths={lengths!r}"
        )
    return check_lengths(lengths, x.shape[1], x.shape[0])


def length_mask(lengths: Tensor, steps: int, device: torch.device | None = None) -> Tensor:
    """``mask[t, n] = t < lengths[n]``: True at real steps, False at padding; shape (steps, N).

    >>> from rnnbook.layers.packing import length_mask

    >>> import torch
    >>> length_mask(torch.tensor([2, 1]), 3).T
    tensor([[ True,  True, False],
            [ True, False, False]])
    """
    t = torch.arange(steps, device=device).unsqueeze(1)
    return t < lengths.to(device).unsqueeze(0)


def mask_padding(x: Tensor, lengths: Tensor | None) -> Tensor:
    """Time-major ``x`` (L, N, ...) with its padded steps set to zero (unchanged without lengths),
    so that whatever the padding held (even NaN) reaches neither an output nor a gradient.

    >>> from rnnbook.layers.packing import mask_padding

    >>> import torch
    >>> mask_padding(torch.full((3, 2), float("nan")), torch.tensor([2, 3])).isnan().sum().item()
    5
    """
    if lengths is None:
        return x
    mask = length_mask(lengths, x.shape[0], x.device)
    return x.masked_fill(~mask.view(*mask.shape, *([1] * (x.dim() - 2))), 0)


def reverse_within_lengths(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each sequence of time-major ``x`` (L, N, ...) within its own length: step ``t``
    of sequence ``n`` goes to ``lengths[n] - 1 - t``; padded steps stay where they are. The
    map is its own inverse.

    >>> from rnnbook.layers.packing import reverse_within_lengths

    >>> import torch
    >>> reverse_within_lengths(torch.arange(4.0).view(4, 1), torch.tensor([3])).flatten().tolist()
    [2.0, 1.0, 0.0, 3.0]
    """
    steps = x.shape[0]
    t = torch.arange(steps).unsqueeze(1)
    index = torch.where(t < lengths.unsqueeze(0), lengths.unsqueeze(0) - 1 - t, t).to(x.device)
    index = index.view(steps, -1, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(0, index)


def unpack_input(name: str, input: object, lengths: object, batch_first: bool) -> tuple[object, object, PackInfo]:
    """``(input, lengths, info)`` with a ``PackedSequence`` turned into the padded tensor the
    layer expects (batch first if ``batch_first``) and its lengths; ``info`` rebuilds the
    packed output (:func:`pack_output`). A padded input passes through unchanged.

    >>> from rnnbook.layers.packing import unpack_input

    >>> import torch
    >>> from torch.nn.utils.rnn import pack_sequence
    >>> x, lengths, info = unpack_input("RNN", pack_sequence([torch.ones(2, 3), torch.ones(1, 3)]), None, False)
    >>> tuple(x.shape), lengths.tolist()
    ((2, 2, 3), [2, 1])
    """
    if not isinstance(input, PackedSequence):
        return input, lengths, None
    if lengths is not None:
        raise ValueError(
            f"{name} got a PackedSequence and lengths={lengths!r}: a PackedSequence carries its own "
            "lengths; pass lengths only with a padded tensor"
        )
    padded, lens = pad_packed_sequence(input, batch_first=batch_first)
    return padded, lens, (input.sorted_indices, input.unsorted_indices)


def pack_output(output: Tensor, lengths: Tensor, info: PackInfo, batch_first: bool) -> Tensor | PackedSequence:
    """Pack ``output`` (padded, in the batch's original order) as the input was packed: the same
    ``batch_sizes``, ``sorted_indices`` and ``unsorted_indices`` (as torch's layers).

    >>> from rnnbook.layers.packing import unpack_input, pack_output

    >>> import torch
    >>> from torch.nn.utils.rnn import pack_sequence
    >>> packed = pack_sequence([torch.ones(2, 3), torch.ones(1, 3)])
    >>> x, lengths, info = unpack_input("RNN", packed, None, False)
    >>> pack_output(x, lengths, info, False).batch_sizes.tolist()
    [2, 1]
    """
    if info is None:
        return output
    sorted_indices, unsorted_indices = info
    if batch_first:
        output = output.transpose(0, 1)
    lens = lengths
    if sorted_indices is not None:
        output = output.index_select(1, sorted_indices.to(output.device))
        lens = lengths[sorted_indices.cpu()]
    packed = pack_padded_sequence(output, lens, enforce_sorted=True)
    return PackedSequence(packed.data, packed.batch_sizes, sorted_indices, unsorted_indices)


def _batch_view(active: Tensor, like: Tensor) -> Tensor:
    return active.to(like.device).view(-1, *([1] * (like.dim() - 1)))


def run_with_lengths(
    run: Callable[[Tensor, tuple[Tensor, ...]], tuple[Tensor, tuple[Tensor, ...]]],
    x: Tensor,
    state: tuple[Tensor, ...],
    lengths: Tensor | None,
    reverse: bool = False,
    state_is_output: bool = False,
) -> tuple[Tensor, tuple[Tensor, ...]]:
    """Run a recurrence ``run(x, state) -> (outputs, final state)`` over a padded batch.

    ``x`` is time-major (L, N, ...); every state tensor has the batch in dimension 0
    (N, ...); ``lengths`` (N,) is a CPU integer tensor (from :func:`check_lengths`) or None.
    Returns the outputs (L, N, ...), zero at padded steps, and the state of each sequence
    after its own last step. With ``reverse`` each sequence is read backwards within its
    length (a bidirectional layer's backward direction) and the outputs are put back in
    forward time order.

    How: the recurrence runs once per distinct length, each run continuing from the states
    of the one before, and a sequence keeps the state of the run that ends at its length.
    With ``state_is_output`` (the state is one tensor, equal to the output of each step, and
    bounded: the tanh Elman RNN, the GRU) it runs once over all L steps instead, and each
    sequence's final state is its output at its own last step: a step reads only earlier
    steps, so the steps after a sequence's end (fed zeros) change none of its outputs, and
    they receive no gradient. One run instead of one per length: the same arithmetic, less
    overhead per call.

    >>> from rnnbook.layers.packing import run_with_lengths

    >>> import torch
    >>> def cumulative(x, state):                 # h_t = h_{t-1} + x_t
    ...     out = state[0] + x.cumsum(0)
    ...     return out, (out[-1],)
    >>> out, (h,) = run_with_lengths(cumulative, torch.ones(3, 2, 1), (torch.zeros(2, 1),), torch.tensor([3, 1]))
    >>> out[..., 0].T.tolist(), h.flatten().tolist()
    ([[1.0, 2.0, 3.0], [1.0, 0.0, 0.0]], [3.0, 1.0])
    """
    steps = x.shape[0]
    if lengths is None or bool((lengths == steps).all()):
        if not reverse:
            return run(x, state)
        out, state = run(x.flip(0), state)
        return out.flip(0), state
    x = mask_padding(x, lengths)                # the padding is never read, whatever it holds
    if reverse:
        x = reverse_within_lengths(x, lengths)
    if state_is_output:
        output, _ = run(x, state)
        last = output[(lengths - 1).to(output.device), torch.arange(x.shape[1], device=output.device)]
        output = mask_padding(output, lengths)
        if reverse:
            output = reverse_within_lengths(output, lengths)
        return output, (last,)
    outs, start = [], 0
    for stop in sorted(set(lengths.tolist())):
        out, new = run(x[start:stop], state)
        active = lengths >= stop                # still running at `stop`: take the new state
        state = tuple(torch.where(_batch_view(active, n), n, o) for n, o in zip(new, state, strict=True))
        outs.append(out)
        start = stop
    output = torch.cat(outs)
    if start < steps:                           # every sequence ended before the padded length
        output = torch.cat([output, output.new_zeros(steps - start, *output.shape[1:])])
    output = mask_padding(output, lengths)
    if reverse:
        output = reverse_within_lengths(output, lengths)
    return output, state
