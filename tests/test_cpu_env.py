"""tools/cpu_env.py: the settings that give the same trained numbers on every x86 CPU with AVX2."""

from __future__ import annotations

import os
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tools"))
import cpu_env  # noqa: E402

from rnnbook.kernels import native  # noqa: E402


def test_settings_only_on_x86_with_avx2(monkeypatch):
    monkeypatch.setattr(cpu_env.platform, "machine", lambda: "aarch64")
    assert cpu_env.settings() == {}
    monkeypatch.setattr(cpu_env.platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(cpu_env, "_has_avx2", lambda: True)
    assert cpu_env.settings() == cpu_env.SETTINGS


def test_apply_keeps_what_is_already_set(monkeypatch):
    monkeypatch.setattr(cpu_env, "settings", lambda: {"MKL_CBWR": "AVX2", "ONEDNN_MAX_CPU_ISA": "AVX2"})
    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")
    monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    cpu_env.apply()
    assert os.environ["MKL_CBWR"] == "COMPATIBLE" and os.environ["ONEDNN_MAX_CPU_ISA"] == "AVX2"


def test_the_compiled_loops_take_the_target_from_the_environment(monkeypatch):
    monkeypatch.setenv("RNNBOOK_NATIVE_MARCH", "x86-64-v3")
    assert native._flags()[-1] == "-march=x86-64-v3"
    monkeypatch.delenv("RNNBOOK_NATIVE_MARCH")
    assert native._flags()[-1] == "-march=native"


def test_the_test_run_uses_them():
    """conftest.py applied the settings before any chapter kernel starts."""
    for name, value in cpu_env.settings().items():
        assert os.environ.get(name) == value
