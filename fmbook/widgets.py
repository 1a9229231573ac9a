"""Interactive explorers that also show a static default view.

:func:`explore` builds an ipywidgets ``interactive`` from a render function and
publishes it together with a static rendering of the default values. A live
JupyterLab shows the widget; a headless run, nbval, GitHub or any viewer without
a kernel shows the static default (PNG or HTML) instead of a broken widget.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def _default_value(control: Any) -> Any:
    import ipywidgets as w

    if isinstance(control, w.ValueWidget):
        return control.value
    if isinstance(control, tuple) and len(control) in (2, 3) and all(isinstance(v, (int, float)) for v in control):
        lo, hi = control[0], control[1]
        mid = (lo + hi) / 2
        return int(mid) if all(isinstance(v, int) for v in control) else mid
    if isinstance(control, (list, tuple)) and control:
        first = control[0]
        return first[1] if isinstance(first, tuple) and len(first) == 2 else first
    if isinstance(control, dict) and control:
        return next(iter(control.values()))
    return control


def static_bundle(result: Any) -> dict[str, Any]:
    """The display data (``{mimetype: data}``) of a render result: a Figure, HTML, text."""
    import matplotlib.pyplot as plt
    from IPython.core.formatters import DisplayFormatter
    from matplotlib.figure import Figure

    if isinstance(result, Figure):
        import base64
        import io

        buf = io.BytesIO()
        result.savefig(buf, format="png", bbox_inches="tight", dpi=80)
        plt.close(result)
        return {"image/png": base64.b64encode(buf.getvalue()).decode("ascii"),
                "text/plain": "<static default view>"}
    data, _ = DisplayFormatter().format(result)
    return data


def explore(render: Callable[..., Any], **controls: Any):
    """Show an interactive explorer with a static default view.

    Parameters
    ----------
    render : callable
        Called with one keyword argument per control; returns what to show: a
        matplotlib Figure (closed afterwards), an ``IPython.display.HTML``, or
        any displayable object.
    **controls
        ipywidgets controls or ``interact`` abbreviations (``(lo, hi, step)``,
        a list of options, ...).

    Returns
    -------
    ipywidgets.interactive or None
        The widget (None outside IPython, after printing the static view, and in a headless
        run, ``FMBOOK_HEADLESS``, after displaying it).
    """
    from IPython.display import display

    from . import config
    from .display import in_ipython

    defaults = {name: _default_value(c) for name, c in controls.items()}
    static = static_bundle(render(**defaults))
    if not in_ipython():
        print(static.get("text/plain", ""))
        return None
    if config.headless():
        # `fmbook run` / `make book`: nobody can move a slider, and a live widget's comm messages
        # can stall the headless executor (nbclient), so show the static view only.
        display(static, raw=True)
        return None

    import ipywidgets as w

    def _show(**kwargs):
        result = render(**kwargs)
        if result is not None:
            bundle = static_bundle(result)
            display(bundle, raw=True)

    widget = w.interactive(_show, **controls)
    bundle = dict(widget._repr_mimebundle_() or {})
    # Viewers that cannot render the widget fall back to the static view.
    for mime, data in static.items():
        if mime != "text/plain":
            bundle[mime] = data
    display(bundle, raw=True)
    return widget
