"""The instrument-export reader: header spellings, both layouts, units, and a row error per unreadable cell."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aerospec.feedback.instrument import (
    InstrumentFileError,
    classify,
    decode,
    percentiles_from_distribution,
    read_instrument_csv,
)


@pytest.mark.parametrize(
    ("header", "kind"),
    [
        ("Dv10", "dv10_um"),
        ("Dv(10)", "dv10_um"),
        ("Dv 10 (µm)", "dv10_um"),
        ("D10", "dv10_um"),
        ("Dx(50)", "dv50_um"),
        ("x50", "dv50_um"),
        ("D(v,0.5)", "dv50_um"),
        ("D[v,0.9] [um]", "dv90_um"),
        ("Dv90 microns", "dv90_um"),
        ("SMD", "smd_um"),
        ("D[3,2]", "smd_um"),
        ("D(3,2) (μm)", "smd_um"),
        ("Sauter mean diameter", "smd_um"),
        ("Size (µm)", "size"),
        ("Particle Size", "size"),
        ("Diameter [mm]", "size"),
        ("Volume %", "density"),
        ("Volume In %", "density"),
        ("q3 (%)", "density"),
        ("Q3 (%)", "cumulative"),
        ("Cumulative volume (%)", "cumulative"),
        ("Undersize %", "cumulative"),
        ("% passing", "cumulative"),
        ("Sample Name", None),
        ("Date", None),
        ("Transmission (%)", None),
    ],
)
def test_header_spellings(header, kind):
    column = classify(header)
    assert (column.kind if column else None) == kind


def test_a_header_in_mm_converts_to_um_and_none_means_um():
    assert classify("Dv50 (mm)").to_um == 1000.0
    assert classify("Dv50 [µm]").to_um == 1.0
    assert classify("Dv50").to_um == 1.0


def test_percentile_table_with_metadata_preamble_and_repeat_runs_gives_the_mean():
    text = (
        "Instrument,Spraytec\nOperator,R. Franklin\n\n"
        'Run,Dv(10) (µm),Dv(50) (µm),Dv(90) (µm),"D[3,2] (µm)",Date\n'
        "1,22.0,61.0,129.0,40.0,2026-12-01\n2,24.0,62.0,131.0,42.0,2026-12-01\n3,23.0,63.0,133.0,41.0,2026-12-01\n"
    )
    reading = read_instrument_csv(text.encode())
    assert reading.values() == {"dv10_um": 23.0, "dv50_um": 62.0, "dv90_um": 131.0, "smd_um": 41.0}
    assert reading.layout == "percentiles" and reading.rows == 3
    assert "mean of 3 runs" in reading.summary()


def test_semicolon_file_with_decimal_commas_in_mm():
    reading = read_instrument_csv(b"Dv10 (mm);Dv50 (mm);Dv90 (mm)\n0,022;0,0615;0,13\n")
    assert reading.dv10_um == pytest.approx(22.0, rel=1e-12)
    assert reading.dv50_um == pytest.approx(61.5, rel=1e-12)
    assert reading.dv90_um == pytest.approx(130.0, rel=1e-12)


def test_tab_separated_utf16_export():
    data = "D10\tD50\tD90\r\n20.5\t55.25\t120\r\n".encode("utf-16")
    assert read_instrument_csv(data).values() == {"dv10_um": 20.5, "dv50_um": 55.25, "dv90_um": 120.0}


def test_parameter_value_listing_with_units_per_line():
    text = "Sample,nasal pump 3\nDv(10),22.1,µm\nDv(50),0.0615,mm\nDv(90),130\nSMD,40.5,um\n"
    reading = read_instrument_csv(text.encode())
    assert reading.values() == pytest.approx({"dv10_um": 22.1, "dv50_um": 61.5, "dv90_um": 130.0, "smd_um": 40.5})


def test_row_errors_name_the_line_and_the_cell():
    text = "Size (µm);Volume %\n1;0\n2;5\n4;20\n8;30\n16;30\n1,2e;10\n32;x\n"
    with pytest.raises(InstrumentFileError) as caught:
        read_instrument_csv(text.encode())
    assert caught.value.errors == ["row 7: size '1,2e' is not a number", "row 8: volume 'x' is not a number"]


def test_percentile_row_errors_in_line_order_and_an_empty_cell():
    text = "Dv10,Dv50,Dv90\n22,61,130\n22,abc,130\n,60,128\n"
    with pytest.raises(InstrumentFileError) as caught:
        read_instrument_csv(text.encode())
    assert caught.value.errors == ["row 3: Dv50 'abc' is not a number", "row 4: Dv10 is empty"]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"%PDF-1.7\x00\x00binary", "not a text (CSV) file"),
        (b"Name,Date\nA,2026-12-01\n", "no column for Dv10"),
        (b"Dv10,Dv50\n", "no data rows"),
        (b"Dv10,Dv50,Dv90\n70,60,130\n", "Dv10 (70 µm) is above Dv50 (60 µm)"),
        (b"Dv50\n-3\n", "must be above 0"),
        (b"Size,Volume %\n10,50\n", "at least two size classes"),
        (b"Size,Volume %\n10,20\n20,20\n", "add up to 40"),
        (b"Size,Cumulative %\n10,20\n20,10\n30,100\n", "falls as size rises"),
        (b"Size,Cumulative %\n10,20\n20,60\n30,80\n", "ends at 80"),
        (b"Size,Volume %\n10,30\n20,70\n", "Dv10 lies inside the first size class"),
        (b"Size,Volume %\n10,0\n10,50\n20,50\n", "listed twice"),
    ],
)
def test_files_that_cannot_be_read_say_why(data, words):
    with pytest.raises(InstrumentFileError) as caught:
        read_instrument_csv(data)
    assert words in str(caught.value)


def test_a_file_wrong_on_every_line_lists_fifty_then_counts_the_rest():
    text = "Dv50\n" + "x\n" * 80
    with pytest.raises(InstrumentFileError) as caught:
        read_instrument_csv(text.encode())
    assert len(caught.value.errors) == 51 and caught.value.errors[-1] == "and 30 more rows that cannot be read"


def test_density_and_cumulative_tables_of_one_distribution_agree():
    sizes = [5, 10, 20, 40, 80, 160, 320]
    density = [0, 5, 10, 25, 30, 20, 10]
    cumulative = [sum(density[: i + 1]) for i in range(len(density))]
    a = percentiles_from_distribution(sizes, density)
    b = percentiles_from_distribution(sizes, cumulative, cumulative=True)
    for key in ("dv10_um", "dv50_um", "dv90_um"):
        assert a[key] == pytest.approx(b[key], rel=1e-12)
    # cumulative 5 % at 10 µm and 15 % at 20 µm: 10 % is half way in ln(size) → √(10·20)
    assert a["dv10_um"] == pytest.approx(math.sqrt(200.0), rel=1e-12)
    assert a["dv90_um"] == pytest.approx(160.0, rel=1e-12)  # exactly 90 % at 160 µm
    assert b["smd_um"] is None and a["smd_um"] is not None


def test_sauter_mean_of_a_single_occupied_class_is_its_geometric_mean():
    got = percentiles_from_distribution([10, 20, 40], [0, 100, 0])
    assert got["smd_um"] == pytest.approx(math.sqrt(200.0), rel=1e-12)


def test_fractions_read_like_percentages_and_order_of_rows_does_not_matter():
    sizes = [320, 5, 80, 10, 40, 20, 160]
    density = [10, 0, 30, 5, 25, 10, 20]
    as_fraction = [d / 100 for d in density]
    a = percentiles_from_distribution(sizes, density)
    b = percentiles_from_distribution(sizes, as_fraction)
    assert a == pytest.approx(b, rel=1e-12)


def test_a_distribution_in_mm_gives_the_same_percentiles_in_um():
    um = "Size (µm),Volume %\n" + "\n".join(f"{s},{v}" for s, v in [(5, 0), (10, 5), (20, 10), (40, 25), (80, 60)])
    mm = "Size (mm),Volume %\n" + "\n".join(
        f"{s / 1000},{v}" for s, v in [(5, 0), (10, 5), (20, 10), (40, 25), (80, 60)]
    )
    a, b = read_instrument_csv(um), read_instrument_csv(mm)
    assert a.layout == b.layout == "distribution"
    assert a.values() == pytest.approx(b.values(), rel=1e-9)


def test_decode_reads_a_bom_and_windows_1252():
    assert decode("\ufeffDv50 (µm)\n".encode()) == "Dv50 (µm)\n"
    assert decode("Dv50 (µm)\n".encode("cp1252")) == "Dv50 (µm)\n"


# ---- properties


@st.composite
def distributions(draw):
    n = draw(st.integers(min_value=3, max_value=40))
    edges = sorted(draw(st.lists(st.floats(0.1, 3000), min_size=n, max_size=n, unique=True)))
    assume_gap = all(b / a > 1.0001 for a, b in zip(edges, edges[1:], strict=False))
    weights = draw(st.lists(st.floats(0, 100), min_size=n - 1, max_size=n - 1))
    weights = [0.0, *weights]  # nothing below the first size: every percentile is inside the table
    return edges, weights, assume_gap


@settings(max_examples=200, deadline=None)
@given(distributions())
def test_percentiles_of_any_distribution_are_ordered_and_inside_the_table(case):
    sizes, weights, distinct = case
    if not distinct or sum(weights) <= 0:
        return
    total = sum(weights)
    density = [100 * w / total for w in weights]
    got = percentiles_from_distribution(sizes, density)
    assert sizes[0] <= got["dv10_um"] <= got["dv50_um"] <= got["dv90_um"] <= sizes[-1]
    assert sizes[0] <= got["smd_um"] <= sizes[-1]
    # scaling every size scales every percentile by the same factor
    scaled = percentiles_from_distribution([s * 1000 for s in sizes], density)
    for key in ("dv10_um", "dv50_um", "dv90_um", "smd_um"):
        assert scaled[key] == pytest.approx(got[key] * 1000, rel=1e-9)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.1, 5000), min_size=3, max_size=3).map(sorted), st.sampled_from([",", ";", "\t"]))
def test_any_percentile_row_round_trips(values, delimiter):
    dv10, dv50, dv90 = values
    text = delimiter.join(["Dv(10) [µm]", "Dv(50) [µm]", "Dv(90) [µm]"]) + "\n"
    text += delimiter.join(repr(v) for v in values) + "\n"
    assert read_instrument_csv(text).values() == {"dv10_um": dv10, "dv50_um": dv50, "dv90_um": dv90}


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400))
def test_any_bytes_give_a_reading_or_row_errors_never_a_crash(data):
    try:
        reading = read_instrument_csv(data)
    except InstrumentFileError as error:
        assert error.errors and all(isinstance(e, str) and e for e in error.errors)
    else:
        assert reading.values()
