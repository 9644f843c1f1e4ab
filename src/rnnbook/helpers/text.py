r"""Real English text, frozen in the package: the corpus, its splits, vocabularies and batches.

The corpus is the documentation that every CPython ships for ``help()``: the 79 topics of
``pydoc_data/topics.py`` in CPython 3.11.7 (the language reference's prose on statements,
expressions, types and the data model, with some grammar and code), 465,048 characters.
It is frozen in ``rnnbook/helpers/datasets/python_docs_3.11.7.txt.gz`` (provenance,
licence and checksums in that folder's ``README.md``; ``tools/freeze_data.py`` made it),
so the book reads the same text whatever Python runs it, with no download. Its licence is
the PSF License Version 2 (``LICENSE-PSF.txt`` beside it).

:func:`rnnbook.helpers.text.load_python_docs` cuts it, in order, into a training, a validation and a test
split (90 %, 5 %, 5 % by default): the held-out text is the end of the document, topics
the model never read. The character vocabulary is that of the whole corpus (a closed set
known in advance, as a byte vocabulary would be), so no character is ever unknown; the
baselines in :mod:`rnnbook.helpers.baselines` give every character a non-zero probability.

For truncated backpropagation through time, :class:`rnnbook.helpers.text.TBPTTBatches` lays a split out as
``N`` parallel columns, :math:`T = \lfloor \text{len} / N \rfloor` characters each, and
cuts them into windows of ``steps``: window ``i`` is ``x = data[s:s+k]``, ``y =
data[s+1:s+k+1]``, time-major ``(k, N)``, and column ``n`` of window ``i + 1`` continues
column ``n`` of window ``i``, so a model may carry its state from one window to the next.

>>> from rnnbook.helpers.text import load_python_docs, TBPTTBatches
>>> splits = load_python_docs()
>>> len(splits.text), len(splits.vocab)
(465048, 103)
>>> splits.train[:22]
'The "assert" statement'
>>> batches = TBPTTBatches(splits.ids("valid"), batch_size=4, steps=8)
>>> x, y = batches[0]
>>> tuple(x.shape), bool((x[1:] == y[:-1]).all())
((8, 4), True)
"""

from __future__ import annotations

import collections
import gzip
import hashlib
import importlib.resources
import re
from dataclasses import dataclass, field

import torch
from torch import Tensor

from rnnbook._validate import check_choice, check_int
from rnnbook.helpers.data import CharVocab

__all__ = ["CORPUS_FILE", "CORPUS_SHA256", "python_docs", "TextSplits", "load_python_docs",
           "split_text", "tokenize_words", "WordVocab", "TBPTTBatches"]

#: The frozen corpus, a file of package data in ``rnnbook/helpers/datasets/``.
CORPUS_FILE = "python_docs_3.11.7.txt.gz"
#: SHA-256 of the corpus's UTF-8 text (after gunzip); :func:`rnnbook.helpers.text.python_docs` checks it.
CORPUS_SHA256 = "2a95af4ac93f5b719944030ce3769070ddf827d847cba42192afa8da989e5dc4"

SPLITS = ("train", "valid", "test")


def _read_data(name: str) -> bytes:
    return importlib.resources.files("rnnbook.helpers").joinpath("datasets", name).read_bytes()


def python_docs() -> str:
    """The corpus: CPython 3.11.7's ``pydoc_data`` topics, 465,048 characters of English.

    Read from the package data and checked against :data:`rnnbook.helpers.text.CORPUS_SHA256` (a damaged or
    edited file raises ``RuntimeError`` instead of silently changing the book).

    >>> from rnnbook.helpers.text import python_docs
    >>> text = python_docs()
    >>> len(text), text[:22]
    (465048, 'The "assert" statement')
    """
    text = gzip.decompress(_read_data(CORPUS_FILE)).decode("utf-8")
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    if digest != CORPUS_SHA256:
        raise RuntimeError(f"{CORPUS_FILE} has SHA-256 {digest}, expected {CORPUS_SHA256}: "
                           "the frozen corpus was changed; restore it from git")
    return text


