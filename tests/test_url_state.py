"""Page settings in the URL: round trips, clamping, snapping, and garbage that must never raise."""

from __future__ import annotations

import pytest

from leo_core.config import TrainConfig
from leo_core.presets import PRESETS
from leo_core.url_state import (ALPHAS, BETAS, GLOBAL_SCHEMA, MAX_VALUE_CHARS, SCHEMAS, BoolField, IntField,
                                StepField, parse, serialise)

TRAIN = SCHEMAS["train"]


def test_defaults_serialise_to_an_empty_query():
    for schema in SCHEMAS.values():
        assert serialise(schema, {k: f.default for k, f in schema.items()}) == {}


def test_round_trip_of_non_default_values():
    values = dict(family="linear", algorithm="leo-fo", alpha=0.05, beta=0.01, k=3, shots=5, query=20, meta_batch=7,
                  iterations=1234, seed=42, device="cpu", outer_optimizer="sgd", outer_loss="support",
                  first_order=True, ways=3)
    query = serialise(TRAIN, values)
    assert all(isinstance(v, str) for v in query.values())
    result = parse(TRAIN, query)
    assert result.notes == [] and result.values == values


@pytest.mark.parametrize("page", list(SCHEMAS))
def test_every_default_parses_back_unchanged(page):
    schema = SCHEMAS[page]
    raw = {k: f.dump(f.default) for k, f in schema.items()}
    result = parse(schema, raw)
    assert result.notes == [] and result.values == {k: f.default for k, f in schema.items()}


def test_out_of_range_numbers_are_clamped_with_a_note():
    result = parse(TRAIN, {"k": "-5", "shots": "1000", "meta_batch": "0"})
    assert result.values == {"k": 0, "shots": 50, "meta_batch": 1}
    assert len(result.notes) == 3 and all("clamped" in n for n in result.notes)


def test_a_value_between_slider_steps_snaps_to_the_nearest_on_a_log_scale():
    result = parse(TRAIN, {"alpha": "0.011", "beta": "1e9"})
    assert result.values == {"alpha": 0.01, "beta": BETAS[-1]}
    assert len(result.notes) == 2
    assert parse(TRAIN, {"alpha": "-1"}).values == {"alpha": ALPHAS[0]}


@pytest.mark.parametrize("key,raw", [
    ("alpha", "abc"), ("alpha", "nan"), ("alpha", "inf"), ("alpha", "-inf"), ("k", "1.5"), ("k", "NaN"),
    ("iterations", "1e400"), ("family", "<script>alert(1)</script>"), ("algorithm", "maml; rm -rf"),
    ("first_order", "maybe"), ("device", ""), ("seed", "0x10"), ("outer_loss", "QUERY"),
])
def test_garbage_is_refused_with_a_note_and_the_default_kept(key, raw):
    result = parse(TRAIN, {key: raw})
    assert key not in result.values
    assert len(result.notes) == 1 and key in result.notes[0] and "default" in result.notes[0]


def test_huge_values_are_clamped_or_refused_without_parsing_them():
    assert parse(TRAIN, {"seed": "9" * 150}).values == {"seed": 2**31 - 1}
    long = parse(TRAIN, {"seed": "9" * (MAX_VALUE_CHARS + 1)})
    assert long.values == {} and "character" in long.notes[0]


def test_notes_quote_bad_values_shortly():
    result = parse(TRAIN, {"family": "x" * 150})
    assert len(result.notes[0]) < 200


def test_repeated_keys_use_the_last_value_and_unknown_keys_are_ignored():
    result = parse(TRAIN, {"k": ["2", "3"], "unknown": "1", "land_seed": "3"})
    assert result.values == {"k": 3} and result.notes == []


def test_bool_spellings():
    f = BoolField(False)
    assert [f.parse(v)[0] for v in ("1", "true", "YES", "on", "0", "false", "off")] == [True] * 4 + [False] * 3


def test_fields_directly():
    assert IntField(1, 0, 10).parse("7.0") == (7, None)
    assert StepField(0.01, ALPHAS).parse("0.01") == (0.01, None)


def test_schema_defaults_match_the_config_defaults():
    d = TrainConfig()
    for key in ("family", "algorithm", "alpha", "beta", "k", "shots", "query", "meta_batch", "iterations", "seed",
                "outer_optimizer", "outer_loss", "first_order", "ways"):
        assert TRAIN[key].default == getattr(d, key), key
    assert "present" in GLOBAL_SCHEMA


@pytest.mark.parametrize("key", list(PRESETS))
def test_every_preset_is_valid_for_the_train_page_and_the_config(key):
    settings = PRESETS[key].settings
    assert set(settings) <= set(TRAIN)
    result = parse(TRAIN, serialise(TRAIN, settings))
    assert result.notes == []
    TrainConfig(**settings)
