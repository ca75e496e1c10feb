"""Templates: Notify's syntax, the wording rules, and previews of GSM, Unicode and Welsh
texts with their fragments."""

from __future__ import annotations

import pytest

from alerting.messages.fragments import Encoding
from alerting.messages.templates import (
    DEFAULT_TEMPLATES,
    SAMPLE_VALUES,
    Template,
    TemplateError,
    check_wording,
    preview,
    render,
)


def test_placeholders_and_optional_content() -> None:
    body = "Hello from ((landlord_name)).((case_reference?? Your case: ))((case_reference))"
    assert render(body, {"landlord_name": "Leeds", "case_reference": "DM-1"}) == (
        "Hello from Leeds. Your case: DM-1"
    )
    assert render(body, {"landlord_name": "Leeds", "case_reference": ""}) == "Hello from Leeds."
    with pytest.raises(TemplateError, match=r"\(\(landlord_name\)\)"):
        render(body, {"case_reference": "x"})


@pytest.mark.parametrize("key", sorted(DEFAULT_TEMPLATES))
def test_every_default_template_keeps_the_rules(key: str) -> None:
    template = DEFAULT_TEMPLATES[key]
    assert check_wording(key, template.channel, template.body) == []
    shown = preview(template)
    assert "((" not in shown.text
    if template.channel == "sms":
        assert shown.length is not None and shown.length.fragments <= 3


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ("Damp is down to your lifestyle. Call ((report_phone)). Reply STOP.", "lifestyle"),
        ("Save £30 a year. Call ((report_phone)). Reply STOP.", "money figure"),
        ("Turn your heating down at night. Call ((report_phone)). Reply STOP.", "heat less"),
        ("Turn the heating up. Call ((report_phone)). Reply STOP.", "money help"),
        ("Open a window after a shower. Reply STOP.", "how to report damp"),
        ("Open a window after a shower. Call ((report_phone)).", "how to stop"),
        ("Damp caused by you. Call ((report_phone)). Reply STOP.", "blame"),
        ("Call ((report_phone)) or ((tenant_phone)). Reply STOP.", "unknown placeholders"),
    ],
)
def test_wording_rules_refuse(body: str, problem: str) -> None:
    problems = check_wording("tip.damp.air", "sms", body)
    assert any(problem in p for p in problems), problems


def test_heat_more_with_money_help_is_allowed() -> None:
    body = (
        "If you can, put the heating on low. Help with bills: ((advice_line)). "
        "Report damp: ((report_phone)). Reply STOP."
    )
    assert check_wording("tip.cold.warmth", "sms", body) == []


def _sms(body: str) -> Template:
    return Template("tip.x", "sms", body)


def test_preview_gsm_one_and_two_texts() -> None:
    one = preview(_sms("a" * 160))
    assert one.length is not None
    assert (one.length.encoding, one.length.units, one.length.fragments) == (Encoding.GSM, 160, 1)
    two = preview(_sms("a" * 161))
    assert two.length is not None and two.length.fragments == 2
    assert two.describe() == "161 characters, GSM, 2 text messages"


def test_preview_counts_extension_characters_twice() -> None:
    shown = preview(_sms("a" * 157 + "[]"))  # 157 + 2×2 = 161
    assert shown.length is not None
    assert (shown.length.units, shown.length.fragments) == (161, 2)


def test_preview_unicode_text() -> None:
    shown = preview(_sms("Your home 🏠 " + "a" * 58))  # the emoji takes two units
    assert shown.length is not None
    assert shown.length.encoding is Encoding.UNICODE
    assert (shown.length.units, shown.length.fragments) == (71, 2)
    assert "Unicode because of" in shown.describe()


def test_preview_welsh_text() -> None:
    welsh = (
        "((landlord_name)): mae'r aer yn eich cartref wedi bod yn llaith. "
        "Ffoniwch ((report_phone)). Atebwch STOPIO i ŵyr."
    )
    shown = preview(_sms(welsh), {"landlord_name": "Cyngor Caerdydd"})
    assert shown.text.startswith("Cyngor Caerdydd: mae'r aer")
    assert shown.length is not None
    assert shown.length.encoding is Encoding.UNICODE and shown.length.unicode_because == "ŵ"
    assert shown.length.units == len(shown.text)
    assert shown.length.fragments == 2  # 118 characters: over 70, so 67 a text


def test_preview_gsm_accents_stay_gsm() -> None:
    shown = preview(_sms("Café, Müller, città: ((report_phone))"))
    assert shown.length is not None and shown.length.encoding is Encoding.GSM
    assert shown.text.endswith(SAMPLE_VALUES["report_phone"])


def test_letters_have_no_sms_length() -> None:
    shown = preview(DEFAULT_TEMPLATES["summary.letter"])
    assert shown.length is None and "DM-000123" in shown.text