def split_text(text: str, fractions: tuple[float, float, float] = (0.9, 0.05, 0.05)
               ) -> tuple[str, str, str]:
    """Cut ``text`` in order into three pieces of the given ``fractions`` of its length.

    The first cut is at ``round(f0 * len)``, the second at ``round((f0 + f1) * len)``; the
    test piece is the rest. No character is dropped or shared.

    >>> from rnnbook.helpers.text import split_text
    >>> split_text("abcdefghij", (0.6, 0.2, 0.2))
    ('abcdef', 'gh', 'ij')
    """
    if not isinstance(text, str) or not text:
        raise TypeError(f"text must be a non-empty str, got {type(text).__name__}")
    if (not isinstance(fractions, tuple) or len(fractions) != 3
            or not all(isinstance(f, (int, float)) and not isinstance(f, bool) and f > 0
                       for f in fractions)
            or abs(sum(fractions) - 1) > 1e-9):
        raise ValueError(f"fractions must be a tuple of three positive numbers summing to 1, "
                         f"got {fractions!r}")
    a = round(fractions[0] * len(text))
    b = round((fractions[0] + fractions[1]) * len(text))
    if not 0 < a < b < len(text):
        raise ValueError(f"fractions {fractions!r} leave an empty piece of a text of "
                         f"{len(text)} characters")
    return text[:a], text[a:b], text[b:]


@dataclass
class TextSplits:
    """A text cut into ``train``, ``valid`` and ``test`` (strings), with ``vocab``, the
    :class:`rnnbook.helpers.data.CharVocab` of the whole ``text``.

    ``ids(split)`` gives a split as a 1-D ``torch.long`` tensor of character ids.

    >>> from rnnbook.helpers.text import load_python_docs
    >>> splits = load_python_docs()
    >>> ids = splits.ids("valid")
    >>> ids.dtype, len(ids) == len(splits.valid)
    (torch.int64, True)
    """

    text: str
    train: str
    valid: str
    test: str
    vocab: CharVocab = field(repr=False)

    def __repr__(self) -> str:
        return (f"TextSplits(train={len(self.train)}, valid={len(self.valid)}, "
                f"test={len(self.test)} characters, vocab={len(self.vocab)})")

    def ids(self, split: str) -> Tensor:
        """The characters of ``split`` (``'train'``, ``'valid'`` or ``'test'``) as ids, (L,)."""
        check_choice("split", split, SPLITS)
        return torch.tensor(self.vocab.encode(getattr(self, split)), dtype=torch.long)


def load_python_docs(fractions: tuple[float, float, float] = (0.9, 0.05, 0.05)) -> TextSplits:
    """The corpus (:func:`rnnbook.helpers.text.python_docs`) cut in order by :func:`rnnbook.helpers.text.split_text`, with its
    character vocabulary (103 characters).

    >>> from rnnbook.helpers.text import load_python_docs
    >>> load_python_docs()
    TextSplits(train=418543, valid=23253, test=23252 characters, vocab=103)
    """
    text = python_docs()
    train, valid, test = split_text(text, fractions)
    return TextSplits(text, train, valid, test, CharVocab(text))


_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?|\d+|[^\sA-Za-z\d]")


