"""The rules document and decisions, with the guardrails."""

from __future__ import annotations

import copy
import json

import pytest

from audience.camera import Presence
from audience.rules import RULES_EXAMPLE, InvalidRulesError, Rules, parse_rules
from audience.rules import decide as decide_for
from audience.tracker import Track

GROUPS = ("child", "teen", "adult", "senior")


def track(
    gender="Female", age=31.0, group="adult", *, attentive=True, confidence=95.0, classified=True, low=None
) -> Track:
    t = Track("t", 0.0, 0.0, [0.5, 0.5, 0.1, 0.1])
    if classified:
        t.gender_votes, t.gender_frames = {gender: confidence}, 1
        t.age_group_votes = {group: 1}
        t.age_sum, t.classified_frames = age, 1
        t.youngest = age - 6 if low is None else low
        t.last_age_known = True
    t.last_attentive = attentive
    t.attentive_frames = int(attentive)
    return t


MINORS = ("child", "teen")


def decide(display, present, rules, current, now, *, crowded=False, frame_missing=False):
    cameras = rules.camera_set_of(display)
    return decide_for(cameras, Presence(present, now, crowded, frame_missing), rules, current)


RULES = parse_rules(RULES_EXAMPLE, GROUPS, MINORS)


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


@pytest.mark.parametrize(
    "present",
    [
        track(classified=False),  # too small to classify: its age is unknown
        track(age=31.0, low=16.0),  # the low end of its age range is under 18
        track(age=29.9, group="adult", low=25.0),  # a mean of 29.9 ...
        track(age=float("nan")),  # an age that is no number
    ],
    ids=["unknown-age", "range-under-18", "voted-teen", "nan-age"],
)
def test_each_present_face_that_may_be_a_minor_stops_targeting(present):
    if present.age_sum == 29.9:
        present.age_group_votes = {"teen": 7, "adult": 2}  # ... from 7 faces voted teen (17 years) and 2 adult
    playing = decide("lobby-1", [track()], RULES, None, 0.0)
    decision = decide("lobby-1", [track(), present], RULES, playing, 1.0)
    assert (decision.creative, decision.reason) == ("house-ad", "minor-present")


def test_a_crowded_frame_stops_targeting():
    decision = decide("lobby-1", [track()], RULES, None, 0.0, crowded=True)
    assert (decision.creative, decision.reason) == ("house-ad", "minor-present")


def test_no_targeted_creative_while_a_frame_in_the_window_is_missing():
    playing = decide("lobby-1", [track()], RULES, None, 0.0)
    decision = decide("lobby-1", [track()], RULES, playing, 1.0, frame_missing=True)
    assert (decision.creative, decision.reason) == ("house-ad", "frame-missing")


@pytest.mark.parametrize("group", ["teen", "child"])
def test_rules_may_not_target_minors_and_the_message_names_the_rule(group):
    doc = copy.deepcopy(RULES_EXAMPLE)
    doc["Rules"].append({"Name": "toys", "Creative": "toy-sale", "When": {"AgeGroups": ["adult", group]}})
    with pytest.raises(InvalidRulesError, match=rf"Rules\[3\] \('toys'\) targets \['{group}'\]"):
        parse_rules(doc, GROUPS, MINORS)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(Displays={"d" * 2049: {"Cameras": ["door-2"]}}), "display id"),
        (lambda d: d.update(Displays={"": {"Cameras": ["door-2"]}}), "display id"),
        (lambda d: d.update(Displays={"lobby 1": {"Cameras": ["door-2"]}}), "display id"),
        (lambda d: d.update(Displays={"lobby-1": {"Cameras": ["a/b"]}}), "no camera can have"),
        (lambda d: d.update(Version="v" * 500_000), "at most"),
        (lambda d: d.update(Version="v" * 65), "Version"),
        (lambda d: d["Rules"][0].update(Creative="c" * 257), "Creative"),
    ],
)
def test_documents_that_would_break_every_frame_are_refused(change, message):
    doc = copy.deepcopy(RULES_EXAMPLE)
    change(doc)
    with pytest.raises(InvalidRulesError, match=message):
        parse_rules(json.dumps(doc), GROUPS, MINORS)


def test_any_encoding_but_utf8_is_a_typed_error():
    text = json.dumps(RULES_EXAMPLE)
    assert parse_rules(text.encode("utf-8"), GROUPS, MINORS).version == RULES.version
    with pytest.raises(InvalidRulesError, match="not UTF-8"):
        parse_rules(text.encode("utf-16"), GROUPS, MINORS)


def test_without_rules_the_last_known_default_plays_at_once():
    playing = decide("lobby-1", [track()], RULES, None, 0.0)
    fallback = Rules.fallback(RULES.last_known(), "missing")
    assert fallback.displays_of("door-2") == ["lobby-1"]
    decision = decide("lobby-1", [track()], fallback, playing, 1.0)  # within the hold: no matter
    assert (decision.creative, decision.reason) == ("house-ad", "rules-unavailable")


def test_displays_are_found_by_camera_whatever_their_number():
    doc = copy.deepcopy(RULES_EXAMPLE)
    doc["Displays"] = {f"d-{i}": {"Cameras": [f"cam-{i % 50}"]} for i in range(1000)}
    rules = parse_rules(doc, GROUPS, MINORS)
    assert rules.displays_of("cam-7") == sorted(f"d-{i}" for i in range(7, 1000, 50))
    assert rules.displays_of("elsewhere") == []
