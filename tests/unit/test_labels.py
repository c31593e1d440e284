import numpy as np
import pytest

from agegender import labels
from agegender.exceptions import InvalidAgeGroupTableError


def test_default_groups_cover_every_age_once():
    table = labels.DEFAULT_AGE_GROUPS
    assert table.names == ("child", "teen", "adult", "senior")
    assert [table.group_of(a) for a in (0, 12, 12.4, 12.6, 19, 20, 59, 60, 116)] == [
        "child", "child", "child", "teen", "teen", "adult", "adult", "senior", "senior",
    ]  # fmt: skip


def test_parse_round_trips_and_validates():
    spec = "kid:0-9,young:10-29,older:30-"
    assert labels.AgeGroupTable.parse(spec).spec() == spec
    for bad in ("kid:0-9,young:11-", "kid:1-9,older:10-", "kid:0-9,older:10-20", "kid0-9", "", "a:0-x"):
        with pytest.raises(InvalidAgeGroupTableError):
            labels.AgeGroupTable.parse(bad)


def test_adience_gaps_go_to_the_nearer_group():
    table = labels.ADIENCE_GROUPS
    assert len(table.names) == 8
    expected = {0: "0-2", 2: "0-2", 3: "4-6", 7: "8-12", 13: "8-12", 14: "15-20", 22: "15-20", 23: "25-32",
                34: "25-32", 35: "38-43", 45: "38-43", 46: "48-53", 56: "48-53", 57: "60-", 90: "60-"}  # fmt: skip
    assert {age: table.group_of(age) for age in expected} == expected


def test_age_statistics_of_known_distributions():
    probs = np.zeros((3, labels.MAX_AGE + 1))
    probs[0, 30] = 1.0
    probs[1, [20, 40]] = 0.5
    probs[2, [10, 20]] = [2.0, 2.0]  # unnormalised, as quantised outputs may be
    mean, std = labels.age_statistics(probs)
    np.testing.assert_allclose(mean, [30, 30, 15])
    np.testing.assert_allclose(std, [0, 10, 5])


def test_age_range_is_ordered_clipped_and_at_least_two_years():
    assert labels.age_range(30.4, 4.0) == (26, 35)
    assert labels.age_range(0.3, 0.1) == (0, 2)
    assert labels.age_range(99.5, 5.0) == (94, 100)
    low, high = labels.age_range(50.0, 0.0)
    assert high - low >= 2


@pytest.mark.parametrize(("p", "expected"), [(0.9, ("Female", 90.0)), (0.2, ("Male", 80.0)), (0.5, ("Female", 50.0))])
def test_gender_decision(p, expected):
    label, confidence = labels.gender_decision(p)
    assert label == expected[0]
    assert confidence == pytest.approx(expected[1])
