"""Every numeric field of the ECO and STRCF configs (and the shared adaptation and
found/lost fields) is
validated in ``__post_init__`` with a ConfigError naming the field and its allowed
range (issue 12, item 4)."""

from __future__ import annotations

import dataclasses
import math
import typing

import pytest

import fastcf
from fastcf.cli.main import main
from fastcf.errors import ConfigError
from fastcf.trackers.adaptation import ADAPTATION_RANGES
from fastcf.trackers.confidence import CONFIDENCE_RANGES
from fastcf.trackers.eco.config import ECO_RANGES, ECOConfig
from fastcf.trackers.ranges import Range, describe
from fastcf.trackers.strcf.config import STRCF_RANGES, STRCFConfig

CONFIGS = {ECOConfig: ECO_RANGES, STRCFConfig: STRCF_RANGES}


def _bad_values(rng: Range) -> list[object]:
    """Values just outside ``rng`` (and values of the wrong kind)."""
    bad: list[object] = [math.nan, True]
    if rng.low > -math.inf:
        bad.append(rng.low if rng.low_open else rng.low - 1)
    if rng.high < math.inf:
        bad.append(rng.high if rng.high_open else rng.high + 1)
    elif rng.high_open:
        bad.append(math.inf)
    if rng.integer:
        bad.append((rng.low if rng.low > -math.inf else 0) + 1.5)
    if not rng.none_ok:
        bad.append(None)
    return bad


def _closed_ends(rng: Range) -> list[float]:
    ends = []
    if rng.low > -math.inf and not rng.low_open:
        ends.append(rng.low)
    if not rng.high_open:
        ends.append(rng.high)
    return [int(v) if rng.integer else v for v in ends]


def _cases(with_values):
    cases = []
    for cls, table in CONFIGS.items():
        for name, rng in {**table, **ADAPTATION_RANGES, **CONFIDENCE_RANGES}.items():
            for value in with_values(rng):
                cases.append(
                    pytest.param(cls, name, rng, value, id=f"{cls.__name__}.{name}={value}")
                )
    return cases


def _with(cls, name, value):
    default = getattr(cls(), name)
    if isinstance(default, tuple):  # per-layer fields: every element
        value = (value,) * max(len(default), 1)
    return cls(**{name: value})


@pytest.mark.parametrize("cls, name, rng, value", _cases(_bad_values))
def test_values_outside_the_range_are_refused_naming_field_and_range(cls, name, rng, value):
    with pytest.raises(ConfigError) as info:
        _with(cls, name, value)
    text = str(info.value)
    assert f"{cls.__name__}.{name}" in text and f"must be {describe(rng)}" in text, text


@pytest.mark.parametrize("cls, name, rng, value", _cases(_closed_ends))
def test_closed_ends_of_each_range_are_accepted(cls, name, rng, value):
    config = _with(cls, name, value)
    got = getattr(config, name)
    assert (got[0] if isinstance(got, tuple) else got) == value


def _numeric_fields(cls) -> set[str]:
    hints = typing.get_type_hints(cls)
    out = set()
    for f in dataclasses.fields(cls):
        hint = hints[f.name]
        args = set(typing.get_args(hint)) - {type(None), Ellipsis}
        if hint in (int, float) or (args and args <= {int, float}):
            out.add(f.name)
    return out - {"threads"}  # TrackerSettings checks threads (tests/test_threads.py)


@pytest.mark.parametrize("cls", [ECOConfig, STRCFConfig])
def test_every_numeric_field_has_a_range(cls):
    covered = set(CONFIGS[cls]) | set(ADAPTATION_RANGES) | set(CONFIDENCE_RANGES)
    assert _numeric_fields(cls) - covered == set()
    assert covered - _numeric_fields(cls) == set()  # no stale entries


def test_the_replayed_learning_rate_is_refused_everywhere(capsys, tmp_path):
    with pytest.raises(ConfigError, match=r"ECOConfig.learning_rate must be in \(0, 1\), got 1.0"):
        ECOConfig(learning_rate=1.0)
    with pytest.raises(ConfigError, match="learning_rate"):
        fastcf.create("feco", learning_rate=0.0)
    rc = main(
        ["track", "--demo", "--max-frames", "2", "--quiet", "--tracker", "eco-hc"]
        + ["--set", "learning_rate=1.0", "--out", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "learning_rate must be in (0, 1)" in err and "Traceback" not in err


def test_a_weight_tuple_of_the_wrong_length_is_one_line_with_status_2(capsys, tmp_path):
    rc = main(
        ["track", "--demo", "--max-frames", "2", "--quiet", "--tracker", "eco-hc"]
        + ["--set", "appearance_weights=1,2,3", "--out", str(tmp_path)]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "appearance_weights must be a tuple of 4 numbers" in err
    assert "Traceback" not in err and not (tmp_path / "track.csv").exists()


def test_cross_field_rules_name_both_fields():
    with pytest.raises(ConfigError, match="min_image_sample_size .* exceeds max_image_sample_size"):
        ECOConfig(min_image_sample_size=400.0**2)
    with pytest.raises(ConfigError, match="reg_window_edge .* reg_window_min"):
        ECOConfig(reg_window_min=0.1, reg_window_edge=0.01)
    with pytest.raises(ConfigError, match="reg_window_min .* exceeds reg_window_max"):
        STRCFConfig(reg_window_min=10.0, reg_window_max=1.0)


def test_every_registered_eco_and_strcf_preset_is_valid():
    names = [n for n in fastcf.available() if not n.startswith("opencv")]
    assert {"eco-hc", "eco", "feco", "strcf", "deepstrcf", "fdeepstrcf"} <= set(names)
    for name in names:
        config = fastcf.get_config(name)  # __post_init__ ran: the preset is in range
        assert isinstance(config, ECOConfig | STRCFConfig), name


def test_adaptation_fields_are_checked_even_with_adaptation_off():
    with pytest.raises(
        ConfigError, match=r"STRCFConfig.adapt_distractor_ratio must be in \(0, 1\)"
    ):
        STRCFConfig(online_adaptation=False, adapt_distractor_ratio=1.0)
    ECOConfig(online_adaptation=False, adapt_layers=())  # layers matter only when on
    with pytest.raises(ConfigError, match="adapt_layers is empty"):
        ECOConfig(online_adaptation=True, adapt_layers=())


def test_feco_accurate_is_feco_with_wider_projections_and_ecos_sample_count():
    # the frontier's accurate point: the CNN blocks' projected dims and the number of
    # stored samples (ECO's 50, feco 30) are all that differ from feco
    from dataclasses import asdict

    base, acc = asdict(fastcf.get_config("feco")), asdict(fastcf.get_config("feco-accurate"))
    diff = {k for k in base if base[k] != acc[k]}
    assert diff == {"cnn_compressed_dims", "n_samples"}
    assert acc["cnn_compressed_dims"] == (8, 32) and base["cnn_compressed_dims"] == (3, 12)
    assert acc["n_samples"] == 50 and base["n_samples"] == 30
