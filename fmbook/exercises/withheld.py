"""Exercise answers without the solutions: what the student edition checks against.

The student edition (``make student``, :mod:`fmbook.editions`) ships no solution source. Each
worked solution there is replaced by a stub that looks its answer up in a table recorded when the
edition was built: for every call a checker made to the solution (on the checker's own inputs),
a fingerprint of the arguments and the encoded result. Checkers therefore run unchanged: a correct
answer matches the recorded results; a wrong one fails, with the checker's specific hint wherever
the checker compares with those results.

A fingerprint hashes the values of the arguments: arrays and tensors by dtype, shape and values
(floats rounded to about 6 significant digits, so that the last bits of a different BLAS do not
matter), PyTorch modules by class and weights, functions by their code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import types
from pathlib import Path
from typing import Any

TABLE = Path(__file__).with_name("withheld_answers.json")
"""Where the student edition keeps the recorded answers (absent from the full package)."""

WITHHELD_MESSAGE = ("The worked solution of exercise {id} is in the instructor edition of the book "
                    "(`make instructor`), not in this student edition. `hint({id!r})` gives a hint; "
                    "`check({id!r}, your_function)` tells you when your answer is right.")


class Unsupported(TypeError):
    """A value that cannot be fingerprinted or encoded (the edition builder names the exercise)."""


def _float_key(a):
    """Floats rounded to ~6 significant digits (float32 mantissa with its low 4 bits cleared)."""
    import numpy as np

    a = np.ascontiguousarray(a, dtype=np.float32)
    bits = a.view(np.uint32) & np.uint32(0xFFFFFFF0)
    return bits.tobytes()


def _feed(h, value: Any, depth: int = 0, seen: set[int] | None = None) -> None:
    import numpy as np

    seen = set() if seen is None else seen
    if depth > 8:
        raise Unsupported("arguments nested too deeply to fingerprint")
    tag = lambda s: h.update(s.encode() + b"\0")  # noqa: E731
    if value is None or isinstance(value, (bool, int, str, bytes)):
        tag(f"{type(value).__name__}:{value!r}")
        return
    if isinstance(value, float):
        tag("float")
        h.update(_float_key(np.array([value])))
        return
    if isinstance(value, np.generic):
        _feed(h, value.item(), depth + 1, seen)
        return
    if isinstance(value, np.ndarray):
        tag(f"ndarray:{value.dtype.kind}:{value.shape}")
        h.update(_float_key(value) if value.dtype.kind in "fc" else np.ascontiguousarray(value).tobytes())
        return
    torch = _torch()
    if torch is not None and isinstance(value, torch.Tensor):
        tag("tensor")
        _feed(h, value.detach().cpu().numpy(), depth + 1, seen)
        return
    if torch is not None and isinstance(value, torch.nn.Module):
        tag(f"module:{type(value).__module__}.{type(value).__qualname__}")
        for name, tensor in value.state_dict().items():
            tag(name)
            _feed(h, tensor, depth + 1, seen)
        return
    if isinstance(value, (list, tuple)):
        tag(f"{type(value).__name__}:{len(value)}")
        for v in value:
            _feed(h, v, depth + 1, seen)
        return
    if isinstance(value, dict):
        tag(f"dict:{len(value)}")
        for k in sorted(value, key=repr):
            _feed(h, k, depth + 1, seen)
            _feed(h, value[k], depth + 1, seen)
        return
    if isinstance(value, types.FunctionType):
        tag(f"function:{value.__qualname__}")
        _feed_code(h, value.__code__)
        _feed(h, value.__defaults__, depth + 1, seen)
        for cell in value.__closure__ or ():
            _feed(h, cell.cell_contents, depth + 1, seen)
        return
    if isinstance(value, (types.BuiltinFunctionType, types.MethodType, type)):
        tag(f"callable:{getattr(value, '__module__', '')}.{getattr(value, '__qualname__', repr(value))}")
        return
    if id(value) in seen:
        tag("cycle")
        return
    if hasattr(value, "__dict__"):
        seen.add(id(value))
        tag(f"object:{type(value).__module__}.{type(value).__qualname__}")
        _feed(h, {k: v for k, v in vars(value).items() if not k.startswith("__")}, depth + 1, seen)
        return
    raise Unsupported(f"cannot fingerprint a {type(value).__name__}")


def _feed_code(h, code: types.CodeType) -> None:
    h.update(code.co_code)
    h.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _feed_code(h, const)
        else:
            h.update(repr(const).encode())


def fingerprint(arguments: dict[str, Any]) -> str:
    """A stable hash of a call's arguments (by name), the key of the answer table."""
    h = hashlib.sha256()
    _feed(h, dict(arguments))
    return h.hexdigest()


