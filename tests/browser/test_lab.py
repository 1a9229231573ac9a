"""JupyterLab in a real browser: chapter 00 runs in smoke, and its explorer answers a slider.

The test starts JupyterLab headless on 127.0.0.1 with a random token (the server `make lab` runs,
without opening a browser) on a temporary copy of chapter 00, so that nothing it saves lands in
``notebooks/``; it always stops the server and the kernels it started.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHAPTER = ROOT / "notebooks" / "00_start_here.ipynb"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except OSError:
        return 0


@pytest.fixture
def lab(tmp_path, browser):
    """JupyterLab on 127.0.0.1 serving a copy of chapter 00: ``(base url, token)``; stopped afterwards."""
    shutil.copy(CHAPTER, tmp_path / CHAPTER.name)
    port, token = _free_port(), secrets.token_hex(16)
    env = dict(os.environ, FMBOOK_PROFILE="smoke", JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}",
           "--ServerApp.port_retries=0", "--LabApp.expose_app_in_browser=True",
           "--ServerApp.disable_check_xsrf=False"]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = open(tmp_path / "lab.log", "w")
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while _get(f"{base}/api/status?token={token}") != 200:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start; its log:\n{(tmp_path / 'lab.log').read_text()[-3000:]}")
            time.sleep(0.5)
        yield base, token
    finally:
        _stop(proc, base, token)
        log.close()


def _stop(proc: subprocess.Popen, base: str, token: str) -> None:
    """Shut the kernels down through the API, then stop the server (SIGTERM, then SIGKILL)."""
    import json

    try:
        with urllib.request.urlopen(f"{base}/api/kernels?token={token}", timeout=5) as r:
            for k in json.load(r):
                req = urllib.request.Request(f"{base}/api/kernels/{k['id']}?token={token}", method="DELETE")
                urllib.request.urlopen(req, timeout=10).close()
    except OSError:
        pass
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _explorer_image(page) -> str:
    return page.evaluate("""() => {
        const img = document.querySelector(".jp-OutputArea-output .widget-output img, .widget-interact img");
        return img ? img.src : "";
    }""")


def test_chapter_00_runs_in_lab_and_its_slider_changes_the_plot(lab, browser, shots_dir):
    base, token = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/lab/tree/{CHAPTER.name}?token={token}", wait_until="domcontentloaded")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget "
                           "&& window.jupyterapp.shell.currentWidget.sessionContext "
                           "&& window.jupyterapp.shell.currentWidget.sessionContext.session "
                           "&& window.jupyterapp.shell.currentWidget.sessionContext.session.kernel", timeout=120_000)
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status === 'idle'",
                           timeout=120_000)
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    # Done when every code cell has an execution count and the kernel is idle again.
    page.wait_for_function("""() => {
        const nb = window.jupyterapp.shell.currentWidget;
        const cells = nb.content.widgets.filter(c => c.model.type === 'code');
        return nb.sessionContext.session.kernel.status === 'idle'
            && cells.every(c => c.model.executionCount !== null && !c.promptNode.textContent.includes('*'));
    }""", timeout=240_000, polling=1000)
    failed = page.evaluate("""() => window.jupyterapp.shell.currentWidget.content.widgets
        .filter(c => c.model.type === 'code')
        .flatMap(c => c.model.outputs.toJSON().filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue))""")
    assert not failed, f"cells raised: {failed}"

    slider = page.locator(".widget-interact .widget-slider .noUi-handle, .widget-interact .slider .noUi-handle").first
    slider.scroll_into_view_if_needed(timeout=30_000)
    page.wait_for_function("() => !!document.querySelector('.widget-interact img')", timeout=30_000)
    before = _explorer_image(page)
    assert before, "the explorer shows no plot"
    page.screenshot(path=str(shots_dir / "lab__00_start_here__before.png"))
    slider.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("(before) => { const img = document.querySelector('.widget-interact img');"
                           " return img && img.src !== before; }", arg=before, timeout=60_000)
    page.screenshot(path=str(shots_dir / "lab__00_start_here__after.png"))
    assert _explorer_image(page) != before
    assert not errors, f"page errors: {errors}"
    page.close()
