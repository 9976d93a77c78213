"""triggerml.fixed: parsing, known values, width rules, and the g++ ap_types equivalence."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

from triggerml.fixed import (
    FixedType,
    OverflowMode,
    QuantMode,
    parse_type,
    product_type,
    requantize,
    sum_type,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ap_fixed<16,6>", FixedType(16, 6)),
        ("ap_ufixed<8,0,AP_RND_CONV,AP_SAT>", FixedType(8, 0, False, "AP_RND_CONV", "AP_SAT")),
        ("fixed<16,6,RND,SAT,0>", FixedType(16, 6, True, "AP_RND", "AP_SAT")),
        ("ufixed<8,0,RND_CONV,SAT>", FixedType(8, 0, False, "AP_RND_CONV", "AP_SAT")),
        (
            "ap_fixed<10,4,AP_RND_CONV,AP_SAT_SYM,2>",
            FixedType(10, 4, True, "AP_RND_CONV", "AP_SAT_SYM", 2),
        ),
        ("ap_int<8>", FixedType(8, 8, True, is_int=True)),
        ("uint<5>", FixedType(5, 5, False, is_int=True)),
        (" ap_fixed< 8 , -3 > ", FixedType(8, -3)),
    ],
)
def test_parse_type_spellings(text: str, expected: FixedType) -> None:
    assert parse_type(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("ap_fixed<0,3>", "width must be at least 1"),
        ("fixed<8>", "need at least width and integer bits"),
        ("ap_fixed<8,3,AP_FOO>", "unknown QuantMode 'AP_FOO'"),
        ("ap_fixed<8,3,AP_RND,AP_BAR>", "unknown OverflowMode 'AP_BAR'"),
        ("ap_fixed<63,3>", "outside 1..62"),
        ("ap_fixed<8,x>", "integer bits must be an integer"),
        ("float<8,3>", "cannot parse"),
        ("ap_int<8,3>", "one parameter"),
        ("ap_fixed<8,3,AP_RND,AP_SAT,9>", "saturation bits 9"),
    ],
)
def test_bad_type_strings_name_the_problem(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_type(text)


def test_valid_modes_are_listed_in_the_error() -> None:
    with pytest.raises(ValueError, match="AP_RND_CONV"):
        parse_type("ap_fixed<8,3,AP_FOO>")


def test_round_trip_spellings() -> None:
    for text in [
        "ap_fixed<16,6,AP_TRN,AP_WRAP>",
        "ap_ufixed<8,0,AP_RND_CONV,AP_SAT,1>",
        "ap_int<12>",
        "ap_uint<3>",
    ]:
        ftype = parse_type(text)
        assert str(ftype) == text
        assert parse_type(ftype.hls4ml_str()) == ftype


def test_rounding_modes_on_ties() -> None:
    ties = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5])
    expected = {
        "AP_TRN": [-3, -2, -1, 0, 1, 2],
        "AP_TRN_ZERO": [-2, -1, 0, 0, 1, 2],
        "AP_RND": [-2, -1, 0, 1, 2, 3],
        "AP_RND_ZERO": [-2, -1, 0, 0, 1, 2],
        "AP_RND_MIN_INF": [-3, -2, -1, 0, 1, 2],
        "AP_RND_INF": [-3, -2, -1, 1, 2, 3],
        "AP_RND_CONV": [-2, -2, 0, 0, 2, 2],
    }
    for mode, values in expected.items():
        ftype = FixedType(8, 8, quant=QuantMode(mode))
        assert_array_equal(ftype.cast(ties), values, err_msg=mode)


def test_overflow_modes() -> None:
    values = np.array([-200.0, -128.0, 127.0, 128.0, 300.0])
    expected = {
        "AP_WRAP": [56, -128, 127, -128, 44],
        "AP_SAT": [-128, -128, 127, 127, 127],
        "AP_SAT_ZERO": [0, -128, 127, 0, 0],
        "AP_SAT_SYM": [-127, -127, 127, 127, 127],
    }
    for mode, result in expected.items():
        ftype = FixedType(8, 8, overflow=OverflowMode(mode))
        assert_array_equal(ftype.cast(values), result, err_msg=mode)


def test_unsigned_saturates_negative_to_zero() -> None:
    ftype = parse_type("ap_ufixed<6,2,AP_RND,AP_SAT>")
    assert_array_equal(ftype.cast([-1.0, 0.1, 3.99, 5.0]), [0.0, 0.125, 3.9375, 3.9375])


def test_integer_bits_outside_width() -> None:
    assert_array_equal(
        parse_type("ap_fixed<4,-2,AP_RND,AP_SAT>").cast([0.01, 1.0]), [2**-6 * 1, 7 * 2**-6]
    )
    assert_array_equal(
        parse_type("ap_fixed<4,6,AP_TRN,AP_WRAP>").cast([5.0, 13.0, 40.0]), [4.0, 12.0, -24.0]
    )


def test_ap_int_truncates_toward_zero_with_the_headers_quirk() -> None:
    # ap_int_base(double) maps a negative |x| < 0.5 to 1; the g++ sweep confirms it.
    assert_array_equal(
        parse_type("ap_int<8>").cast([-2.7, 2.7, -0.7, -0.3, 300.0]), [-2, 2, 0, 1, 44]
    )


def test_nan_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="NaN"):
        parse_type("ap_fixed<8,3>").cast([1.0, np.nan])


def test_infinity_behaves_like_the_headers() -> None:
    sat = parse_type("ap_fixed<8,3,AP_TRN,AP_SAT>")
    assert_array_equal(sat.cast([np.inf, -np.inf]), [sat.max_value, sat.min_value])
    assert_array_equal(parse_type("ap_fixed<8,3>").cast([np.inf]), [0.0])


def test_wide_types_keep_exact_mantissas() -> None:
    """62-bit mantissas are exact integers (a float64 result could not hold them)."""
    ftype = parse_type("ap_fixed<62,12,AP_TRN,AP_WRAP>")
    x = np.random.default_rng(7).normal(0, 3000, 500)
    expected = []
    for value in x:
        bits = math.floor(Fraction(float(value)) * 2**ftype.frac_bits) & (2**62 - 1)
        expected.append(bits - 2**62 if bits >= 2**61 else bits)
    assert ftype.mantissa(x).tolist() == expected


def test_mantissa_and_requantize_agree() -> None:
    src = parse_type("ap_fixed<20,8>")
    dst = parse_type("ap_fixed<8,3,AP_RND_CONV,AP_SAT>")
    x = np.random.default_rng(1).normal(0, 8, 5000)
    from_double = dst.mantissa(src.cast(x))
    from_mantissa = requantize(src.mantissa(x), src.frac_bits, dst)
    assert_array_equal(from_double, from_mantissa)


def test_width_rules_follow_rtype() -> None:
    a, b = parse_type("ap_fixed<8,3>"), parse_type("ap_ufixed<6,2>")
    assert product_type(a, b) == FixedType(14, 5, True)
    # plus: I = max(3, 2 + 1) + 1 = 4, F = max(5, 4) = 5
    assert sum_type(a, b) == FixedType(9, 4, True)
    c = parse_type("ap_ufixed<6,2>")
    assert sum_type(c, c) == FixedType(7, 3, False)


@settings(max_examples=200, deadline=None)
@given(
    width=st.integers(1, 30),
    integer=st.integers(-8, 40),
    signed=st.booleans(),
    quant=st.sampled_from(list(QuantMode)),
    overflow=st.sampled_from([OverflowMode.AP_SAT, OverflowMode.AP_SAT_SYM]),
    values=st.lists(st.floats(allow_nan=False, width=64), min_size=1, max_size=50),
)
def test_saturating_cast_is_idempotent_monotone_and_in_range(
    width: int,
    integer: int,
    signed: bool,
    quant: QuantMode,
    overflow: OverflowMode,
    values: list[float],
) -> None:
    ftype = FixedType(width, integer, signed, quant, overflow)
    x = np.sort(np.array(values))
    once = ftype.cast(x)
    assert_array_equal(ftype.cast(once), once)
    assert np.all(np.diff(once) >= 0)
    assert np.all((once >= ftype.min_value) & (once <= ftype.max_value))


def test_matches_cpp_ap_types_exactly(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The acceptance sweep: >= 1e6 conversions, every mode pair, 0 mismatches with g++."""
    from triggerml.fixed_check import run_check

    report = run_check(cache_dir=tmp_path_factory.mktemp("fixed_check"))
    assert report.cases >= 1_000_000
    assert report.types >= 280
    assert report.mismatches == 0, "\n".join(report.examples)


def test_sample_covers_every_mode_pair_and_shape() -> None:
    from triggerml.fixed_check import sample_types

    types = sample_types()
    pairs = {(t.quant, t.overflow, t.signed) for t in types if not t.is_int}
    assert len(pairs) == 7 * 4 * 2
    assert {t.width for t in types} >= set(range(1, 13))
    assert any(t.integer < 0 for t in types)
    assert any(t.integer > t.width for t in types)
    assert any(t.sat_bits > 0 for t in types)
    assert max(t.width for t in types) == 62


def test_type_fields_read_types_of_any_width() -> None:
    """The emulator reads wide result types (beyond int64) through the one parser."""
    from triggerml.fixed import type_fields

    assert type_fields("ap_ufixed<127,1,AP_TRN,AP_WRAP>") == (False, 127, 1)
    assert type_fields("fixed<16,6>") == (True, 16, 6)
    assert type_fields("ap_int<80>") == (True, 80, 80)
    with pytest.raises(ValueError, match="not a fixed-point"):
        type_fields("float")
