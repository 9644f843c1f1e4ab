"""rnnbook: the package behind the executable RNN textbook.

Layers with a PyTorch twin are drop-in compatible with it (constructor, forward,
state_dict names, gate order); everything else follows the same shapes and calling
convention. See the book's chapters for the equations each class implements.
"""

from . import data, plot, train
from .elman import MLP, ElmanNetwork
from .gru import GRU, GRUCell
from .lstm import LSTM, LSTMCell, PeepholeLSTM, PeepholeLSTMCell
from .notes_lstm import NotesLSTM, NotesStep2Cell, NotesStep3Cell, NotesStep4Cell, NotesStep5Cell
from .rnn import RNN, RNNCell

__all__ = ["RNN", "RNNCell", "ElmanNetwork", "MLP", "data", "plot", "train",
           "GRU", "GRUCell", "LSTM", "LSTMCell", "PeepholeLSTM", "PeepholeLSTMCell",
           "NotesLSTM", "NotesStep2Cell", "NotesStep3Cell", "NotesStep4Cell", "NotesStep5Cell"]
__version__ = "0.1.0"
