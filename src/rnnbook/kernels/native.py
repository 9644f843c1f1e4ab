"""rnnbook's compiled loops over time (``native.c``), built on first use, with a clean fallback.

At the book's own sizes (a batch of 16, 64 hidden units) one step of a recurrent layer is a
few microseconds of arithmetic, and a loop written in Python spends more than that on each
operation it calls. The loops of ``native.c`` (next to this module) run the recurrences of
:class:`rnnbook.kernels.lstm_bptt.LSTMBPTT`, :class:`rnnbook.kernels.gru_bptt.GRUBPTT`
(torch's ``reset_after`` form; Cho's form keeps its Python loop) and
:class:`rnnbook.kernels.elman_bptt.ElmanBPTT` in C, forward and backward, every step: the
same equations, with the matrix products going through the BLAS that torch itself calls.
The Functions keep the same tensors for their backward on either path.

How it is built, and when it is not used:

* on first use, ``gcc`` (or ``$CC``) compiles ``native.c`` into a shared library in a cache
  directory (``$RNNBOOK_NATIVE_CACHE``, else ``$XDG_CACHE_HOME/rnnbook`` or ``~/.cache/rnnbook``),
  named after a hash of the source, the compiler, the flags and the CPU, so it is built once per
  machine (about a second) and rebuilt when any of them changes;
* the BLAS is found as the ``sgemm_``/``dgemm_`` symbols that torch's ``libtorch_cpu`` exports
  (:func:`rnnbook.kernels.private.blas_gemm`: a capability of the installed torch, not a
  public API): the library is used only after one LSTM step through it has matched torch's
  own operations in both dtypes (:func:`available`);
* with no compiler, no such symbols, a failed build or a failed check, with
  ``RNNBOOK_NATIVE=0`` in the environment, or with the private paths switched off
  (:func:`rnnbook.kernels.private.disabled`, ``RNNBOOK_PRIVATE=0``), every layer runs its
  Python loop (the reference the compiled one is tested against); nothing else changes.

Only CPU float32 and float64 tensors take this path.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import pathlib
import platform
import shutil
import subprocess
import sys
import tempfile
import threading

import torch
from torch import Tensor

from rnnbook.kernels import private

__all__ = ["available", "why_unavailable", "usable", "lstm_forward", "lstm_backward", "elman_forward",
           "elman_backward", "gru_forward", "gru_backward"]

_SOURCE = pathlib.Path(__file__).with_name("native.c")
_FLAGS = ["-O3", "-fPIC", "-shared", "-fno-math-errno", "-fno-trapping-math", "-std=c11"]


def _flags() -> list[str]:
    """The compiler flags: ``-march=native`` unless ``RNNBOOK_NATIVE_MARCH`` names a target
    (``x86-64-v3``, for instance, gives the same code, and so the same float32 rounding,
    on every CPU with AVX2, AVX-512 or not)."""
    return [*_FLAGS, f"-march={os.environ.get('RNNBOOK_NATIVE_MARCH') or 'native'}"]
_ABI = 1

_lock = threading.Lock()
_lib: ctypes.CDLL | None = None
_tried = False
_why_not: str | None = None


def _cache_dir() -> pathlib.Path:
    if os.environ.get("RNNBOOK_NATIVE_CACHE"):
        return pathlib.Path(os.environ["RNNBOOK_NATIVE_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return pathlib.Path(base) / "rnnbook"


def _cpu_id() -> str:
    """What -march=native depends on: the CPU's model and flags."""
    try:
        text = pathlib.Path("/proc/cpuinfo").read_text()
        lines = [ln for ln in text.splitlines() if ln.startswith(("model name", "flags"))][:2]
        return "\n".join(lines)
    except OSError:
        return platform.processor()


def _build() -> pathlib.Path:
    cc = os.environ.get("CC") or shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise OSError("no C compiler (gcc or $CC) found")
    version = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30).stdout
    key = hashlib.sha256("\0".join([_SOURCE.read_text(), cc, version, " ".join(_flags()), _cpu_id(),
                                    sys.platform]).encode()).hexdigest()[:16]
    target = _cache_dir() / f"rnnbook_native_{key}.so"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # build under a temporary name and rename: concurrent processes (test workers) never load half a file
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        done = subprocess.run([cc, *_flags(), str(_SOURCE), "-o", tmp, "-lm"], capture_output=True, text=True,
                              timeout=120)
        if done.returncode != 0:
            raise OSError(f"{cc} failed: {done.stderr.strip()[:2000]}")
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


_P = ctypes.c_void_p
_I = ctypes.c_int


