"""One declaration per setting: the CLI's flags, the URL fields and the Train page's widgets all come
from ``leo_core.settings``; the recommended table stays inside what a slider can hold."""

from __future__ import annotations

from dataclasses import fields

import pytest

from leo_app.url_state import SCHEMAS, BoolField, ChoiceField, IntField, StepField
from leo_core.cli import _config_from_flags, _parser
from leo_core.config import TrainConfig
from leo_core.tasks import TASK_FAMILIES
from leo_core.algorithms import ALGORITHMS
from leo_core.recommended import RECOMMENDED, TUNED_FIELDS, Recommendation, recommended_config, recommended_settings
from leo_core.settings import SETTINGS, TRAIN_SETTINGS


def test_every_config_field_is_declared_once():
    names = [s.name for s in TRAIN_SETTINGS]
    assert len(names) == len(set(names))
    assert set(names) == {f.name for f in fields(TrainConfig)}


@pytest.mark.parametrize("setting", [s for s in TRAIN_SETTINGS if s.in_link], ids=lambda s: s.name)
def test_the_link_field_is_made_from_the_declaration(setting):
    field = SCHEMAS["train"][setting.name]
    assert field.default == setting.default
    if isinstance(field, ChoiceField):
        assert field.choices == tuple(setting.choices)
    elif isinstance(field, StepField):
        assert field.steps == setting.stops
    elif isinstance(field, IntField):
        assert (field.lo, field.hi) == (setting.low, setting.high)
    else:
        assert isinstance(field, BoolField) or (field.lo, field.hi) == (setting.low, setting.high)


def test_every_cli_setting_has_its_flag():
    train = _parser()._subparsers._group_actions[0].choices["train"]
    flags = {opt for action in train._actions for opt in action.option_strings}
    assert {s.flag for s in TRAIN_SETTINGS if s.on_cli} <= flags
    assert "--optimizer" in flags  # the older name scripts use


@pytest.mark.parametrize("algorithm", sorted(RECOMMENDED))
def test_recommended_values_are_valid_and_reachable_by_the_widgets(algorithm):
    for family, rec in RECOMMENDED[algorithm].items():
        for name, value in rec.settings.items():
            assert name in TUNED_FIELDS
            setting = SETTINGS[name]
            if setting.in_link:
                assert setting.allows(value), f"{algorithm}/{family}: {name}={value} is not on the widget"
        recommended_config(family, algorithm)  # TrainConfig accepts the whole entry
        assert family in TASK_FAMILIES and algorithm in ALGORITHMS
        assert rec.result.strip() and "python" in rec.command and "repr(" not in rec.command + rec.result


def test_a_recommendation_may_not_set_the_problem():
    with pytest.raises(ValueError, match="may not set shots"):
        Recommendation({"shots": 5})


def test_cli_flags_left_out_take_the_recommended_settings():
    args = _parser().parse_args(["train", "--family", "digits", "--algorithm", "leo", "--k", "2", "--out", "x"])
    cfg, chosen = _config_from_flags(args)
    rec = recommended_settings("digits", "leo")
    assert chosen == {"k"} and cfg.k == 2
    assert (cfg.alpha, cfg.beta, cfg.meta_batch) == (rec["alpha"], rec["beta"], rec["meta_batch"])
