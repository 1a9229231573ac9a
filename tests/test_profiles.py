import pytest

from fmbook import chapters
from fmbook.profiles import PROFILES, UnknownProfileError, chapter_settings, get_profile


def test_profile_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("FMBOOK_PROFILE", "fast")
    assert get_profile() == "fast"


def test_explicit_profile_overrides_the_environment(monkeypatch):
    monkeypatch.setenv("FMBOOK_PROFILE", "fast")
    assert get_profile("full") == "full"


def test_unset_profile_is_fast_without_a_gpu(monkeypatch):
    monkeypatch.delenv("FMBOOK_PROFILE", raising=False)
    monkeypatch.setattr("fmbook.profiles._cuda_available", lambda: False)
    assert get_profile() == "fast"


def test_unset_profile_is_full_with_a_gpu(monkeypatch):
    monkeypatch.delenv("FMBOOK_PROFILE", raising=False)
    monkeypatch.setattr("fmbook.profiles._cuda_available", lambda: True)
    assert get_profile() == "full"


def test_unknown_profile_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("FMBOOK_PROFILE", "turbo")
    with pytest.raises(UnknownProfileError, match="choose one of smoke, fast, full"):
        get_profile()


def test_chapter_settings_give_attribute_and_key_access():
    s = chapter_settings("01_logistic_regression", "smoke")
    assert s.profile == "smoke"
    assert s.steps == s["steps"]


def test_missing_setting_names_the_available_ones():
    s = chapter_settings("01_logistic_regression", "smoke")
    with pytest.raises(AttributeError, match="learning_rate"):
        s.epochs


def test_unknown_chapter_is_a_clear_error():
    with pytest.raises(KeyError, match="unknown chapter"):
        chapter_settings("99_nothing", "smoke")


@pytest.mark.parametrize("chapter", chapters.discover())
def test_every_chapter_has_settings_for_every_profile(chapter):
    table = chapters.settings_table(chapter)
    assert set(table) == set(PROFILES)
    keys = [set(table[p]) for p in PROFILES]
    assert keys[0] == keys[1] == keys[2], "each profile must define the same settings"
