import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    """Every test starts from the same global seed, so random inputs are reproducible."""
    torch.manual_seed(0)