def tokenize_words(text: str, lower: bool = True) -> list[str]:
    """Words for a word-level vocabulary: runs of letters (with an English ``'s``/``'t``
    suffix), runs of digits, and every other non-space character on its own.

    >>> from rnnbook.helpers.text import tokenize_words
    >>> tokenize_words("The \\"if\\" statement isn't 2 lines.")
    ['the', '"', 'if', '"', 'statement', "isn't", '2', 'lines', '.']
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    words = _WORD.findall(text)
    return [w.lower() for w in words] if lower else words


class WordVocab:
    """Words to ids and back: id 0 is ``<unk>``, then the words seen at least ``min_count``
    times, most frequent first (ties in alphabetical order), at most ``max_size`` ids in all.

    Build it on the training split only; a word it has not kept encodes to 0.

    >>> from rnnbook.helpers.text import WordVocab
    >>> vocab = WordVocab(["a", "b", "a", "c", "a", "b"], min_count=2)
    >>> vocab.words, vocab.encode(["b", "z"]), len(vocab)
    (['<unk>', 'a', 'b'], [2, 0], 3)
    """

    UNK = "<unk>"

    def __init__(self, tokens: list[str], min_count: int = 1, max_size: int | None = None):
        if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
            raise TypeError("tokens must be a list of str (e.g. tokenize_words(text))")
        check_int("min_count", min_count, minimum=1)
        if max_size is not None:
            check_int("max_size", max_size, minimum=2)
        self.counts = collections.Counter(tokens)
        kept = sorted((w for w, c in self.counts.items() if c >= min_count),
                      key=lambda w: (-self.counts[w], w))
        if max_size is not None:
            kept = kept[:max_size - 1]
        self.words = [self.UNK] + kept
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, tokens: list[str]) -> list[int]:
        """Ids of ``tokens``; 0 (``<unk>``) for a word not in the vocabulary."""
        return [self.index.get(t, 0) for t in tokens]

    def decode(self, ids) -> list[str]:
        """The words of ``ids``."""
        return [self.words[int(i)] for i in ids]

    def coverage(self, tokens: list[str]) -> float:
        """The fraction of ``tokens`` that the vocabulary knows (not ``<unk>``)."""
        if not tokens:
            raise ValueError("tokens must not be empty")
        return sum(t in self.index for t in tokens) / len(tokens)


class TBPTTBatches:
    """A split laid out for truncated BPTT: ``batch_size`` columns cut into windows.

    Args:
        ids: 1-D integer tensor, the split's ids (L,).
        batch_size: N, the number of parallel columns; column ``n`` is the ``n``-th
            consecutive stretch of ``T = L // N`` ids (the last ``L mod N`` ids are dropped).
        steps: k, the window length (the last window may be shorter).

    ``data`` is the (T, N) layout; ``batches[i]`` is ``(x, y)``, both (k, N) long, with
    ``y`` the next ids of ``x``; ``len(batches)`` counts the windows. Every id of
    ``data`` except the first row is a target exactly once.

    >>> import torch
    >>> from rnnbook.helpers.text import TBPTTBatches
    >>> b = TBPTTBatches(torch.arange(11), batch_size=2, steps=3)
    >>> b.data.T
    tensor([[0, 1, 2, 3, 4],
            [5, 6, 7, 8, 9]])
    >>> len(b), b[1][0].T, b[1][1].T
    (2, tensor([[3],
            [8]]), tensor([[4],
            [9]]))
    """

    def __init__(self, ids: Tensor, batch_size: int, steps: int):
        if not isinstance(ids, Tensor) or ids.dim() != 1 or ids.is_floating_point():
            shape = tuple(ids.shape) if isinstance(ids, Tensor) else type(ids).__name__
            raise TypeError(f"ids must be a 1-D integer tensor, got {shape}")
        self.batch_size = check_int("batch_size", batch_size, minimum=1)
        self.steps = check_int("steps", steps, minimum=1)
        rows = len(ids) // batch_size
        if rows < 2:
            raise ValueError(f"ids must hold at least 2 * batch_size = {2 * batch_size} ids, "
                             f"got {len(ids)}")
        # column n = ids[n T : (n + 1) T]
        self.data = ids[:rows * batch_size].view(batch_size, rows).T.contiguous()

    def __len__(self) -> int:
        return -(-(self.data.shape[0] - 1) // self.steps)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        check_int("i", i)
        if not 0 <= i < len(self):
            raise IndexError(f"window index must lie in [0, {len(self) - 1}], got {i}")
        s = i * self.steps
        k = min(self.steps, self.data.shape[0] - 1 - s)
        return self.data[s:s + k], self.data[s + 1:s + 1 + k]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    @property
    def targets(self) -> int:
        """The number of ids predicted in one pass over all windows, (T - 1) N."""
        return (self.data.shape[0] - 1) * self.batch_size
