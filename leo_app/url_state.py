"""Page settings in the URL's query string: a declarative schema per page, parse and serialise.

A schema maps a query key (the same string as the page's widget key) to a typed field with a
default and its allowed values. ``parse`` never raises on user input: out-of-range numbers are
clamped, a value between a slider's steps snaps to the nearest step, and anything unusable
(``alpha=abc``, ``family=<script>``, NaN, a 400-digit integer) is dropped, each with a
human-readable note for the page to show. ``serialise`` writes only values that differ from the
defaults, so a link stays short and ``parse(serialise(v)) == v``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from leo_core.i18n import DEFAULT_LANGUAGE, LANGUAGES, _
from leo_core.page_settings import (CURVES, DEFAULT_POINTS, LANDSCAPE_ALPHAS, PAGE_SETTINGS, PREVIEW_STEPS, RACE_X,
                                    RECOMMENDED_CHOICE, START_KEYS, TASK_SOURCES, race_override,
                                    task_param_key)
from leo_core.settings import ALPHAS, BETAS, TRAIN_SETTINGS, Setting

__all__ = ["IntField", "FloatField", "StepField", "ChoiceField", "MultiChoiceField", "BoolField", "TextField", "Schema",
           "ParseResult", "parse", "serialise", "field_for", "task_param_key", "SCHEMAS", "GLOBAL_SCHEMA", "MAX_VALUE_CHARS",
           "ALPHAS", "BETAS", "LANDSCAPE_ALPHAS", "CURVES", "PREVIEW_STEPS", "TASK_SOURCES", "START_KEYS",
           "DEFAULT_POINTS", "PRETRAIN_ITERATIONS", "EVAL_TASKS", "SHOT_CHOICES", "RACE_DEFAULT", "RACE_X",
           "RECOMMENDED_CHOICE", "RACE_ALPHAS", "RACE_KS", "race_override_key"]

MAX_VALUE_CHARS = 200  # longer query values are refused outright (no 10⁵-digit int parsing)
_SHOWN_CHARS = 40  # how much of a bad value a note quotes

# Options the pages' widgets take, from the settings' declarations (leo_core.page_settings).
_C = {name: setting for page in PAGE_SETTINGS.values() for name, setting in page.items()}
EVAL_TASKS = _C["eval_tasks"].stops
SHOT_CHOICES = _C["eval_shots"].choices
RACE_DEFAULT = _C["race"].default
PRETRAIN_ITERATIONS = _C["pretrain_iterations"].default
RACE_ALPHAS = race_override("alpha", "leo").choices
RACE_KS = race_override("k", "leo").choices


def race_override_key(setting: str, algorithm: str) -> str:
    """The Compare page's widget (and query key) of one race entry's α or k override."""
    return race_override(setting, algorithm).name


def _shown(raw: str) -> str:
    text = raw if len(raw) <= _SHOWN_CHARS else raw[:_SHOWN_CHARS] + "…"
    return repr(text)


class _Reject(Exception):
    """A value that cannot be used at all (the default is kept)."""


def _finite(raw: str, not_a_number: str) -> float:
    """``raw`` as a finite float, or a ``_Reject`` saying why not."""
    try:
        value = float(raw.strip())
    except ValueError:
        raise _Reject(not_a_number) from None
    if not math.isfinite(value):
        raise _Reject(_("not a finite number"))
    return value


@dataclass(frozen=True)
class IntField:
    default: int
    lo: int
    hi: int

    def parse(self, raw: str) -> tuple[int, str | None]:
        value = _finite(raw, _("not a whole number"))
        if value != int(value):
            raise _Reject(_("not a whole number"))
        n = int(value)
        clamped = min(self.hi, max(self.lo, n))
        return clamped, None if clamped == n else _("clamped to {value} (allowed {low}…{high})").format(
            value=clamped, low=self.lo, high=self.hi)

    def dump(self, value: int) -> str:
        return str(int(value))


@dataclass(frozen=True)
class FloatField:
    default: float
    lo: float
    hi: float

    def parse(self, raw: str) -> tuple[float, str | None]:
        value = _finite(raw, _("not a number"))
        clamped = min(self.hi, max(self.lo, value))
        return clamped, None if clamped == value else _("clamped to {value} (allowed {low}…{high})").format(
            value=f"{clamped:g}", low=f"{self.lo:g}", high=f"{self.hi:g}")

    def dump(self, value: float) -> str:
        return repr(float(value))


@dataclass(frozen=True)
class StepField:
    """A number from a fixed list (a log-scale select slider): other values snap to the nearest step."""

    default: float
    steps: tuple[float, ...]

    def parse(self, raw: str) -> tuple[float, str | None]:
        value = _finite(raw, _("not a number"))
        if value <= 0:
            nearest = self.steps[0]
        else:  # nearest on a log scale, the scale these sliders use
            nearest = min(self.steps, key=lambda s: abs(math.log(s) - math.log(value)))
        if math.isclose(nearest, value, rel_tol=1e-9):
            return nearest, None
        return nearest, _("not one of the slider's values; using the nearest, {value}").format(value=f"{nearest:g}")

    def dump(self, value: float) -> str:
        return f"{float(value):g}"


@dataclass(frozen=True)
class ChoiceField:
    """One of a fixed list of options (strings or numbers, as the widget holds them)."""

    default: str | int
    choices: tuple[str | int, ...]

    def parse(self, raw: str) -> tuple[str | int, str | None]:
        value = raw.strip()
        for choice in self.choices:
            if str(choice) == value:
                return choice, None
        raise _Reject(_("not one of {choices}").format(choices=", ".join(map(str, self.choices))))

    def dump(self, value: str | int) -> str:
        return str(value)


@dataclass(frozen=True)
class MultiChoiceField:
    """Several of a fixed list of options, comma-separated (a multiselect); unknown items are dropped."""

    default: tuple[str | int, ...]
    choices: tuple[str | int, ...]

    def parse(self, raw: str) -> tuple[list, str | None]:
        items = [item.strip() for item in raw.split(",") if item.strip()]
        chosen = [c for c in self.choices if str(c) in items]  # in the widget's order, each once
        known = {str(c) for c in self.choices}
        unknown = [item for item in items if item not in known]
        if unknown:
            return chosen, _("{items} dropped (allowed {choices})").format(
                items=", ".join(_shown(u) for u in unknown), choices=", ".join(map(str, self.choices)))
        return chosen, None

    def dump(self, value: Sequence) -> str:
        return ",".join(str(v) for v in value)


@dataclass(frozen=True)
class BoolField:
    default: bool
    _TRUE = ("1", "true", "yes", "on")
    _FALSE = ("0", "false", "no", "off")

    def parse(self, raw: str) -> tuple[bool, str | None]:
        value = raw.strip().lower()
        if value in self._TRUE:
            return True, None
        if value in self._FALSE:
            return False, None
        raise _Reject(_("not true/false (1/0)"))

    def dump(self, value: bool) -> str:
        return "1" if value else "0"


@dataclass(frozen=True)
class TextField:
    """Free text (e.g. a list of sweep values), refused when long or holding control characters
    (line breaks are allowed in a ``multiline`` field: a text area)."""

    default: str
    max_chars: int = 100
    multiline: bool = False

    def parse(self, raw: str) -> tuple[str, str | None]:
        allowed = "\n" if self.multiline else ""
        if len(raw) > self.max_chars or any(ord(c) < 32 and c not in allowed for c in raw):
            raise _Reject(_("longer than {n} characters or holds control characters").format(n=self.max_chars))
        return raw, None

    def dump(self, value: str) -> str:
        return str(value)


Field = IntField | FloatField | StepField | ChoiceField | MultiChoiceField | BoolField | TextField
Schema = Mapping[str, Field]


@dataclass(frozen=True)
class ParseResult:
    values: dict[str, Any]  # only the keys the query string set (and that could be used)
    notes: list[str]  # one line per value that was changed or refused


def parse(schema: Schema, params: Mapping[str, Any]) -> ParseResult:
    """Typed values for the schema's keys found in ``params`` (a query-string mapping).

    A list value (a repeated key) uses its last item. Keys outside the schema are ignored: the
    other pages' settings and the app's own keys share the query string.
    """
    values: dict[str, Any] = {}
    notes: list[str] = []
    for key, fld in schema.items():
        if key not in params:
            continue
        raw = params[key]
        if isinstance(raw, (list, tuple)):
            raw = raw[-1] if raw else ""
        raw = str(raw)
        if len(raw) > MAX_VALUE_CHARS:
            notes.append(_("{key}: a {n}-character value was ignored; using the default {default}").format(
                key=key, n=len(raw), default=fld.dump(fld.default)))
            continue
        try:
            value, note = fld.parse(raw)
        except _Reject as why:
            notes.append(_("{key}={value} was ignored ({reason}); using the default {default}").format(
                key=key, value=_shown(raw), reason=why, default=fld.dump(fld.default)))
            continue
        values[key] = value
        if note:
            notes.append(f"{key}={_shown(raw)}: {note}")
    return ParseResult(values, notes)


def serialise(schema: Schema, values: Mapping[str, Any]) -> dict[str, str]:
    """Query-string entries for the schema's keys in ``values`` that differ from their defaults."""
    out = {}
    for key, fld in schema.items():
        if key in values and values[key] is not None and fld.dump(values[key]) != fld.dump(fld.default):
            out[key] = fld.dump(values[key])
    return out


