"""The versioned rules that turn findings into cases (``rules.toml``), validated at
load: an unknown key, a wrong type or a level out of order is refused with the
option's name."""

from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dampwatch_core.errors import ConfigError
from dampwatch_core.models import RISK_LEVELS

__all__ = [
    "RULES_VERSION",
    "CaseRules",
    "KindRules",
    "ReminderRules",
    "VerificationRules",
    "load_rules",
    "rank",
]

RULES_VERSION = 1

LevelName = Literal["none", "low", "medium", "high"]


def rank(level: str) -> int:
    """0 for none … 3 for high."""
    return RISK_LEVELS.index(level)


class KindRules(BaseModel):
    """Hysteresis, minimum duration and cool-down for one kind of case."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    open_at: LevelName
    clear_at: LevelName
    min_duration_hours: float = Field(ge=0)
    cooldown_days: float = Field(ge=0)

    @model_validator(mode="after")
    def _levels_in_order(self) -> Self:
        if rank(self.clear_at) >= rank(self.open_at):
            raise ValueError(
                f"clear_at ({self.clear_at}) must be below open_at ({self.open_at})"
            )
        return self


class RepairRules(KindRules):
    trade: str = Field(min_length=1)


class ReminderRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    remind_after_hours: float = Field(gt=0)
    repeat_every_hours: float = Field(gt=0)
    escalate_after: int = Field(ge=1)


class VerificationRules(BaseModel):
    """Post-repair verification: how long a resolved repair case watches the flat."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    watch_days: float = Field(default=28.0, gt=0, le=366)


class CaseRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1]
    repair: RepairRules
    outreach: KindRules
    reminders: ReminderRules
    #: optional in a landlord's file (the default watch is 28 days)
    verification: VerificationRules = VerificationRules()


def load_rules(path: Path | None = None) -> CaseRules:
    """The rules in ``path``, or the bundled defaults."""
    try:
        text = (
            path.read_text(encoding="utf-8")
            if path is not None
            else (files("alerting.cases") / "rules.toml").read_text(encoding="utf-8")
        )
        data = tomllib.loads(text)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"case rules {path or 'rules.toml'}: {exc}") from exc
    try:
        return CaseRules.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(file)'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"case rules {path or 'rules.toml'}: {problems}") from None
