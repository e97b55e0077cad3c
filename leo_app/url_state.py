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

from leo_core.config import TrainConfig
from leo_core.settings import ALPHAS, BETAS, TRAIN_SETTINGS, Setting
from leo_core.views.meta_gradients import arrow_keys
from leo_core.algorithms import ALGORITHMS
from leo_core.tasks import TASK_FAMILIES
from leo_core.views.comparison import BASELINES
from leo_core.views.landscape import DIRECTIONS, SURFACES

__all__ = ["IntField", "FloatField", "StepField", "ChoiceField", "MultiChoiceField", "BoolField", "TextField", "Schema",
           "ParseResult", "parse", "serialise", "field_for", "task_param_key", "SCHEMAS", "GLOBAL_SCHEMA", "MAX_VALUE_CHARS",
           "ALPHAS", "BETAS", "LANDSCAPE_ALPHAS", "CURVES", "PREVIEW_STEPS", "TASK_SOURCES", "START_KEYS",
           "DEFAULT_POINTS", "PRETRAIN_ITERATIONS", "EVAL_TASKS", "SHOT_CHOICES", "RACE_DEFAULT", "RACE_X",
           "RECOMMENDED_CHOICE", "RACE_ALPHAS", "RACE_KS", "race_override_key"]

MAX_VALUE_CHARS = 200  # longer query values are refused outright (no 10⁵-digit int parsing)
_SHOWN_CHARS = 40  # how much of a bad value a note quotes

LANDSCAPE_ALPHAS = (1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5)
# Options of the pages' other fixed-choice widgets (the pages build their widgets from these).
CURVES = ("accuracy", "loss")  # Train: what the left chart shows for a classification family
PREVIEW_STEPS = ("k", "1", "5", "10")  # Train: inner steps in the live fit preview
TASK_SOURCES = ("sample", "params", "points")  # Adaptation: where the task comes from
START_KEYS = ("meta", "pretrained", "random")  # Adaptation: the starts a task can adapt from
DEFAULT_POINTS = "-2, -1.5\n-1, -0.2\n0, 0.4\n1, 1.9\n2, 3.1"  # Adaptation: typed support points
PRETRAIN_ITERATIONS = 300  # Adaptation: the pretrained baseline's default training length
EVAL_TASKS = (50, 100, 200, 400, 600)  # Compare: test tasks
SHOT_CHOICES = (1, 2, 5, 10, 20)  # Compare: shots on the second chart
RACE_DEFAULT = ("leo", "reptile", "pretrained")  # Compare: the race's entries (?race=leo,reptile,pretrained)
RACE_X = ("iterations", "seconds")  # Compare: the race chart's x axis (figures.race.X_AXES)
RECOMMENDED_CHOICE = "recommended"  # a race entry's α or k left at its recommended value
RACE_ALPHAS = (RECOMMENDED_CHOICE, *(f"{a:g}" for a in ALPHAS))
RACE_KS = (RECOMMENDED_CHOICE, *(str(k) for k in range(0, 11)))


def race_override_key(setting: str, algorithm: str) -> str:
    """The Compare page's widget (and query key) of one race entry's α or k override."""
    return f"race_{setting}_{algorithm.replace('-', '_')}"


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
        raise _Reject("not a finite number")
    return value


@dataclass(frozen=True)
class IntField:
    default: int
    lo: int
    hi: int

    def parse(self, raw: str) -> tuple[int, str | None]:
        value = _finite(raw, "not a whole number")
        if value != int(value):
            raise _Reject("not a whole number")
        n = int(value)
        clamped = min(self.hi, max(self.lo, n))
        return clamped, None if clamped == n else f"clamped to {clamped} (allowed {self.lo}…{self.hi})"

    def dump(self, value: int) -> str:
        return str(int(value))


@dataclass(frozen=True)
class FloatField:
    default: float
    lo: float
    hi: float

    def parse(self, raw: str) -> tuple[float, str | None]:
        value = _finite(raw, "not a number")
        clamped = min(self.hi, max(self.lo, value))
        return clamped, None if clamped == value else f"clamped to {clamped:g} (allowed {self.lo:g}…{self.hi:g})"

    def dump(self, value: float) -> str:
        return repr(float(value))


@dataclass(frozen=True)
class StepField:
    """A number from a fixed list (a log-scale select slider): other values snap to the nearest step."""

    default: float
    steps: tuple[float, ...]

    def parse(self, raw: str) -> tuple[float, str | None]:
        value = _finite(raw, "not a number")
        if value <= 0:
            nearest = self.steps[0]
        else:  # nearest on a log scale, the scale these sliders use
            nearest = min(self.steps, key=lambda s: abs(math.log(s) - math.log(value)))
        if math.isclose(nearest, value, rel_tol=1e-9):
            return nearest, None
        return nearest, f"not one of the slider's values; using the nearest, {nearest:g}"

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
        raise _Reject(f"not one of {', '.join(map(str, self.choices))}")

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
            return chosen, f"{', '.join(_shown(u) for u in unknown)} dropped (allowed {', '.join(map(str, self.choices))})"
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
        raise _Reject("not true/false (1/0)")

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
            raise _Reject(f"longer than {self.max_chars} characters or holds control characters")
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
            notes.append(f"{key}: a {len(raw)}-character value was ignored; using the default {fld.dump(fld.default)}")
            continue
        try:
            value, note = fld.parse(raw)
        except _Reject as why:
            notes.append(f"{key}={_shown(raw)} was ignored ({why}); using the default {fld.dump(fld.default)}")
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


# -- the app's schemas (keys are the pages' widget keys) --------------------------------------------

