import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from IPython.display import HTML  # noqa: E402

from fmbook.widgets import _default_value, explore, static_bundle  # noqa: E402


def test_figure_becomes_a_static_png():
    fig, ax = plt.subplots()
    ax.plot([0, 1])
    assert "image/png" in static_bundle(fig)


def test_html_result_becomes_static_html():
    assert "text/html" in static_bundle(HTML("<b>positive</b>"))


def test_default_of_a_slider_abbreviation_is_its_middle():
    assert _default_value((0, 10, 1)) == 5
    assert _default_value(["a", "b"]) == "a"


def test_explore_outside_ipython_renders_the_default_once(capsys):
    calls = []

    def render(x=0):
        calls.append(x)
        return HTML(f"x={x}")

    assert explore(render, x=(0, 4, 1)) is None
    assert calls == [2]


def test_explore_in_a_headless_kernel_shows_the_static_view_without_a_widget(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setenv("FMBOOK_HEADLESS", "1")
    monkeypatch.setattr("fmbook.display.in_ipython", lambda: True)
    monkeypatch.setattr(IPython.display, "display", lambda obj, raw=False: shown.append(obj))
    assert explore(lambda x=0: HTML(f"x={x}"), x=(0, 4, 1)) is None
    assert shown and "x=2" in shown[0]["text/html"]
