"""Sequence machinery: the four structures of the notes around any recurrent layer, padding and
masks, losses, sequence to sequence with attention, scheduled sampling, embeddings and word2vec;
beam search and BLEU.

Modules: :mod:`rnnbook.seq.attention`, :mod:`rnnbook.seq.bahdanau`, :mod:`rnnbook.seq.beam`, :mod:`rnnbook.seq.bleu`, :mod:`rnnbook.seq.decoding`, :mod:`rnnbook.seq.embedding`, :mod:`rnnbook.seq.losses`, :mod:`rnnbook.seq.padding`, :mod:`rnnbook.seq.sampling`, :mod:`rnnbook.seq.seq2seq`, :mod:`rnnbook.seq.structures`, :mod:`rnnbook.seq.word2vec`.
"""

import importlib

__all__ = ['attention', 'bahdanau', 'beam', 'bleu', 'decoding', 'embedding', 'losses', 'padding', 'sampling', 'seq2seq', 'structures', 'word2vec']


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
