"""The variants chapters' figures: the clock schedule is the Clockwork RNN's own, and the scan
diagram's graph is the doubling scan's (every step reached by every earlier one, once)."""

import matplotlib

matplotlib.use("Agg")

import math  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnbook  # noqa: E402
from rnnbook.helpers import figures_variants  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_clock_schedule_is_when_the_clockwork_rnn_updates():
    periods, steps = (1, 3, 5), 13
    ax, active = figures_variants.clock_schedule(periods, steps)
    assert active.shape == (3, 13) and active.sum(1).tolist() == [math.ceil(steps / p) for p in periods]
    cw = rnnbook.ClockworkRNN(2, 6, periods=periods, dtype=torch.float64)
    out, _ = cw(torch.randn(steps, 2, dtype=torch.float64))
    changed = torch.cat([torch.ones(1, 6, dtype=torch.bool), out[1:] != out[:-1]])   # t = 0: all compute
    for i in range(3):   # a module's units change exactly at its active steps
        assert changed[:, 2 * i:2 * i + 2].any(1).tolist() == active[i].tolist()
    assert len(ax.images) == 1 and [t.get_text() for t in ax.get_yticklabels()][0] == "$T_1=1$"


@pytest.mark.parametrize("steps", [2, 5, 8, 13])
def test_scan_diagram_is_the_doubling_scan(steps):
    d = figures_variants.scan_diagram(steps)
    rounds = math.ceil(math.log2(steps))
    assert len(d.nodes) == (rounds + 1) * steps
    for k in range(1, rounds + 1):
        combine = sorted((s, t) for s, t, label in d.edges if label == "combine" and t.startswith(f"{k}:"))
        offset = 2 ** (k - 1)
        assert combine == sorted((f"{k - 1}:{t - offset}", f"{k}:{t}") for t in range(offset + 1, steps + 1))
    for t in range(1, steps + 1):   # after the last round, h_t has read every b_s, s <= t, by one path
        for s in range(1, steps + 1):
            assert len(d.paths(f"0:{s}", f"{rounds}:{t}")) == (1 if s <= t else 0)


@pytest.mark.parametrize("call, error, match", [
    (lambda: figures_variants.clock_schedule((), 4), TypeError, "periods"),
    (lambda: figures_variants.clock_schedule("12", 4), TypeError, "periods"),
    (lambda: figures_variants.clock_schedule((1, 0), 4), ValueError, "periods"),
    (lambda: figures_variants.clock_schedule((1, 2), 0), ValueError, "steps"),
    (lambda: figures_variants.scan_diagram(1), ValueError, "steps"),
    (lambda: figures_variants.scan_diagram(2.5), TypeError, "steps"),
])
def test_bad_arguments_are_refused_by_name(call, error, match):
    with pytest.raises(error, match=match):
        call()
