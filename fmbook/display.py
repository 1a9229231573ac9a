"""Showing things: rich output in IPython, plain text elsewhere.

The one place that decides between a notebook's rich display and ``print``, used by
checks, exercises, the results card and the widgets.
"""

from __future__ import annotations

from typing import Any


def in_ipython() -> bool:
    """True inside an IPython kernel or shell."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython is a dependency
        return False
    return get_ipython() is not None


def show(obj: Any, *, html: str | None = None, text: str | None = None) -> None:
    """Display ``obj`` richly in IPython, or print it elsewhere.

    Parameters
    ----------
    obj : object
        What to show. Ignored when ``html`` is given.
    html : str, optional
        HTML to display in IPython instead of ``obj``.
    text : str, optional
        Text to print outside IPython instead of ``str(obj)``.
    """
    if in_ipython():
        from IPython.display import HTML, display

        display(HTML(html) if html is not None else obj)
    else:
        print(text if text is not None else obj)


__all__ = ["in_ipython", "show"]
