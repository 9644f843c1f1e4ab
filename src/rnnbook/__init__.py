"""rnnbook: the package behind the executable RNN textbook.

Layers with a PyTorch twin are drop-in compatible with it (constructor, forward,
state_dict names, gate order); everything else follows the same shapes and calling
convention. See the book's chapters for the equations each class implements.
"""

from . import attention, bptt, bptt_symbolic, data, diagnostics, introspect, plot, sampling, seq2seq, structures, train
from .attention import AttentionDecoder, LuongAttention
from .clockwork import ClockworkRNN
from .elman import MLP, ElmanNetwork
from .first_version import NotesFirstVersion, NotesFirstVersionCell
from .gru import GRU, GRUCell
from .lstm import LSTM, LSTMCell, PeepholeLSTM, PeepholeLSTMCell
from .mingru import MinGRU, MinLSTM
from .notes_lstm import NotesLSTM, NotesStep2Cell, NotesStep3Cell, NotesStep4Cell, NotesStep5Cell
from .qrnn import QRNN
from .rnn import RNN, RNNCell
from .scan import count_ops, linear_recurrence, linear_recurrence_bptt, linear_recurrence_loop, linear_scan
from .seq2seq import Seq2Seq
from .sru import SRU
from .structures import Decoder, Encoder, NToM, NToN, NToOne, OneToN

__all__ = [
    # modules
    "attention", "bptt", "bptt_symbolic", "data", "diagnostics", "introspect", "plot", "sampling",
    "seq2seq", "structures", "train",
    # layers with a PyTorch twin
    "RNN", "RNNCell", "GRU", "GRUCell", "LSTM", "LSTMCell",
    # gated variants and the notes' networks
    "PeepholeLSTM", "PeepholeLSTMCell", "ElmanNetwork", "MLP", "NotesLSTM", "NotesStep2Cell",
    "NotesStep3Cell", "NotesStep4Cell", "NotesStep5Cell", "NotesFirstVersion", "NotesFirstVersionCell",
    # structures
    "NToN", "NToOne", "OneToN", "Encoder", "Decoder", "NToM",
    # sequence to sequence
    "LuongAttention", "AttentionDecoder", "Seq2Seq",
    # other variants and linear recurrences
    "ClockworkRNN", "SRU", "QRNN", "MinGRU", "MinLSTM", "linear_scan", "linear_recurrence_loop",
    "linear_recurrence_bptt", "linear_recurrence", "count_ops",
]
__version__ = "0.1.0"
