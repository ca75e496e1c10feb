"""One way to validate a configuration file (thresholds, estate, scenario): a pydantic
model of the file (:class:`FileModel`: unknown keys refused, no silent type coercion)
and :func:`validate`, which turns every problem into one line that names the table and
the key the way the file spells them::

    demo.toml: blocks[0] flats=0 is outside 1–10000
    healthy.toml: [heating] unknown key 'setpoint' (did you mean 'setpoint_c'?)
    healthy.toml: [occupancy] occupants must be int, not 'two'

The caller adds nothing but the file's name and its own error type. A field's
``description`` says in words what it must be (a pattern, a set of values); a
validator that needs its own sentence raises :func:`invalid`.
"""

from __future__ import annotations

import difflib
import tomllib
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails, PydanticCustomError

__all__ = ["FileModel", "between", "invalid", "read_toml", "unknown_key", "validate"]

M = TypeVar("M", bound="FileModel")

#: What a wrong type is called in a message.
_TYPE_NAMES = {
    "int_type": "int",
    "float_type": "float",
    "bool_type": "bool",
    "string_type": "str",
    "list_type": "a list",
    "tuple_type": "a list",
    "date_type": "a date",
    "datetime_type": "a datetime",
}
_BOUNDS = {
    "greater_than_equal": "≥",
    "greater_than": ">",
    "less_than_equal": "≤",
    "less_than": "<",
}
_TABLE_TYPES = {"model_type", "model_attributes_type", "dict_type"}


class FileModel(BaseModel):
    """A table of a configuration file: every key known, every value of its own type
    (``true`` is not 1, "3" is not 3; a whole number is a float)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def invalid(message: str) -> PydanticCustomError:
    """The error a validator raises when the value breaks a rule; ``message`` follows
    the key (``schedule entry '6 to 9' must be like '06-09'``)."""
    return PydanticCustomError("invalid", message)


def _check_between(lo: float, hi: float) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not lo <= value <= hi:
            raise PydanticCustomError(
                "outside", "{value} is outside {lo}–{hi}", {"value": value, "lo": lo, "hi": hi}
            )
        return value

    return check


def between(lo: float, hi: float) -> AfterValidator:
    """``Annotated[float, between(0, 1)]``: a number in [lo, hi]."""
    return AfterValidator(_check_between(lo, hi))


def unknown_key(key: str, known: list[str]) -> str:
    """``unknown key 'sead' (did you mean 'seed'?)``."""
    close = difflib.get_close_matches(key, sorted(known), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}{hint}"


def read_toml(path: Path, what: str, error: type[Exception]) -> dict[str, Any]:
    """The parsed TOML of ``path`` (a ``what`` file), or ``error`` saying why not."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise error(f"cannot read {what} {path}: {exc.strerror}") from None
    return parse_toml(text, str(path), error)


def parse_toml(text: str, source: str, error: type[Exception]) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{source}: not valid TOML: {exc}") from None


def validate(model: type[M], data: Mapping[str, Any], source: str, error: type[Exception]) -> M:
    """``data`` as ``model``, or ``error("<source>: <problem>; <problem> …")``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_describe(model, err) for err in exc.errors())
        raise error(f"{source}: {problems}") from None


# -- messages -------------------------------------------------------------------------


def _strip(tp: Any) -> Any:
    """The model, list, dict or scalar type under ``Annotated`` and ``| None``."""
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin is Union or origin is types.UnionType:
            args = [a for a in get_args(tp) if a is not type(None)]
            tables = [a for a in args if _is_container(a)]
            tp = (tables or args)[0]
        else:
            return tp


def _is_container(tp: Any) -> bool:
    tp = _strip(tp)
    return _is_model(tp) or get_origin(tp) in (list, tuple, dict)


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _walk(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[Any, FieldInfo | None]:
    """The type at ``loc`` and the field that declares it (``None`` past a list or
    dict, or where the location leaves the model)."""
    tp: Any = model
    field: FieldInfo | None = None
    for part in loc:
        tp = _strip(tp)
        origin = get_origin(tp)
        if _is_model(tp) and isinstance(part, str) and part in tp.model_fields:
            field = tp.model_fields[part]
            tp = field.annotation
        elif origin in (list, tuple) and isinstance(part, int):
            tp, field = get_args(tp)[0], None
        elif origin is dict and isinstance(part, str):
            tp, field = get_args(tp)[1], None
        else:
            return None, None
    return _strip(tp), field


def _where(loc: tuple[int | str, ...]) -> str:
    """``blocks[0] ``, ``[heating] `` or nothing (the top of the file)."""
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int) and parts:
            parts[-1] = f"{parts[-1]}[{part}]"
        else:
            parts.append(str(part))
    return "".join(p + " " if p.endswith("]") else f"[{p}] " for p in parts)


def _describe(model: type[BaseModel], err: ErrorDetails) -> str:
    loc = tuple(err["loc"])
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    if kind == "extra_forbidden":
        parent, _ = _walk(model, loc[:-1])
        known = list(parent.model_fields) if _is_model(parent) else []
        return f"{_where(loc[:-1])}{unknown_key(str(loc[-1]), known)}"
    target, field = _walk(model, loc)
    if not loc or (target is not None and _is_model(target)) or kind in _TABLE_TYPES:
        where = _where(loc)
        if kind == "missing":
            return f"{where}table is required"
        if kind in _TABLE_TYPES:
            return f"{where}must be a table"
        return f"{where}{err['msg']}"
    where, key = _where(loc[:-1]), str(loc[-1])
    if isinstance(loc[-1], int):  # an item of a list
        where, key = _where(loc[:-2]), f"{loc[-2]}[{loc[-1]}]"
    expect = field.description if field is not None else None
    if kind == "missing":
        return f"{where}{key} ({expect}) is required" if expect else f"{where}{key} is required"
    if kind == "outside":
        return f"{where}{key}={ctx['value']} is outside {ctx['lo']:g}–{ctx['hi']:g}"
    if kind == "invalid":
        return f"{where}{key} {err['msg']}"
    if kind in _BOUNDS:
        return f"{where}{key}={value!r} must be {_BOUNDS[kind]} {next(iter(ctx.values())):g}"
    if kind == "literal_error":
        return f"{where}{key} {value!r} must be one of {ctx['expected'].replace(chr(39), '')}"
    if expect:
        return f"{where}{key} {value!r} must be {expect}"
    if kind in _TYPE_NAMES:
        return f"{where}{key} must be {_TYPE_NAMES[kind]}, not {value!r}"
    return f"{where}{key}: {err['msg'][:1].lower()}{err['msg'][1:]}"