def _declare(lib: ctypes.CDLL) -> None:
    for sfx in ("f32", "f64"):
        getattr(lib, f"rnnbook_lstm_forward_{sfx}").argtypes = [_I] * 4 + [_P] * 10
        getattr(lib, f"rnnbook_lstm_backward_{sfx}").argtypes = [_I] * 4 + [_P] * 11
        getattr(lib, f"rnnbook_elman_forward_{sfx}").argtypes = [_I] * 4 + [_P] * 3
        getattr(lib, f"rnnbook_elman_backward_{sfx}").argtypes = [_I] * 5 + [_P] * 5
        getattr(lib, f"rnnbook_gru_forward_{sfx}").argtypes = [_I] * 3 + [_P] * 8
        getattr(lib, f"rnnbook_gru_backward_{sfx}").argtypes = [_I] * 3 + [_P] * 7
    lib.rnnbook_set_gemm.argtypes = [_P, _P]
    lib.rnnbook_abi_version.restype = _I


def _self_check(lib: ctypes.CDLL) -> None:
    """One LSTM step through the library against torch's own operations (both dtypes): the BLAS
    symbols must follow the calling convention the C code assumes."""
    gen = torch.Generator().manual_seed(0)
    for dtype, sfx, tol in [(torch.float32, "f32", 1e-5), (torch.float64, "f64", 1e-12)]:
        N, H = 3, 5
        gi = torch.randn(1, N, 4 * H, generator=gen, dtype=dtype)
        h0, c0 = torch.randn(N, H, generator=gen, dtype=dtype), torch.randn(N, H, generator=gen, dtype=dtype)
        w = torch.randn(4 * H, H, generator=gen, dtype=dtype)
        a = gi[0] + h0 @ w.T
        i, f, g, o = a.sigmoid()[:, :H], a.sigmoid()[:, H:2 * H], a[:, 2 * H:3 * H].tanh(), a.sigmoid()[:, 3 * H:]
        c = f * c0 + i * g
        expected = o * c.tanh()
        out, cn = torch.empty(1, N, H, dtype=dtype), torch.empty(N, H, dtype=dtype)
        getattr(lib, f"rnnbook_lstm_forward_{sfx}")(1, N, H, 0, gi.data_ptr(), h0.data_ptr(), c0.data_ptr(),
                                                    w.data_ptr(), None, out.data_ptr(), None, cn.data_ptr(),
                                                    None, None)
        if not (torch.allclose(out[0], expected, rtol=0, atol=tol) and torch.allclose(cn, c, rtol=0, atol=tol)):
            raise OSError(f"the compiled LSTM step disagrees with torch in {dtype}")


def _load() -> ctypes.CDLL | None:
    global _lib, _tried, _why_not
    with _lock:
        if _tried:
            return _lib
        _tried = True
        try:
            lib = ctypes.CDLL(str(_build()))
            _declare(lib)
            if lib.rnnbook_abi_version() != _ABI:
                raise OSError("the cached library is of another version")
            lib.rnnbook_set_gemm(*private.blas_gemm())
            _self_check(lib)
            _lib = lib
        except (OSError, subprocess.SubprocessError, AttributeError) as error:
            _why_not = str(error)
            _lib = None
        return _lib


def available() -> bool:
    """Whether the compiled loops can run here (built, linked to torch's BLAS, checked), and
    are not switched off (``RNNBOOK_NATIVE=0``, :func:`rnnbook.kernels.private.disabled`)."""
    if not private.enabled() or os.environ.get("RNNBOOK_NATIVE", "1") == "0":
        return False
    return _load() is not None


def why_unavailable() -> str | None:
    """Why the compiled loops cannot run here (None if they can)."""
    _load()
    return _why_not


def usable(*tensors: Tensor | None) -> bool:
    """Whether tensors like these take the compiled path: CPU, float32 or float64, one dtype."""
    first = tensors[0]
    if first.device.type != "cpu" or first.dtype not in (torch.float32, torch.float64):
        return False
    if any(t is not None and (t.dtype != first.dtype or t.device != first.device) for t in tensors):
        return False
    return available()


def _ptr(t: Tensor | None) -> int | None:
    return None if t is None else t.data_ptr()


def _sfx(t: Tensor) -> str:
    return "f32" if t.dtype == torch.float32 else "f64"