_D = TrainConfig()
def field_for(setting: Setting) -> Field:
    """The URL field of a training setting, from its one declaration (``leo_core.settings``)."""
    if setting.choices is not None:
        return ChoiceField(setting.default, tuple(setting.choices))
    if setting.stops is not None:
        return StepField(setting.default, tuple(setting.stops))
    if setting.kind is bool:
        return BoolField(setting.default)
    if setting.kind is int:
        return IntField(setting.default, int(setting.low), int(setting.high))
    return FloatField(setting.default, float(setting.low), float(setting.high))


TRAIN_SCHEMA: dict[str, Field] = {
    **{s.name: field_for(s) for s in TRAIN_SETTINGS if s.in_link},
    "curve_metric": ChoiceField(CURVES[0], CURVES),
    "preview_steps": ChoiceField(PREVIEW_STEPS[0], PREVIEW_STEPS),
}


def task_param_key(family: str, name: str) -> str:
    """The Adaptation page's slider (and query key) for one parameter of a regression family's task."""
    return f"adapt_param_{family}_{name}"


ADAPTATION_SCHEMA: dict[str, Field] = {
    "adapt_family": ChoiceField(_D.family, tuple(TASK_FAMILIES)),
    "adapt_shots": IntField(10, 1, 50),
    "adapt_steps": IntField(10, 0, 50),
    "adapt_alpha": StepField(0.01, ALPHAS),
    "adapt_source": ChoiceField(TASK_SOURCES[0], TASK_SOURCES),
    "adapt_task_seed": IntField(0, 0, 2**31 - 1),
    "adapt_points": TextField(DEFAULT_POINTS, max_chars=MAX_VALUE_CHARS, multiline=True),
    "pretrain_iterations": IntField(PRETRAIN_ITERATIONS, 50, 5000),
    "adapt_cls_shots": IntField(_D.shots, 1, 20),
    "adapt_cls_start": ChoiceField(START_KEYS[0], START_KEYS),
    "adapt_cls_query": IntField(0, 0, 20 * 19 - 1),  # the query image whose probabilities are drawn
    **{task_param_key(name, p): FloatField(round((lo + hi) / 2, 2), float(lo), float(hi))
       for name, fam in TASK_FAMILIES.items() for p, (lo, hi) in getattr(fam, "param_ranges", {}).items()},
}

LANDSCAPE_SCHEMA: dict[str, Field] = {
    "land_family": ChoiceField(_D.family, tuple(TASK_FAMILIES)),
    "land_tasks": IntField(5, 1, 10),
    "land_shown": IntField(1, 1, 10),  # at most land_tasks: the page lowers it
    "land_seed": IntField(0, 0, 2**31 - 1),
    "land_k": IntField(1, 0, 20),
    "land_alpha": StepField(0.01, LANDSCAPE_ALPHAS),
    "land_res_linear": IntField(61, 11, 101),
    "land_dirs": ChoiceField("random", tuple(DIRECTIONS)),
    "land_surface": ChoiceField("support", tuple(SURFACES)),
    "land_res_net": IntField(31, 11, 61),
    "land_3d": BoolField(False),
    "land_steps": IntField(10, 1, 30),
    "land_k_net": IntField(1, 0, 10),
    "land_alpha_net": StepField(0.01, LANDSCAPE_ALPHAS),
    "land_span": FloatField(1.0, 0.1, 3.0),
    "land_mg_algos": MultiChoiceField(arrow_keys(), arrow_keys()),
    "land_mg_frames": IntField(30, 2, 60),
}

COMPARE_SCHEMA: dict[str, Field] = {
    "eval_tasks": ChoiceField(100, EVAL_TASKS),
    "eval_steps": IntField(10, 1, 20),
    "eval_shots": MultiChoiceField((1, 5, 10), SHOT_CHOICES),
    "eval_seed": IntField(12345, 0, 10**6),
    "baseline_kind": ChoiceField(BASELINES[0], tuple(BASELINES)),
    "baseline_iterations": IntField(300, 10, 20_000),
    "sweep_alphas": TextField("0.003, 0.01, 0.03"),
    "sweep_ks": TextField("1, 3, 5"),
    "sweep_iterations": IntField(100, 10, 5000),
    "race": MultiChoiceField(RACE_DEFAULT, tuple(ALGORITHMS)),
    "race_family": ChoiceField(_D.family, tuple(TASK_FAMILIES)),
    "race_iterations": IntField(1000, 10, 20_000),
    "race_shots": IntField(_D.shots, 1, 50),
    "race_ways": IntField(_D.ways, 2, 20),
    "race_meta_batch": IntField(_D.meta_batch, 1, 200),
    "race_seed": IntField(0, 0, 2**31 - 1),
    "race_x": ChoiceField(RACE_X[0], RACE_X),
    **{race_override_key("alpha", a): ChoiceField(RECOMMENDED_CHOICE, RACE_ALPHAS) for a in ALGORITHMS},
    **{race_override_key("k", a): ChoiceField(RECOMMENDED_CHOICE, RACE_KS) for a in ALGORITHMS},
}

# App-wide keys, valid on every page.
GLOBAL_SCHEMA: dict[str, Field] = {
    "present": BoolField(False),
}

SCHEMAS: dict[str, dict[str, Field]] = {
    "train": TRAIN_SCHEMA,
    "adaptation": ADAPTATION_SCHEMA,
    "landscape": LANDSCAPE_SCHEMA,
    "compare": COMPARE_SCHEMA,
    "theory": {"theory_family": ChoiceField(_D.family, tuple(TASK_FAMILIES))},  # the measured table's family
}


def keys_of(pages: Sequence[str]) -> set[str]:
    """Every query key the given pages' schemas own (for clearing a page's stale keys)."""
    return {k for p in pages for k in SCHEMAS.get(p, {})}
