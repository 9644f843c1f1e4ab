"""rnnbook: the package behind the executable RNN textbook.

Layers with a PyTorch twin are drop-in compatible with it (constructor, forward,
state_dict names, gate order); everything else follows the same shapes and calling
convention. See the book's chapters for the equations each class implements.
"""

from . import attention, data, plot, sampling, seq2seq, structures, train
from .elman import MLP, ElmanNetwork
from .rnn import RNN, RNNCell
from .structures import Decoder, Encoder, NToM, NToN, NToOne, OneToN
from .attention import AttentionDecoder, LuongAttention
from .seq2seq import Seq2Seq

__all__ = ["RNN", "RNNCell", "ElmanNetwork", "MLP", "data", "plot", "train",
           "structures", "NToN", "NToOne", "OneToN", "Encoder", "Decoder", "NToM",
           "attention", "seq2seq", "sampling", "LuongAttention", "AttentionDecoder", "Seq2Seq"]
__version__ = "0.1.0"
