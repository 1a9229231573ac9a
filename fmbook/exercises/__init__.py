"""Exercises: the learner writes a function, fmbook checks it and answers with a hint.

Each chapter's exercises live in its module ``fmbook/chapters/chNN_topic.py`` and
register themselves with :func:`exercise`. In a notebook::

    def sigmoid(z):
        raise NotImplementedError  # your code here

    check("01.sigmoid", sigmoid)       # prints "not attempted yet" and a hint
    hint("01.sigmoid")                 # the first hint
    show_solution("01.sigmoid")        # the worked solution, only when asked

:func:`check` never raises for a wrong answer: it prints what is wrong and
returns False, so a notebook with unsolved exercises still runs top to bottom.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..display import show


class Hint(AssertionError):
    """Raised by a checker with a specific, helpful message about what is wrong."""


@dataclass
class Exercise:
    """One exercise: an id such as ``"01.sigmoid"``, a checker, a reference solution."""

    id: str
    title: str
    checker: Callable[[Any], None]
    solution: Callable[..., Any]
    hints: tuple[str, ...] = field(default_factory=tuple)


_REGISTRY: dict[str, Exercise] = {}


class Verdict:
    """The outcome of :func:`check`: true when the answer is correct.

    It behaves as a bool (``if check(...)``, ``assert check(...)``) but shows nothing
    as a cell's last value, because :func:`check` has already shown its message.
    """

    __slots__ = ("correct", "status")

    def __init__(self, status: str):
        self.status = status
        self.correct = status == "ok"

    def __bool__(self) -> bool:
        return self.correct

    def __eq__(self, other: object) -> bool:
        return bool(self) == other if isinstance(other, (bool, Verdict)) else NotImplemented

    def __hash__(self) -> int:
        return hash(self.correct)

    def __repr__(self) -> str:
        return f"Verdict({self.status!r})"

    def _ipython_display_(self) -> None:  # the message is already on screen
        pass


def exercise(id: str, title: str, solution: Callable[..., Any], hints: tuple[str, ...] = ()):
    """Decorator registering a checker function as exercise ``id``.

    The checker receives the learner's answer and raises :class:`Hint` with a
    specific message when it is wrong; returning normally means correct.
    """

    def decorate(checker: Callable[[Any], None]) -> Callable[[Any], None]:
        _REGISTRY[id] = Exercise(id, title, checker, solution, tuple(hints))
        return checker

    return decorate


def get(id: str) -> Exercise:
    """Return exercise ``id``, importing its chapter module on first use."""
    if id not in _REGISTRY:
        from .. import chapters

        chapters.by_number(str(id).split(".", 1)[0])
    try:
        return _REGISTRY[id]
    except KeyError:
        raise KeyError(f"unknown exercise {id!r}; known: {', '.join(sorted(_REGISTRY)) or 'none loaded'}") from None


def all_exercises() -> list[Exercise]:
    """Every exercise of every chapter module present."""
    from .. import chapters

    for name in chapters.discover():
        chapters.load(name)
    return [_REGISTRY[k] for k in sorted(_REGISTRY)]


def check(id: str, answer: Any, *, quiet: bool = False) -> Verdict:
    """Check the learner's ``answer`` to exercise ``id``.

    Returns
    -------
    Verdict
        True (as a bool) when correct. A wrong answer, an answer that raises, or one not yet
        attempted (it raises ``NotImplementedError``) prints a hint and returns False.
    """
    ex = get(id)
    try:
        ex.checker(answer)
    except NotImplementedError:
        status, message = "todo", f"not attempted yet. Hint: {ex.hints[0] if ex.hints else 'see the text above.'}"
    except Hint as exc:
        status, message = "wrong", f"not quite: {exc}"
    except Exception as exc:  # the learner's code failed
        status, message = "wrong", f"your code raised {type(exc).__name__}: {exc}"
    else:
        status, message = "ok", "correct!"
    if not quiet:
        icon = {"ok": "&#10003;", "wrong": "&#10007;", "todo": "&#9998;"}[status]
        colour = {"ok": "#1b7f3b", "wrong": "#b00020", "todo": "#8a6d00"}[status]
        show(None, html=f"<div style='color:{colour}'><b>{icon} Exercise {id}</b> ({ex.title}): {message}</div>",
             text=f"Exercise {id} ({ex.title}): {message}")
    return Verdict(status)


def hint(id: str, n: int = 1) -> str:
    """Return (and print) hint number ``n`` of exercise ``id``."""
    ex = get(id)
    if not ex.hints:
        text = "no hints for this one: reread the section above."
    else:
        text = ex.hints[min(max(n, 1), len(ex.hints)) - 1]
    print(f"Hint {n} for {id}: {text}")
    return text


def solution_source(id: str) -> str:
    """The source code of the worked solution of exercise ``id``."""
    return textwrap.dedent(inspect.getsource(get(id).solution))


def show_solution(id: str) -> None:
    """Print the worked solution of exercise ``id`` (only call this when stuck).

    In the student edition the solutions are withheld: this says where to find them.
    """
    from .withheld import WITHHELD_MESSAGE, is_withheld

    if is_withheld(get(id).solution):
        print(WITHHELD_MESSAGE.format(id=id))
        return
    print(solution_source(id))


__all__ = ["Hint", "Exercise", "Verdict", "exercise", "check", "hint", "show_solution", "solution_source", "get", "all_exercises"]
