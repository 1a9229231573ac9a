"""fmbook.frameworks: importing TensorFlow without its native start-up lines."""

import subprocess
import sys
import textwrap

import pytest

from fmbook.frameworks import import_quietly, is_startup_noise

CUDA_LINE = ("I0000 00:00:1795719289.241448     991 cudart_stub.cc:31] Could not find cuda drivers "
             "on your machine, GPU will not be used.")


def _write_module(tmp_path, name, body):
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    sys.path.insert(0, str(tmp_path))


@pytest.fixture(autouse=True)
def _restore_path():
    saved = list(sys.path)
    yield
    sys.path[:] = saved


def test_known_startup_lines_are_noise():
    assert is_startup_noise(CUDA_LINE)
    assert is_startup_noise("WARNING: All log messages before absl::InitializeLog() is called are written to STDERR")


def test_other_lines_are_not_noise():
    assert not is_startup_noise("UserWarning: something the learner should see")
    assert not is_startup_noise("Could not load dynamic library 'libfoo.so'")


def test_import_quietly_drops_native_noise_and_keeps_other_lines(tmp_path, capfd):
    _write_module(tmp_path, "noisy_fw_a", f"""
        import os
        os.write(2, b"{CUDA_LINE}\\n")
        os.write(2, b"a real warning\\n")
        VALUE = 42
    """)
    module = import_quietly("noisy_fw_a")
    err = capfd.readouterr().err
    assert module.VALUE == 42
    assert "cudart_stub" not in err
    assert "a real warning" in err


def test_import_quietly_shows_everything_when_the_import_fails(tmp_path, capfd):
    _write_module(tmp_path, "noisy_fw_b", f"""
        import os
        os.write(2, b"{CUDA_LINE}\\n")
        raise ImportError("broken framework")
    """)
    with pytest.raises(ImportError, match="broken framework"):
        import_quietly("noisy_fw_b")
    assert "cudart_stub" in capfd.readouterr().err


def test_import_quietly_returns_an_imported_module_unchanged():
    assert import_quietly("json") is sys.modules["json"]


def test_import_tensorflow_writes_no_startup_lines():
    code = ("from fmbook.frameworks import import_tensorflow; tf = import_tensorflow(); "
            "tf.constant([1.0]) + 1; print(tf.__name__)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "tensorflow"
    assert "cudart_stub" not in done.stderr and "absl::InitializeLog" not in done.stderr
    assert "cuInit" not in done.stderr
