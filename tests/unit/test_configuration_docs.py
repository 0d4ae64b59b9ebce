"""docs/configuration.md names every setting the service reads."""

from __future__ import annotations

from pathlib import Path

from failover_otp.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text()
    missing = [
        f"FOTP_{name.upper()}"
        for name in Settings.model_fields
        if f"`FOTP_{name.upper()}`" not in text
    ]
    assert missing == [], f"add these settings to docs/configuration.md: {missing}"
