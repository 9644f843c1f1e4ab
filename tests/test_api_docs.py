"""The API reference covers the whole public package, and every public name is documented."""

import importlib
import inspect
import pathlib
import pkgutil
import re

import pytest
import torch

import rnnbook

ROOT = pathlib.Path(__file__).resolve().parents[1]
PUBLIC_MODULES = sorted(
    m.name for m in pkgutil.walk_packages(rnnbook.__path__, "rnnbook.")
    if not any(part.startswith("_") for part in m.name.split("."))
)


def test_every_public_module_is_in_the_api_reference():
    api = (ROOT / "book" / "api.md").read_text()
    documented = set(re.findall(r"\.\. automodule:: (rnnbook[\w.]*)", api))
    assert documented == {"rnnbook", *PUBLIC_MODULES}


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_public_names_have_docstrings_with_shapes(name):
    module = importlib.import_module(name)
    assert module.__doc__ and module.__doc__.strip(), f"{name} has no module docstring"
    assert hasattr(module, "__all__"), f"{name} has no __all__ (autodoc documents exactly __all__)"
    for public in module.__all__:
        obj = getattr(module, public)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        doc = inspect.getdoc(obj) or ""
        assert len(doc) > 20, f"{name}.{public} has no real docstring"
        if inspect.isclass(obj) and issubclass(obj, torch.nn.Module):
            assert re.search(r"shape", doc, flags=re.I) or "(N," in doc or "(T," in doc or "(L," in doc, (
                f"{name}.{public}: the docstring must give the tensor shapes")


def test_top_level_exports_exist():
    for name in rnnbook.__all__:
        assert hasattr(rnnbook, name)
