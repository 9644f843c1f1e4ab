"""rnnbook.fit: batches of any arity, optimiser choice, callback (backward compatible)."""

import pytest
import torch

import rnnbook
from rnnbook.helpers.train import fit, seed_everything


def _problem():
    g = seed_everything(0)
    x = torch.randn(64, 2, generator=g)
    return x, x @ torch.tensor([[1.0], [-2.0]])


def _mse(m, x, y):
    return ((m(x) - y) ** 2).mean()


def test_two_tuple_batches_match_a_literal_adam_loop():
    x, y = _problem()
    torch.manual_seed(1)
    model = torch.nn.Linear(2, 1)
    ref = torch.nn.Linear(2, 1)
    ref.load_state_dict(model.state_dict())
    losses = fit(model, lambda i: (x, y), steps=20, lr=5e-2, clip=None, loss_fn=_mse)
    opt = torch.optim.Adam(ref.parameters(), lr=5e-2)
    ref_losses = []
    for _ in range(20):
        loss = _mse(ref, x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        ref_losses.append(loss.item())
    assert losses == ref_losses
    assert torch.equal(model.weight, ref.weight)


def test_batches_with_more_than_two_entries_are_unpacked_into_loss_fn():
    x, y = _problem()
    model = torch.nn.Linear(2, 1)
    seen = []

    def weighted(m, x, y, w):
        seen.append(w)
        return (w * (m(x) - y) ** 2).mean()

    losses = fit(model, lambda i: (x, y, 2.0), steps=100, lr=5e-2, loss_fn=weighted)
    assert seen == [2.0] * 100 and losses[-1] < 0.01 * losses[0]


def test_a_longer_batch_without_loss_fn_is_refused():
    x, y = _problem()
    with pytest.raises(ValueError, match=r"must return \(x, y\) when loss_fn is not given"):
        fit(torch.nn.Linear(2, 1), lambda i: (x, y, 1), steps=1)
    with pytest.raises(TypeError, match="must return a tuple"):
        fit(torch.nn.Linear(2, 1), lambda i: x, steps=1, loss_fn=_mse)


def test_weight_decay_is_adamw_and_shrinks_unused_weights():
    x, y = _problem()
    torch.manual_seed(2)
    model = torch.nn.Linear(3, 1)      # the third input is always 0: its weight gets no gradient
    ref = torch.nn.Linear(3, 1)
    ref.load_state_dict(model.state_dict())
    unused_before = model.weight[0, 2].item()
    x3 = torch.cat([x, torch.zeros(64, 1)], dim=1)
    fit(model, lambda i: (x3, y), steps=10, lr=1e-2, clip=None, loss_fn=_mse, weight_decay=1.0)
    opt = torch.optim.AdamW(ref.parameters(), lr=1e-2, weight_decay=1.0)
    for _ in range(10):
        loss = _mse(ref, x3, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert torch.equal(model.weight, ref.weight)
    # the unused weight only decays, by (1 - lr * lambda) per step
    assert model.weight[0, 2].item() == pytest.approx(unused_before * (1 - 1e-2) ** 10, rel=1e-5)


def test_optimizer_factory_and_callback():
    x, y = _problem()
    model = torch.nn.Linear(2, 1)
    calls = []
    losses = fit(model, lambda i: (x, y), steps=5, loss_fn=_mse,
                 optimizer=lambda p: torch.optim.SGD(p, lr=0.1),
                 callback=lambda i, loss: calls.append((i, loss)))
    assert calls == list(enumerate(losses))
    assert losses[-1] < losses[0]


def test_optimizer_and_weight_decay_together_are_refused():
    x, y = _problem()
    with pytest.raises(ValueError, match="either optimizer or weight_decay"):
        fit(torch.nn.Linear(2, 1), lambda i: (x, y), steps=1, loss_fn=_mse,
            optimizer=lambda p: torch.optim.SGD(p, lr=0.1), weight_decay=0.1)
    with pytest.raises(ValueError, match="weight_decay must be a number >= 0"):
        fit(torch.nn.Linear(2, 1), lambda i: (x, y), steps=1, loss_fn=_mse, weight_decay=-1.0)
    with pytest.raises(TypeError, match="callback must be a callable"):
        fit(torch.nn.Linear(2, 1), lambda i: (x, y), steps=1, loss_fn=_mse, callback=3)
    with pytest.raises(TypeError, match="optimizer must be a callable"):
        fit(torch.nn.Linear(2, 1), lambda i: (x, y), steps=1, loss_fn=_mse, optimizer="sgd")


def test_fit_trains_a_structure_with_lengths():
    g = seed_everything(0)
    model = rnnbook.NToN(rnnbook.RNN(4, 16), 3, vocab_size=3, embedding_dim=4)

    def batch(i):
        x = torch.randint(3, (6, 8), generator=g)
        return x, x, torch.randint(2, 7, (8,), generator=g)   # tag = the token itself

    losses = fit(model, batch, steps=150, lr=2e-2, loss_fn=lambda m, *b: m.loss(*b))
    assert sum(losses[-10:]) / 10 < 0.2 * sum(losses[:10]) / 10


def test_the_masked_losses_and_one_hot_encoders_agree():
    from rnnbook.seq.padding import IGNORE_INDEX, one_hot
    from rnnbook.seq.embedding import embed_by_one_hot
    from rnnbook.seq.structures import TokenInput
    from rnnbook.seq.padding import length_mask
    from rnnbook.seq.losses import masked_cross_entropy
    from rnnbook.seq.losses import sequence_loss

    g = torch.Generator().manual_seed(0)
    scores = torch.randn(5, 3, 4, generator=g, dtype=torch.float64)
    targets = torch.randint(4, (5, 3), generator=g)
    lengths = torch.tensor([5, 2, 3])
    ignored = targets.masked_fill(~length_mask(lengths, 5), IGNORE_INDEX)
    literal = sum(-torch.log_softmax(scores[t, n], -1)[targets[t, n]]
                  for n in range(3) for t in range(lengths[n])) / lengths.sum()
    assert abs(masked_cross_entropy(scores, targets, lengths) - literal) <= 1e-12
    assert abs(sequence_loss(scores, ignored) - literal) <= 1e-12
    tokens = torch.randint(4, (5, 3), generator=g)
    expected = torch.eye(4, dtype=torch.float64)[tokens]
    assert torch.equal(one_hot(tokens, 4, dtype=torch.float64), expected)
    assert torch.equal(TokenInput(4, encoding="one_hot", dtype=torch.float64)(tokens), expected)
    assert torch.equal(embed_by_one_hot(tokens, torch.eye(4, dtype=torch.float64)), expected)
