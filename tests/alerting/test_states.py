"""A case's life: the allowed path, and every other move refused with a clear reason."""

from __future__ import annotations

import itertools

import pytest

from alerting.cases.states import (
    ACTIVE_STATES,
    TRANSITIONS,
    CaseState,
    IllegalTransition,
    check_transition,
)

PATH = [
    CaseState.OPEN,
    CaseState.ACKNOWLEDGED,
    CaseState.INVESTIGATING,
    CaseState.MADE_SAFE,
    CaseState.WORKS_SCHEDULED,
    CaseState.RESOLVED,
]


def test_the_whole_path_is_allowed() -> None:
    for current, target in itertools.pairwise(PATH):
        check_transition(current, target)


def test_made_safe_may_resolve_without_further_works() -> None:
    check_transition(CaseState.MADE_SAFE, CaseState.RESOLVED)


@pytest.mark.parametrize("current", sorted(ACTIVE_STATES))
def test_any_open_state_closes_with_a_reason(current: CaseState) -> None:
    check_transition(current, CaseState.CLOSED, "tenant moved out; void works instead")
    with pytest.raises(IllegalTransition, match="needs a reason"):
        check_transition(current, CaseState.CLOSED, "  ")


def test_every_other_move_is_refused() -> None:
    allowed = {(a, b) for a, nexts in TRANSITIONS.items() for b in nexts}
    expected = {(a, b) for a, b in itertools.pairwise(PATH)}
    expected |= {(s, CaseState.CLOSED) for s in ACTIVE_STATES}
    expected |= {(CaseState.MADE_SAFE, CaseState.RESOLVED)}
    assert allowed == expected
    for a in CaseState:
        for b in CaseState:
            if (a, b) not in allowed:
                with pytest.raises(IllegalTransition):
                    check_transition(a, b, "a reason")


def test_refusal_says_what_is_possible() -> None:
    with pytest.raises(IllegalTransition, match=r"from open to resolved.*acknowledged, closed"):
        check_transition(CaseState.OPEN, CaseState.RESOLVED)
    with pytest.raises(IllegalTransition, match="final"):
        check_transition(CaseState.RESOLVED, CaseState.OPEN)


def test_final_states() -> None:
    assert frozenset(CaseState) - ACTIVE_STATES == {CaseState.RESOLVED, CaseState.CLOSED}
