"""Dependencies shared by the API and the dashboard: settings, database sessions,
readings. The app factory (``backend.app``) puts the resources on ``app.state``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker

from backend.readings import ReadingStore
from dampwatch_core.settings import Settings

__all__ = ["ReadingsDep", "SessionDep", "SettingsDep"]


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    sessions: sessionmaker[Session] = request.app.state.sessions
    with sessions() as session:
        yield session


def get_readings(request: Request) -> ReadingStore:
    store: ReadingStore = request.app.state.readings
    return store


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]
ReadingsDep = Annotated[ReadingStore, Depends(get_readings)]
