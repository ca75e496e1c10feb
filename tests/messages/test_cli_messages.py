"""``dampwatch templates`` and ``dampwatch messages``: edit, preview, list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dampwatch.cli import main


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "dampwatch.env"
    path.write_text(
        f"DAMPWATCH_DATABASE_URL=sqlite:///{tmp_path / 'store.db'}\n"
        "DAMPWATCH_LANDLORD_NAME=Cyngor Caerdydd\n"
        "DAMPWATCH_TENANT_REPORT_PHONE=029 2000 0000\n"
    )
    return path


def _json(capsys: pytest.CaptureFixture[str]) -> object:
    return json.loads(capsys.readouterr().out)


def test_edit_preview_and_list(settings_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = ["--settings", str(settings_file)]
    assert main(["migrate", *s]) == 0
    capsys.readouterr()
    welsh = "((landlord_name)): mae'r aer yn llaith. Ffoniwch ((report_phone)). Atebwch STOP. ŵ"
    assert main(["templates", "edit", "tip.damp.air", "--body", welsh, "--json", *s]) == 0
    saved = _json(capsys)
    assert isinstance(saved, dict) and saved["version"] == 1
    assert main(["templates", "preview", "tip.damp.air", "--json", *s]) == 0
    shown = _json(capsys)
    assert isinstance(shown, dict)
    assert shown["text"].startswith("Cyngor Caerdydd: mae'r aer")
    assert (shown["encoding"], shown["fragments"], shown["problems"]) == ("unicode", 2, [])
    assert main(["templates", "list", "--json", *s]) == 0
    listed = _json(capsys)
    assert isinstance(listed, list)
    assert {"tip.damp.air": 1, "reply.stop": 0}.items() <= {
        t["key"]: t["version"] for t in listed
    }.items()
    assert main(["messages", "list", "--json", *s]) == 0
    assert _json(capsys) == []


def test_a_bad_edit_is_refused(settings_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    s = ["--settings", str(settings_file)]
    assert main(["migrate", *s]) == 0
    assert main(["templates", "edit", "tip.cold.money", "--body", "Save £10 a week.", *s]) != 0
    err = capsys.readouterr().err
    assert "money figure" in err and "not saved" in err
