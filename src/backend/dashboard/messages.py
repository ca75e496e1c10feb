"""The Messages page: what DampWatch sent, or would have sent, to tenants (the text,
channel, template and version, when, delivery status) and the replies waiting for an
officer. No phone number, email or address: the tenant by id only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from backend.auth import Principal, landlord_filter, require_role
from backend.deps import SessionDep
from dampwatch_core.models import Flat
from dampwatch_core.models_cases import HazardCase
from dampwatch_core.models_messages import InboundText, TenantMessage

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Officer = Annotated[Principal, require_role("admin", "officer")]


@router.get("/messages", response_class=HTMLResponse)
def messages_page(
    request: Request,
    session: SessionDep,
    user: Officer,
    status: Annotated[str | None, Query(max_length=24, pattern=r"^[a-z-]+$")] = None,
) -> HTMLResponse:
    from backend.dashboard.templating import templates

    landlord = landlord_filter(user)
    sent = select(TenantMessage).join(Flat, Flat.id == TenantMessage.flat_id)
    if landlord is not None:
        sent = sent.where(Flat.landlord == landlord)
    if status:
        sent = sent.where(TenantMessage.status == status)
    # a reply is scoped by its case's flat; one with no case is shown to admins only
    replies = (
        select(InboundText)
        .join(HazardCase, HazardCase.id == InboundText.case_id, isouter=True)
        .join(Flat, Flat.id == HazardCase.flat_id, isouter=True)
        .where(InboundText.action == "officer_queue", InboundText.handled_at.is_(None))
    )
    if landlord is not None:
        replies = replies.where(Flat.landlord == landlord)
    rows = list(session.scalars(sent.order_by(TenantMessage.id.desc()).limit(200)))
    queue = list(session.scalars(replies.order_by(InboundText.id.desc()).limit(200)))
    return templates.TemplateResponse(
        request, "messages.html", {"items": rows, "replies": queue, "status": status}
    )
