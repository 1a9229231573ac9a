"""Chapters are discovered from fmbook/chapters/: a new chapter edits no shared module."""

import sys

import pytest

from fmbook import chapters
from fmbook.profiles import chapter_settings


def test_discover_lists_the_chapters_in_order():
    found = chapters.discover()
    assert found == sorted(found)
    assert "01_logistic_regression" in found


def test_a_new_chapter_module_is_discovered_and_its_settings_are_found(tmp_path, monkeypatch):
    (tmp_path / "ch99_new_topic.py").write_text(
        'SETTINGS = {"smoke": {"steps": 1}, "fast": {"steps": 2}, "full": {"steps": 3}}\n')
    monkeypatch.setattr(chapters, "__path__", [*chapters.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "fmbook.chapters.ch99_new_topic", raising=False)
    assert "99_new_topic" in chapters.discover()
    assert chapter_settings("99_new_topic", "fast").steps == 2


def test_module_name_maps_a_notebook_stem():
    assert chapters.module_name("05_adversarial") == "ch05_adversarial"


def test_a_malformed_chapter_name_is_a_clear_error():
    with pytest.raises(ValueError, match="NN_topic"):
        chapters.module_name("adversarial")


def test_an_unknown_chapter_names_the_known_ones():
    with pytest.raises(KeyError, match="known chapters are 00_start_here"):
        chapters.load("99_nothing")


def test_by_number_finds_the_chapter_module():
    assert chapters.by_number("05").__name__ == "fmbook.chapters.ch05_adversarial"
    assert chapters.by_number("98") is None


def test_a_chapter_module_without_settings_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "ch97_no_settings.py").write_text("X = 1\n")
    monkeypatch.setattr(chapters, "__path__", [*chapters.__path__, str(tmp_path)])
    monkeypatch.delitem(sys.modules, "fmbook.chapters.ch97_no_settings", raising=False)
    with pytest.raises(TypeError, match="must define SETTINGS"):
        chapters.settings_table("97_no_settings")
