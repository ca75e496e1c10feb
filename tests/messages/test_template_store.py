"""Landlord-edited templates: each edit a new version, the newest used, every message
recording the version it came from; an edit breaking the wording rules stores nothing."""

from __future__ import annotations

import pytest
from notifyworld import MORNING, World
from sqlalchemy import func, select

from alerting.messages.template_store import current_template, save_template
from alerting.messages.templates import TemplateError
from dampwatch_core.models_messages import MessageTemplate

GOOD = (
    "((landlord_name)): if you can, open a window for a while after a shower. "
    "Report damp: ((report_phone)). Reply STOP to stop these texts."
)


def test_edits_are_versions_and_messages_record_theirs(world: World) -> None:
    world.add_tenant("V1", "N-1", phone="07400 123456")
    with world.sessions.begin() as session:
        assert current_template(session, "north", "tip.damp.air").version == 0
        first = save_template(
            session,
            landlord="north",
            key="tip.damp.air",
            body=GOOD,
            subject=None,
            actor="ann@example.org",
            now=MORNING,
        )
        second = save_template(
            session,
            landlord="north",
            key="tip.damp.air",
            body=GOOD.replace("a shower", "cooking"),
            subject=None,
            actor="ann@example.org",
            now=MORNING,
        )
        assert (first.version, second.version) == (1, 2)
        assert current_template(session, "north", "tip.damp.air").body == second.body
        assert current_template(session, "south", "tip.damp.air").version == 0
        message = world.desk.queue(
            session,
            tenant_id="V1",
            flat_id="N-1",
            purpose="tip",
            template_key="tip.damp.air",
            now=MORNING,
        )
        assert (message.template_version, message.channel) == (2, "sms")
        assert message.body.startswith("Northtown Council: if you can, open a window")
        assert "cooking" in message.body


def test_a_bad_edit_is_refused_with_every_reason_and_stores_nothing(world: World) -> None:
    with world.sessions.begin() as session:
        with pytest.raises(TemplateError) as refused:
            save_template(
                session,
                landlord="north",
                key="tip.cold.warmth",
                body="Your lifestyle causes damp. Save £5 a week.",
                subject=None,
                actor="ann@example.org",
                now=MORNING,
            )
        assert "lifestyle" in str(refused.value) and "money figure" in str(refused.value)
        assert "how to stop" in str(refused.value)
        with pytest.raises(TemplateError, match="no template"):
            save_template(
                session,
                landlord="north",
                key="tip.nope",
                body=GOOD,
                subject=None,
                actor="ann@example.org",
                now=MORNING,
            )
        assert session.scalar(select(func.count(MessageTemplate.id))) == 0
