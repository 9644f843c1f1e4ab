r"""The speed kernels under the layers: hand-written BPTT as ``torch.autograd.Function``\ s.

A learner never needs to open these modules: :mod:`rnnbook.layers` computes the same
recurrences step by step with the equations above each line, and the layers' ``bptt="autograd"``
runs that readable loop. These kernels compute the same numbers faster and with less memory.


Each recurrence is a ``torch.autograd.Function``. Its forward runs the loop over time
(the input projection ``gi = x W_ih^T + b_ih`` of every step is done before it, in one matrix
product: by :class:`rnnbook.kernels.projection.InputProjection` for the GRU and the LSTM, inside :class:`rnnbook.kernels.elman_bptt.ElmanBPTT`
for the Elman RNN) and keeps what the backward needs; its backward is BPTT: one loop
from the last step to the first that carries ``∂L/∂h_t`` (and ``∂L/∂c_t``) backwards and
stores the gradient of every step's pre-activations. The weight gradients are then *one*
matrix product over all steps, because

.. math:: \frac{\partial L}{\partial W_{hh}} = \sum_{t=1}^{T} \delta_t^\top h_{t-1}
          = \Delta^\top H_{\text{prev}},

with ``δ_t`` the gradient of step ``t``'s pre-activation (a row per sequence of the batch),
``Δ`` all the ``δ_t`` stacked, and ``H_prev`` the states ``h_0 … h_{T-1}`` stacked. The
gradient of ``gi`` is ``Δ`` itself; :class:`rnnbook.kernels.projection.InputProjection`'s backward turns it into the
gradients of ``x``, ``W_ih`` and ``b_ih`` (again one product each). :class:`rnnbook.kernels.elman_bptt.ElmanBPTT` does
these sums a block of steps at a time, so that its ``δ_t`` never fill an (L, N, H) tensor.

Memory: the Functions keep what the backward needs in few (L, N, ·) buffers and write
factors and gradients over them in place (:class:`rnnbook.kernels.gru_bptt.GRUBPTT` and :class:`rnnbook.kernels.lstm_bptt.LSTMBPTT` also over
the ``gi`` the layer hands them, and, in a backward pass after which autograd frees the
graph, each step's gradients over that step's factors). The performance appendix measures
the peak memory of a forward+backward pass against torch's own layers. A
``saved_tensors_hooks`` pack hook that keeps references to the tensors it packs sees those
buffers change in such a backward (``torch.utils.checkpoint`` and
``torch.autograd.graph.save_on_cpu`` are not affected: they recompute or copy).

The variants' hand-written Functions live one floor up, beside the layers they serve:
:class:`rnnbook.variants.scan.LinearRecurrenceBPTT` (minGRU, minLSTM and the 2017 SRU with
``bptt="hand"``), :class:`rnnbook.variants.sru.SRULayerBPTT` and
:class:`rnnbook.variants.qrnn.QRNNPoolingBPTT`. What each keeps for its backward:
``LinearRecurrenceBPTT`` only ``a``, ``h`` and ``h_0`` (the doubling scan, differentiated
by autograd, keeps every round's intermediates); ``SRULayerBPTT`` ``U``, ``x``, the gates
``f``, ``r`` and every ``c_t``, and writes the gradient of ``U`` into one tensor;
``QRNNPoolingBPTT`` the gates and every ``c_t``. On a CPU the hand-written loop of a linear
recurrence beats the doubling scan except for very narrow states (chapter 7 of the book,
"Linear recurrences in parallel", measures both).

Speed: the loops over time of :class:`~rnnbook.kernels.elman_bptt.ElmanBPTT`,
:class:`~rnnbook.kernels.gru_bptt.GRUBPTT` and :class:`~rnnbook.kernels.lstm_bptt.LSTMBPTT`
(forward and backward) run in C where a C compiler is at hand (:mod:`~rnnbook.kernels.native`,
built on first use), since at the book's own sizes a Python loop spends more time calling
operations than computing; elsewhere, and with the private paths switched off, they run
the Python loops in these modules, which compute the same numbers.

Modules: :mod:`~rnnbook.kernels.private` (every private torch call, each behind a capability
check, and the switch that turns them all off), :mod:`~rnnbook.kernels.autograd`
(first-order-only guard, shared backward pieces), :mod:`~rnnbook.kernels.ops`,
:mod:`~rnnbook.kernels.projection`, :mod:`~rnnbook.kernels.native` (the compiled loops),
:mod:`~rnnbook.kernels.elman_bptt`, :mod:`~rnnbook.kernels.gru_bptt`,
:mod:`~rnnbook.kernels.lstm_bptt`.
"""

import importlib

__all__ = ['autograd', 'elman_bptt', 'gru_bptt', 'lstm_bptt', 'native', 'ops', 'private', 'projection']


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