def _torch():
    import sys

    return sys.modules.get("torch")  # only present when the checker uses it


def encode(value: Any) -> Any:
    """A JSON-able form of a solution's result (numbers, strings, arrays, tensors, containers)."""
    import numpy as np

    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return {"int": str(value)}
    if isinstance(value, float):
        return {"float": repr(value)}
    if isinstance(value, np.generic):
        return {"npscalar": encode(np.asarray(value))}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc":
            raise Unsupported(f"cannot store an array of dtype {value.dtype}")
        return {"ndarray": base64.b64encode(np.ascontiguousarray(value).tobytes()).decode("ascii"),
                "dtype": value.dtype.str, "shape": list(value.shape)}
    torch = _torch()
    if torch is not None and isinstance(value, torch.Tensor):
        return {"tensor": encode(value.detach().cpu().numpy()), "requires_grad": bool(value.requires_grad)}
    if isinstance(value, (list, tuple)):
        return {"list" if isinstance(value, list) else "tuple": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"dict": [[encode(k), encode(v)] for k, v in value.items()]}
    raise Unsupported(f"cannot store a result of type {type(value).__name__}")


def decode(value: Any) -> Any:
    """The inverse of :func:`encode`."""
    import numpy as np

    if not isinstance(value, dict):
        return value
    if "int" in value:
        return int(value["int"])
    if "float" in value:
        return float(value["float"])
    if "npscalar" in value:
        return decode(value["npscalar"])[()]
    if "ndarray" in value:
        raw = base64.b64decode(value["ndarray"])
        return np.frombuffer(raw, dtype=np.dtype(value["dtype"])).reshape(value["shape"]).copy()
    if "tensor" in value:
        import torch

        t = torch.from_numpy(decode(value["tensor"]))
        return t.requires_grad_() if value["requires_grad"] else t
    if "list" in value:
        return [decode(v) for v in value["list"]]
    if "tuple" in value:
        return tuple(decode(v) for v in value["tuple"])
    if "dict" in value:
        return {decode(k): decode(v) for k, v in value["dict"]}
    raise ValueError(f"not an encoded value: {sorted(value)}")


_loaded: dict[str, dict[str, Any]] | None = None


def _table() -> dict[str, dict[str, Any]]:
    global _loaded
    if _loaded is None:
        if not TABLE.is_file():
            raise FileNotFoundError(f"{TABLE} is missing: rebuild the student edition with `make student`")
        _loaded = json.loads(TABLE.read_text())
    return _loaded


def withheld_answer(key: str, arguments: dict[str, Any]) -> Any:
    """The recorded result of solution ``key`` (``module:name``) on ``arguments``.

    Raises
    ------
    fmbook.exercises.Hint
        When these arguments were never recorded: the checker only calls the solution on other
        inputs when the answer under test differs from it.
    """
    from . import Hint

    answers = _table().get(key, {})
    found = answers.get(fingerprint(arguments))
    if found is None:
        raise Hint("your answer differs from the expected one on the checker's inputs (the student edition "
                   "cannot say more here); reread the section above, or ask for a hint")
    return decode(found)


def is_withheld(solution: Any) -> bool:
    """Whether ``solution`` is a student-edition stub rather than a worked solution."""
    return bool(getattr(solution, "withheld", False))


__all__ = ["fingerprint", "encode", "decode", "withheld_answer", "is_withheld", "WITHHELD_MESSAGE", "Unsupported"]
