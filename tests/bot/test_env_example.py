"""`.env.example` lists every setting (README: "lists them all with comments"), with its
default, and nothing that is not a setting."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import SecretStr

from bot.settings import Settings

EXAMPLE = Path(__file__).resolve().parents[2] / ".env.example"


def _example() -> dict[str, str]:
    return dict(re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", EXAMPLE.read_text(), re.MULTILINE))


def test_every_setting_is_in_the_example_and_only_settings():
    settings = {name.upper() for name in Settings.model_fields}
    assert set(_example()) == settings


def test_the_example_shows_each_default():
    example = _example()
    for name, field in Settings.model_fields.items():
        default = field.default
        if isinstance(default, SecretStr):
            default = default.get_secret_value()
        written = example[name.upper()]
        if isinstance(default, int | float) and written:
            assert float(written) == float(default), name
        else:
            assert written == ("" if default is None else str(default)), name
