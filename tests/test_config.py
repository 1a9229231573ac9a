"""fmbook.config: the one reader of FMBOOK_* variables, with one true/false parser."""

import pytest

from fmbook import config, data


@pytest.mark.parametrize("text", ["1", "true", "TRUE", "yes", "on", " On "])
def test_parse_bool_reads_true(text):
    assert config.parse_bool(text) is True


@pytest.mark.parametrize("text", ["0", "false", "no", "off", "OFF"])
def test_parse_bool_reads_false(text):
    assert config.parse_bool(text) is False


@pytest.mark.parametrize("text", [None, "", "  "])
def test_parse_bool_reads_unset_as_none(text):
    assert config.parse_bool(text) is None


def test_parse_bool_rejects_other_text_with_the_accepted_values():
    with pytest.raises(config.ConfigError, match="neither true nor false"):
        config.parse_bool("maybe", name="FMBOOK_OFFLINE")


def test_offline_on_means_offline_for_the_data_registry_and_the_hub(monkeypatch):
    monkeypatch.setenv("FMBOOK_OFFLINE", "on")
    assert data.offline() is True
    assert config.hub_offline() is True


def test_offline_off_means_online(monkeypatch):
    monkeypatch.setenv("FMBOOK_OFFLINE", "off")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    assert data.offline() is False
    assert config.hub_offline() is False


def test_seed_override_is_none_when_unset(monkeypatch):
    monkeypatch.delenv("FMBOOK_SEED", raising=False)
    assert config.seed_override() is None


def test_seed_override_reads_an_integer(monkeypatch):
    monkeypatch.setenv("FMBOOK_SEED", "2")
    assert config.seed_override() == 2


@pytest.mark.parametrize("text", ["-1", "two", "1.5"])
def test_seed_override_rejects_what_is_not_a_non_negative_integer(monkeypatch, text):
    monkeypatch.setenv("FMBOOK_SEED", text)
    with pytest.raises(config.ConfigError, match="FMBOOK_SEED"):
        config.seed_override()


def test_no_other_module_reads_the_environment():
    import pathlib
    import re

    package = pathlib.Path(config.__file__).parent
    readers = re.compile(r"os\.environ\.get|os\.getenv|os\.environ\[[^\]]+\](?!\s*=)")
    offenders = [str(p.relative_to(package)) for p in package.rglob("*.py")
                 if p.name != "config.py" and readers.search(p.read_text())]
    assert offenders == [], f"read FMBOOK_* settings through fmbook.config, not in {offenders}"
