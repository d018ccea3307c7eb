import pytest

from aerospec.web.context import significant


@pytest.mark.parametrize(
    ("value", "kwargs", "expected"),
    [
        (-1966.7, {"signed": True}, "-1,967"),
        (7.5, {"signed": True}, "+7.5"),
        (0.040183, {}, "0.0402"),
        (60.0, {}, "60"),
        (2.5478, {}, "2.55"),
        (0, {}, "0"),
        (None, {}, "—"),
        (123456.0, {"digits": 2}, "123,456"),
    ],
)
def test_significant_figures_never_use_e_notation(value, kwargs, expected):
    assert significant(value, **kwargs) == expected
