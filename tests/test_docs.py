"""The docs keep up with the code: every setting is documented with its default."""

from __future__ import annotations

import re
from pathlib import Path

from server.config import SETTINGS

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_documented_with_its_default():
    doc = (ROOT / "docs" / "configuration.md").read_text()
    for setting in SETTINGS:
        row = next((line for line in doc.splitlines() if line.startswith(f"| `{setting.env}` |")), None)
        assert row is not None, f"{setting.env} is missing from docs/configuration.md"
        if setting.default is not None:
            assert f"`{setting.default}`" in row, f"{setting.env}: default {setting.default} not documented"


def test_every_onset_variable_in_the_code_is_a_declared_setting_or_an_sdk_one():
    declared = {s.env for s in SETTINGS}
    sdk_only = {"ONSET_SERVICE", "ONSET_ENV", "ONSET_VERSION"}
    used = set()
    for path in list((ROOT / "server").rglob("*.py")) + list((ROOT / "dashboard").rglob("*.py")):
        used |= set(re.findall(r"ONSET_[A-Z0-9_]+", path.read_text()))
    test_only = {"ONSET_TEST_DATABASE_URL"}
    assert used - declared - sdk_only - test_only == set()


def test_readme_shows_the_two_setup_commands():
    readme = (ROOT / "README.md").read_text()
    assert "make demo" in readme and "make test" in readme
