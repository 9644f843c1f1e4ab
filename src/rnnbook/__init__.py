"""rnnbook: the package behind the executable RNN textbook.

Layers with a PyTorch twin are drop-in compatible with it (constructor, forward,
state_dict names, gate order); everything else follows the same shapes and calling
convention. See the book's chapters for the equations each class implements.
"""

from . import data, plot, train
from .elman import MLP, ElmanNetwork
from .rnn import RNN, RNNCell
from .clockwork import ClockworkRNN
from .first_version import NotesFirstVersion, NotesFirstVersionCell
from .mingru import MinGRU, MinLSTM
from .qrnn import QRNN
from .readout import Readout
from .scan import linear_recurrence_loop, linear_scan
from .sru import SRU

__all__ = ["RNN", "RNNCell", "ElmanNetwork", "MLP", "data", "plot", "train"]
__all__ += ["ClockworkRNN", "SRU", "QRNN", "MinGRU", "MinLSTM", "NotesFirstVersion",
            "NotesFirstVersionCell", "Readout", "linear_scan", "linear_recurrence_loop"]
__version__ = "0.1.0"
