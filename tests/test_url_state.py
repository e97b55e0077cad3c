"""Page settings in the URL: round trips, clamping, snapping, and garbage that must never raise."""

from __future__ import annotations

import pytest

from leo_core.config import TrainConfig
from leo_app.presets import PRESETS
from leo_app.url_state import (ALPHAS, BETAS, GLOBAL_SCHEMA, MAX_VALUE_CHARS, SCHEMAS, BoolField, ChoiceField, IntField,
                                MultiChoiceField, StepField, TextField, parse, serialise)

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
    as_widgets_hold = {k: list(f.default) if isinstance(f, MultiChoiceField) else f.default for k, f in schema.items()}
    assert result.notes == [] and result.values == as_widgets_hold


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


def test_choices_of_numbers_come_back_as_numbers():
    f = ChoiceField(100, (50, 100, 200))
    assert f.parse(" 200 ") == (200, None)
    with pytest.raises(Exception, match="not one of 50, 100, 200"):
        f.parse("150")


def test_a_multiselect_keeps_known_items_in_the_widget_order_and_says_what_it_dropped():
    f = MultiChoiceField((1, 5), (1, 2, 5, 10))
    assert f.parse("10,1,1") == ([1, 10], None)
    chosen, note = f.parse("5,x,3")
    assert chosen == [5] and "'x'" in note and "'3'" in note
    assert f.parse("") == ([], None)
    schema = {"shots": f}
    assert serialise(schema, {"shots": [1, 5]}) == {}  # the default, as the widget holds it (a list)
    assert parse(schema, serialise(schema, {"shots": [2, 10]})).values == {"shots": [2, 10]}


def test_line_breaks_only_in_a_multiline_text():
    assert TextField("", multiline=True).parse("1, 2\n3, 4") == ("1, 2\n3, 4", None)
    for raw in ("1, 2\n3, 4", "a\tb"):
        with pytest.raises(Exception, match="control characters"):
            TextField("").parse(raw)
    with pytest.raises(Exception, match="control characters"):
        TextField("", multiline=True).parse("a\x00b")


_NOT_SETTINGS = {"button", "download_button", "file_uploader", "bidi_component", "component_instance"}


def _drawn_widget_keys(node, out: set[str]) -> set[str]:
    """The keys of the input widgets a page drew (AppTest's element tree): what a link has to carry."""
    key, kind = getattr(node, "key", None), getattr(node, "type", None)
    if key and kind not in _NOT_SETTINGS and hasattr(type(node), "value"):  # an input (a container has no value)
        out.add(key)
    children = getattr(node, "children", None)
    for child in (children.values() if isinstance(children, dict) else ()):
        _drawn_widget_keys(child, out)
    return out


# Widgets that are not settings of the view: a menu that applies a preset, the runs collected in this
# session and the runs list (runs are in a link by their run id), the sidebar's own controls.
NOT_IN_THE_LINK = {"preset_choice", "compare_runs", "present", "image_format", "runs_pick", "runs_compare", "runs_shown"}


@pytest.mark.parametrize("page", ["train", "adaptation", "landscape", "compare"])
def test_every_setting_a_page_draws_is_in_its_link(app, page):
    """Every input widget the page draws (read from the page as it runs, not from its source) has a URL field."""
    app.number_input(key="iterations").set_value(4).run()  # a short run, so Adaptation and Landscape draw it
    app.button(key="btn_start").click().run()
    assert app.session_state["leo_runner"].join(60)
    app.run()
    if page != "train":
        app.switch_page(f"pages/{page}.py").run()
    drawn = _drawn_widget_keys(app._tree, set())
    assert len(drawn) > 3, drawn  # the page drew its settings
    missing = drawn - set(SCHEMAS[page]) - set(GLOBAL_SCHEMA) - NOT_IN_THE_LINK
    assert not missing, f"{page}: settings that a shared link would lose: {sorted(missing)}"


def test_every_task_parameter_slider_is_in_the_link():
    from leo_core.tasks import TASK_FAMILIES
    from leo_app.url_state import task_param_key

    for name, family in TASK_FAMILIES.items():
        for param, (lo, hi) in getattr(family, "param_ranges", {}).items():
            field = SCHEMAS["adaptation"][task_param_key(name, param)]
            assert (field.lo, field.hi) == (lo, hi)


@pytest.mark.parametrize("key", [k for k, p in PRESETS.items() if p.checkpoint_iterations])
def test_every_shipped_preset_checkpoint_is_the_presets_run(key):
    """The checkpoint a preset loads was trained with the preset's settings, for the iterations it declares."""
    from leo_app.presets import preset_checkpoint
    from leo_core.checkpoint import load_checkpoint

    ckpt = load_checkpoint(preset_checkpoint(key))
    assert ckpt.iteration == ckpt.config.iterations == PRESETS[key].checkpoint_iterations
    differ = {k: (v, getattr(ckpt.config, k)) for k, v in PRESETS[key].settings.items()
              if k != "iterations" and getattr(ckpt.config, k) != v}
    assert not differ, differ


def test_a_link_key_this_page_does_not_use_gets_a_note(app):
    """/adaptation?steps=-5&alpha=nan: neither is an Adaptation setting; the page says so instead of dropping them."""
    app.query_params["steps"] = "-5"
    app.query_params["alpha"] = "nan"
    app.switch_page("pages/adaptation.py").run()
    text = " ".join(w.value for w in app.warning)
    assert "steps='-5' was ignored" in text and "'adapt_steps'" in text
    assert "alpha='nan' was ignored here: it is a setting of the Train page" in text
