"""The rules document and decisions, with the guardrails."""

from __future__ import annotations

import copy

import pytest

from audience.rules import RULES_EXAMPLE, InvalidRulesError, decide, parse_rules
from audience.tracker import Track

GROUPS = ("child", "teen", "adult", "senior")


def track(gender="Female", age=31.0, group="adult", *, attentive=True, confidence=95.0, classified=True) -> Track:
    t = Track("t", 0.0, 0.0, [0.5, 0.5, 0.1, 0.1])
    if classified:
        t.gender_votes, t.gender_frames = {gender: confidence}, 1
        t.age_group_votes = {group: 1}
        t.age_sum, t.classified_frames = age, 1
    t.last_attentive = attentive
    t.attentive_frames = int(attentive)
    return t


RULES = parse_rules(RULES_EXAMPLE, GROUPS)


def test_the_example_is_valid_and_ordered_by_priority():
    assert RULES.version == "2026-11-27.1"
    assert [r.name for r in RULES.rules] == ["women", "men", "seniors"]
    assert RULES.displays_of("door-2") == ["lobby-1"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("Version"), "Version"),
        (lambda d: d.update(Default=""), "Default"),
        (lambda d: d.update(Displays={}), "Displays"),
        (lambda d: d["Rules"][0]["When"].update(Genders=["Other"]), "Genders"),
        (lambda d: d["Rules"][0]["When"].update(AgeGroups=["toddler"]), "AgeGroups"),
        (lambda d: d["Rules"][1].update(Name="women"), "unique"),
        (lambda d: d.update(MinimumConfidence=20), "MinimumConfidence"),
        (lambda d: d.update(MinorAgeMarginYears=-1), "MinorAgeMarginYears"),
        (lambda d: d.update(Targeting="on"), "unknown fields"),
    ],
)
def test_invalid_documents_say_what_is_wrong(change, message):
    doc = copy.deepcopy(RULES_EXAMPLE)
    change(doc)
    with pytest.raises(InvalidRulesError, match=message):
        parse_rules(doc, GROUPS)
    with pytest.raises(InvalidRulesError, match="not JSON"):
        parse_rules("{", GROUPS)


def test_a_matching_audience_gets_its_creative():
    decision = decide("lobby-1", [track()], RULES, None, 100.0)
    assert (decision.creative, decision.rule, decision.reason) == ("new-season", "women", "rule")
    assert decide("lobby-1", [track("Male", 70, "senior")], RULES, None, 0).creative == "comfort-shoes"
    assert decide("lobby-1", [], RULES, None, 0).creative == "house-ad"


def test_only_classified_confident_attentive_faces_count():
    for face in (track(attentive=False), track(confidence=60.0), track(classified=False)):
        decision = decide("lobby-1", [face], RULES, None, 0)
        assert decision.creative == "house-ad"
        assert decision.faces_counted == 0


@pytest.mark.parametrize("age", [8.0, 17.9, 19.5])  # under 18, and under 18 + the 2-year margin
def test_no_targeting_when_anyone_appears_to_be_a_minor(age):
    audience = [track(), track("Male", 70, "senior"), track(age=age, group="teen", attentive=False)]
    current = decide("lobby-1", [track()], RULES, None, 0.0)
    assert current.creative == "new-season"
    decision = decide("lobby-1", audience, RULES, current, 1.0)  # within the minimum play time: no hold
    assert (decision.creative, decision.reason) == ("house-ad", "minor-present")


def test_a_creative_holds_for_the_minimum_play_time():
    playing = decide("lobby-1", [track()], RULES, None, 0.0)
    held = decide("lobby-1", [], RULES, playing, 5.0)
    assert (held.creative, held.reason, held.since) == ("new-season", "held", 0.0)
    after = decide("lobby-1", [], RULES, playing, 10.0)
    assert (after.creative, after.since) == ("house-ad", 10.0)