def lstm_forward(gates: Tensor, h0: Tensor, c0: Tensor, weight_hh: Tensor, weight_hr: Tensor | None,
                 out: Tensor, m: Tensor | None, c: Tensor, f_save: Tensor | None, dtanh: Tensor | None) -> None:
    """The LSTM forward over all steps (``rnnbook_lstm_forward`` in ``native.c``); every tensor
    contiguous, written in place."""
    L, N, H4 = gates.shape
    P = weight_hr.shape[0] if weight_hr is not None else 0
    getattr(_lib, f"rnnbook_lstm_forward_{_sfx(gates)}")(
        L, N, H4 // 4, P, gates.data_ptr(), h0.data_ptr(), c0.data_ptr(), weight_hh.data_ptr(), _ptr(weight_hr),
        out.data_ptr(), _ptr(m), c.data_ptr(), _ptr(f_save), _ptr(dtanh))


def lstm_backward(coef: Tensor, delta: Tensor, f_save: Tensor, dtanh: Tensor, grad_out: Tensor | None, dh: Tensor,
                  dc: Tensor, weight_hh: Tensor, weight_hr: Tensor | None, dhs: Tensor | None,
                  dm: Tensor | None) -> None:
    """The LSTM backward over all steps (``rnnbook_lstm_backward`` in ``native.c``); every
    tensor contiguous; ``delta``, ``dh``, ``dc`` (and ``dhs``, ``dm``) written in place."""
    L, N, H4 = coef.shape
    P = weight_hr.shape[0] if weight_hr is not None else 0
    getattr(_lib, f"rnnbook_lstm_backward_{_sfx(coef)}")(
        L, N, H4 // 4, P, coef.data_ptr(), delta.data_ptr(), f_save.data_ptr(), dtanh.data_ptr(), _ptr(grad_out),
        dh.data_ptr(), dc.data_ptr(), weight_hh.data_ptr(), _ptr(weight_hr), _ptr(dhs), _ptr(dm))


def elman_forward(out: Tensor, h0: Tensor, weight_hh: Tensor, relu: bool) -> None:
    """The Elman forward over all steps: ``out`` holds ``x_t W_ih^T + b`` and receives ``h_t``."""
    L, N, H = out.shape
    getattr(_lib, f"rnnbook_elman_forward_{_sfx(out)}")(L, N, H, int(relu), out.data_ptr(), h0.data_ptr(),
                                                       weight_hh.data_ptr())


def elman_backward(a: int, b: int, out: Tensor, grad_out: Tensor | None, dh: Tensor, d: Tensor, weight_hh: Tensor,
                   relu: bool) -> None:
    """Steps ``b - 1`` down to ``a`` of the Elman backward: ``δ_t`` into ``d`` (b - a, N, H), ``dh`` from
    ``dh_{b-1}`` to ``dh_{a-1}`` (for ``a = 0``, ``δ_1 W_hh``: the gradient of ``h_0``)."""
    _, N, H = out.shape
    getattr(_lib, f"rnnbook_elman_backward_{_sfx(out)}")(a, b, N, H, int(relu), out.data_ptr(), _ptr(grad_out),
                                                        dh.data_ptr(), d.data_ptr(), weight_hh.data_ptr())


def gru_forward(buf: Tensor, h0: Tensor, weight_hh: Tensor, bias_hh: Tensor, out: Tensor, bn: Tensor | None,
                zs: Tensor | None) -> None:
    """The GRU (reset_after) forward over all steps: ``buf`` holds ``gi`` and receives the backward's
    factors (or, without ``bn``, the gates); ``out`` the states; ``bn``, ``zs`` ``Bn_t`` and ``z_t``."""
    L, N, H3 = buf.shape
    gh = buf.new_empty(N, H3)
    getattr(_lib, f"rnnbook_gru_forward_{_sfx(buf)}")(L, N, H3 // 3, buf.data_ptr(), h0.data_ptr(),
                                                     weight_hh.data_ptr(), bias_hh.data_ptr(), out.data_ptr(),
                                                     _ptr(bn), _ptr(zs), gh.data_ptr())


def gru_backward(coef: Tensor, bn: Tensor, zs: Tensor, grad_out: Tensor | None, dh: Tensor, weight_hh: Tensor) -> None:
    """The GRU (reset_after) backward over all steps, writing ``∂L/∂gh_t`` over ``coef`` and ``δn_t``
    over ``bn``; ``dh`` goes from ``dh_L`` to ``∂L/∂h_0``."""
    L, N, H3 = coef.shape
    acc = dh.new_empty(dh.shape)
    getattr(_lib, f"rnnbook_gru_backward_{_sfx(coef)}")(L, N, H3 // 3, coef.data_ptr(), bn.data_ptr(), zs.data_ptr(),
                                                      _ptr(grad_out), dh.data_ptr(), acc.data_ptr(),
                                                      weight_hh.data_ptr())
