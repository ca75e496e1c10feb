"""Templates of messages to tenants: the defaults DampWatch ships, Notify's template
syntax, the wording rules every template is checked against, and the preview.

Syntax (as GOV.UK Notify's): ``((name))`` is replaced by a value; ``((flag??text))``
shows ``text`` only when ``flag`` is set to something true. A template names only the
landlord's own details (phone, web address, advice line): never a tenant's, so the
rendered text holds no personal data and is kept on the message record.

Wording rules (:func:`check_wording`) are those for messages to tenants: describe
conditions, never behaviour (no "lifestyle"), never tell anyone to heat less, never a
pound figure, and every tip says how to report damp and how to stop the texts. A
template that breaks one is refused when stored. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from alerting.errors import AlertingError
from alerting.messages.fragments import SmsLength, count

__all__ = [
    "CHANNELS",
    "DEFAULT_TEMPLATES",
    "SAMPLE_VALUES",
    "Preview",
    "Template",
    "TemplateError",
    "check_wording",
    "placeholders",
    "preview",
    "render",
]

CHANNELS = ("sms", "letter", "email")


class TemplateError(AlertingError):
    """A template that cannot be stored or rendered (bad syntax, wording, a value
    missing)."""


@dataclass(frozen=True)
class Template:
    key: str
    channel: str
    body: str
    subject: str = ""
    version: int = 0  # 0: the shipped default, never stored


_PLACEHOLDER = re.compile(r"\(\(([^()?]+?)(\?\?(.*?))?\)\)", re.DOTALL)

#: values a preview fills in when none are given (the landlord's own details)
SAMPLE_VALUES: Mapping[str, str] = {
    "landlord_name": "Northtown Council",
    "report_phone": "0113 000 0000",
    "report_web": "northtown.example/damp",
    "advice_line": "0113 000 0001",
    "case_reference": "DM-000123",
    "investigated_on": "3 November 2026",
    "findings": "We found damp in the bedroom wall.",
    "next_steps": "We will fix the gutter above the bedroom by 17 November.",
}

_STOP_LINE = "Reply STOP to stop these texts."
_REPORT_LINE = "To report damp or mould (it is safe to): ((report_phone)) or ((report_web))."

# Plain words, one action each, conditions not behaviour, no figures (see docs/messages.md).
DEFAULT_TEMPLATES: Mapping[str, Template] = {
    t.key: t
    for t in (
        Template(
            "tip.damp.air",
            "sms",
            "((landlord_name)): the air in your home has been damp. If you can, open a "
            "window or use the fan for a while after cooking or a shower. "
            + _REPORT_LINE
            + " "
            + _STOP_LINE,
        ),
        Template(
            "tip.damp.walls",
            "sms",
            "((landlord_name)): if you can, leave a small gap between furniture and outside "
            "walls so air can move. If you see mould, tell us early and don't paint over "
            "it. " + _REPORT_LINE + " " + _STOP_LINE,
        ),
        Template(
            "tip.cold.warmth",
            "sms",
            "((landlord_name)): your home has been cold. Help with energy bills may be "
            "there for you, such as the Warm Home Discount. Our advice line can help: "
            "((advice_line)). " + _REPORT_LINE + " " + _STOP_LINE,
        ),
        Template(
            "tip.cold.money",
            "sms",
            "((landlord_name)): if paying for heating is hard, your energy supplier may "
            "have a hardship fund. Call our advice line for help: ((advice_line)). "
            + _REPORT_LINE
            + " "
            + _STOP_LINE,
        ),
        Template(
            "tip.damp.letter",
            "letter",
            "# Help with damp in your home\n\nThe air in your home has been damp. If you "
            "can, open a window or use the fan for a while after cooking or a shower.\n\n"
            "To report damp or mould, call ((report_phone)) or visit ((report_web)). It is "
            "safe to report it, and we will come and look.\n\nIf you do not want these "
            "letters, call ((report_phone)) and we will stop them.",
            subject="Help with damp in your home",
        ),
        Template(
            "tip.cold.letter",
            "letter",
            "# Help with keeping warm\n\nYour home has been cold. Help with energy bills "
            "may be there for you, such as the Warm Home Discount or your supplier's "
            "hardship fund. Our advice line can help: ((advice_line)).\n\nTo report damp "
            "or mould, call ((report_phone)) or visit ((report_web)). It is safe to "
            "report it.\n\nIf you do not want these letters, call ((report_phone)) and we "
            "will stop them.",
            subject="Help with keeping warm",
        ),
        Template(
            "reply.stop",
            "sms",
            "((landlord_name)): you will get no more tips by text. To report damp or mould "
            "call ((report_phone)).",
        ),
        Template(
            "reply.help",
            "sms",
            "((landlord_name)): to report damp, mould or a repair call ((report_phone)) or "
            "visit ((report_web)). For help with bills call ((advice_line)). " + _STOP_LINE,
        ),
        Template(
            "summary.letter",
            "letter",
            "# What we found when we looked at your home\n\nCase ((case_reference)). We "
            "looked at your home on ((investigated_on)).\n\n((findings))\n\n"
            "((next_steps))\n\nIf anything gets worse, call ((report_phone)) or visit "
            "((report_web)). If someone's health is worse, talk to your GP or call 111.",
            subject="What we found when we looked at your home",
        ),
        Template(
            "summary.email",
            "email",
            "Case ((case_reference)). We looked at your home on ((investigated_on)).\n\n"
            "((findings))\n\n((next_steps))\n\nIf anything gets worse, call "
            "((report_phone)) or visit ((report_web)). If someone's health is worse, talk "
            "to your GP or call 111.",
            subject="What we found when we looked at your home",
        ),
    )
}

_BANNED = (
    (re.compile(r"lifestyle", re.IGNORECASE), 'the word "lifestyle" (describe conditions)'),
    (re.compile(r"£|\bpounds?\b|\bGBP\b", re.IGNORECASE), "a money figure (they vary and date)"),
    (
        re.compile(
            r"(turn|put|keep)\w*\s+(the\s+|your\s+)?heating\s+(down|off|lower)|heat less",
            re.IGNORECASE,
        ),
        "telling a household to heat less",
    ),
    (
        re.compile(r"\b(your fault|caused by (you|your)|you caused|because you)\b", re.IGNORECASE),
        "blame",
    ),
)
_HEAT_MORE = re.compile(r"(turn|put)\w*\s+(the\s+|your\s+)?heating\s+(up|on)", re.IGNORECASE)
_MONEY_HELP = re.compile(r"advice_line|warm home discount|hardship", re.IGNORECASE)


def placeholders(body: str) -> list[str]:
    """The names a template uses, in order of first use."""
    return list(dict.fromkeys(m.group(1).strip() for m in _PLACEHOLDER.finditer(body)))


def render(body: str, values: Mapping[str, str]) -> str:
    """The text with every placeholder filled; a missing value is a TemplateError."""
    if body.count("((") != body.count("))"):
        raise TemplateError("unbalanced (( )) in the template")

    def fill(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if match.group(2) is not None:  # ((flag??text))
            return match.group(3) if values.get(name) else ""
        if name not in values:
            raise TemplateError(f"no value for (({name}))")
        return values[name]

    return _PLACEHOLDER.sub(fill, body)


def check_wording(key: str, channel: str, body: str) -> list[str]:
    """What is wrong with a template's words (empty: nothing)."""
    if channel not in CHANNELS:
        return [f"channel must be one of {', '.join(CHANNELS)}"]
    problems = [f"it contains {what}" for pattern, what in _BANNED if pattern.search(body)]
    if _HEAT_MORE.search(body) and not _MONEY_HELP.search(body):
        problems.append("it says to heat more without pointing to money help")
    if key.startswith("tip."):
        names = placeholders(body)
        if "report_phone" not in names and "report_web" not in names:
            problems.append("a tip must say how to report damp ((report_phone)) or ((report_web))")
        if channel == "sms" and "STOP" not in body:
            problems.append("a tip by text must say how to stop (reply STOP)")
        if channel == "letter" and "stop" not in body.casefold():
            problems.append("a tip by letter must say how to stop the letters")
    unknown = [n for n in placeholders(body) if n not in SAMPLE_VALUES]
    if unknown:
        problems.append(
            "unknown placeholders "
            + ", ".join(f"(({n}))" for n in unknown)
            + "; known: "
            + ", ".join(f"(({n}))" for n in SAMPLE_VALUES)
        )
    elif channel == "sms":
        try:
            length = count(render(body, SAMPLE_VALUES))
        except TemplateError as exc:
            problems.append(str(exc))
        else:
            if length.too_long:
                problems.append(f"{length.units} characters: longer than Notify sends (918)")
    return problems


@dataclass(frozen=True)
class Preview:
    """A template as a tenant would see it, with its SMS cost (texts only)."""

    text: str
    length: SmsLength | None

    def describe(self) -> str:
        if self.length is None:
            return f"{len(self.text)} characters"
        lg = self.length
        extra = f"; Unicode because of {lg.unicode_because!r}" if lg.unicode_because else ""
        return (
            f"{lg.units} characters, {lg.encoding.value.upper()}, {lg.fragments} "
            f"text message{'s' if lg.fragments != 1 else ''}{extra}"
        )


def preview(template: Template, values: Mapping[str, str] | None = None) -> Preview:
    """The rendered text (sample values for any not given) and, for a text message,
    its encoding and fragments."""
    text = render(template.body, {**SAMPLE_VALUES, **(values or {})})
    return Preview(text, count(text) if template.channel == "sms" else None)
