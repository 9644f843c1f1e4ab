"""BLEU written from Papineni et al. (2002), checked against sacrebleu 2.6.0 (tokenize='none')."""

import math
import re

import pytest
import sacrebleu
import torch

from rnnbook.seq.bleu import corpus_bleu, token_lists

HYPS = ["the cat sat on the mat", "a dog ran in the park today", "quatre vingt dix neuf",
        "one hundred and twenty three", "mille deux cent", "x"]
REFS = ["the cat sat on a mat", "the dog ran in the big park", "quatre vingt dix neuf",
        "one hundred and twenty four", "mille deux cent trente", "y z"]


def sacre(hyps, refs, **kw):
    return sacrebleu.corpus_bleu(hyps, refs, tokenize="none", **kw)


@pytest.mark.parametrize("smooth", [None, "exp"])
@pytest.mark.parametrize("pick", [slice(0, 6), slice(0, 5), slice(1, 3), slice(2, 3), slice(5, 6)])
def test_equals_sacrebleu_with_one_reference(smooth, pick):
    hyps, refs = HYPS[pick], REFS[pick]
    ours = corpus_bleu([h.split() for h in hyps], [r.split() for r in refs], smooth=smooth)
    theirs = sacre(hyps, [refs], smooth_method="none" if smooth is None else "exp")
    assert abs(ours.score - theirs.score) <= 1e-9
    assert ours.matches == list(theirs.counts) and ours.totals == list(theirs.totals)
    assert (ours.hyp_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)
    assert abs(ours.brevity_penalty - theirs.bp) <= 1e-12


def test_equals_sacrebleu_with_two_references_and_ids():
    second = ["a cat sat on the mat", "a dog ran in the park", "quatre vingt dix neuf",
              "one hundred twenty three", "mille deux cents", "x y z w"]
    ours = corpus_bleu([h.split() for h in HYPS], [[a.split(), b.split()] for a, b in zip(REFS, second)],
                       smooth="exp")
    theirs = sacre(HYPS, [REFS, second], smooth_method="exp")
    assert abs(ours.score - theirs.score) <= 1e-9 and ours.ref_len == theirs.ref_len
    # tokens may be ids: the same score after a one-to-one renaming
    vocab = {w: i for i, w in enumerate(sorted({w for s in HYPS + REFS for w in s.split()}))}
    ids = corpus_bleu([[vocab[w] for w in h.split()] for h in HYPS],
                      [[vocab[w] for w in r.split()] for r in REFS])
    assert ids.score == corpus_bleu([h.split() for h in HYPS], [r.split() for r in REFS]).score


def test_by_hand_on_one_pair():
    # hypothesis 4 tokens, reference 5: p1 = 3/4, p2 = 2/3, p3 = 1/2, p4 = 0 -> BLEU 0, smoothed 1/(2*1)
    ours = corpus_bleu(["a b c x".split()], ["a b c d e".split()], smooth="exp")
    bp = math.exp(1 - 5 / 4)
    expected = bp * math.exp((math.log(3 / 4) + math.log(2 / 3) + math.log(1 / 2) + math.log(1 / 2)) / 4)
    assert abs(ours.score - 100 * expected) <= 1e-12
    assert corpus_bleu(["a b c x".split()], ["a b c d e".split()]).score == 0.0


def test_token_lists_drops_the_end_token():
    tokens = torch.tensor([[4, 5, 2], [2, 6, 0], [0, 2, 0]])
    assert token_lists(tokens, torch.tensor([2, 3, 1]), drop=[2]) == [[4], [5, 6], []]


def test_bad_inputs():
    with pytest.raises(ValueError, match=re.escape("references must hold one entry per hypothesis (2), got 1")):
        corpus_bleu([["a"], ["b"]], [["a"]])
    with pytest.raises(TypeError, match=re.escape("hypotheses[0] must be a list of tokens (split a string first), got str")):
        corpus_bleu(["a b"], [["a", "b"]])
    with pytest.raises(ValueError, match=re.escape("smooth must be None or 'exp', got 'floor'")):
        corpus_bleu([["a"]], [["a"]], smooth="floor")
    with pytest.raises(ValueError, match=re.escape("lengths must be a (2,) tensor, got (3,)")):
        token_lists(torch.zeros(3, 2, dtype=torch.long), torch.tensor([1, 2, 3]))