# -- the app's schemas (keys are the pages' widget keys), from the settings' declarations ------------------

def field_for(setting: Setting) -> Field:
    """The URL field of a setting, from its one declaration (``leo_core.settings``, ``leo_core.page_settings``)."""
    if setting.multi:
        return MultiChoiceField(tuple(setting.default), tuple(setting.choices))
    if setting.text:
        return TextField(setting.default, max_chars=min(setting.text, MAX_VALUE_CHARS), multiline=setting.lines)
    if setting.choices is not None:
        return ChoiceField(setting.default, tuple(setting.choices))
    if setting.stops is not None:
        return StepField(setting.default, tuple(setting.stops))
    if setting.kind is bool:
        return BoolField(setting.default)
    if setting.kind is int:
        return IntField(setting.default, int(setting.low), int(setting.high))
    return FloatField(setting.default, float(setting.low), float(setting.high))


def _schema(settings) -> dict[str, Field]:
    return {s.name: field_for(s) for s in settings if s.in_link}


TRAIN_SCHEMA: dict[str, Field] = _schema((*TRAIN_SETTINGS, *PAGE_SETTINGS["train"].values()))
ADAPTATION_SCHEMA = _schema(PAGE_SETTINGS["adaptation"].values())
LANDSCAPE_SCHEMA = _schema(PAGE_SETTINGS["landscape"].values())
COMPARE_SCHEMA = _schema(PAGE_SETTINGS["compare"].values())

# App-wide keys, valid on every page.
GLOBAL_SCHEMA: dict[str, Field] = {
    "present": BoolField(False),
    "lang": ChoiceField(DEFAULT_LANGUAGE, tuple(LANGUAGES)),
}

SCHEMAS: dict[str, dict[str, Field]] = {
    "train": TRAIN_SCHEMA,
    "adaptation": ADAPTATION_SCHEMA,
    "landscape": LANDSCAPE_SCHEMA,
    "compare": COMPARE_SCHEMA,
    "theory": _schema(PAGE_SETTINGS["theory"].values()),
    "lecture": _schema(PAGE_SETTINGS["lecture"].values()),
}


def keys_of(pages: Sequence[str]) -> set[str]:
    """Every query key the given pages' schemas own (for clearing a page's stale keys)."""
    return {k for p in pages for k in SCHEMAS.get(p, {})}
