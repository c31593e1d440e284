"""The rules document (what to play for whom, on which display) and the decision, with its guardrails.

A versioned JSON document (``RULES_EXAMPLE`` shows every field)::

    {"Version": "2026-11-27.1",
     "Displays": {"lobby-1": {"Cameras": ["door-2"]}},
     "Default": "house-ad",
     "MinimumPlaySeconds": 10,
     "MinimumConfidence": 80,
     "MinorAgeMarginYears": 2,
     "Rules": [{"Name": "women-25-plus", "Priority": 10, "Creative": "new-season",
                "When": {"Genders": ["Female"], "AgeGroups": ["adult"], "MinimumFaces": 1}}]}

Guardrails, not options: when any present face may be a minor, no targeted creative plays: the
default does, at once, whatever the hold. A face may be a minor when its age is unknown
(unclassified, too small), when any face of its track was put in an age group that holds people
under 18 or had the low end of its age range under 18, or when its track's mean age estimate is
below 18 plus ``MinorAgeMarginYears``; a crowded frame (more faces than the stage follows) counts
too. Rules may not target age groups that hold people under 18. Only classified, attentive faces whose gender confidence
is at least ``MinimumConfidence`` count towards a rule. A creative plays at least
``MinimumPlaySeconds`` before another replaces it (no flicker). Of the rules whose condition
holds, the highest ``Priority`` wins (ties: the earlier rule).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from agegender.capture import camera_id_problem
from audience.camera import Presence
from audience.tracker import Track

#: Where the rules document lives in the results bucket unless configured otherwise.
DEFAULT_RULES_KEY = "config/display-rules.json"
#: The apparent age below which a face counts as a minor; the margin (>= 0) adds safety, never removes it.
MINOR_AGE = 18.0
GENDERS = ("Female", "Male")
#: Reasons for the default that act at once, whatever the hold.
SAFETY_REASONS = ("minor-present", "frame-missing", "rules-unavailable")
#: The largest rules document (a decision message carries its version; the last good one is kept in DynamoDB).
MAX_RULES_BYTES = 262_144
#: Longest Version, and longest rule name or creative id.
MAX_VERSION_CHARS, MAX_NAME_CHARS = 64, 256
RULES_EXAMPLE = {
    "Version": "2026-11-27.1",
    "Displays": {"lobby-1": {"Cameras": ["door-2"]}},
    "Default": "house-ad",
    "MinimumPlaySeconds": 10,
    "MinimumConfidence": 80,
    "MinorAgeMarginYears": 2,
    "Rules": [
        {
            "Name": "women",
            "Priority": 10,
            "Creative": "new-season",
            "When": {"Genders": ["Female"], "AgeGroups": ["adult"], "MinimumFaces": 1},
        },
        {
            "Name": "men",
            "Priority": 8,
            "Creative": "sports-gear",
            "When": {"Genders": ["Male"], "AgeGroups": ["adult"], "MinimumFaces": 1},
        },
        {"Name": "seniors", "Priority": 5, "Creative": "comfort-shoes", "When": {"AgeGroups": ["senior"]}},
    ],
}


class InvalidRulesError(ValueError):
    """The rules document breaks the format (the message lists every problem)."""


@dataclass(frozen=True)
class Rule:
    """Audience condition -> creative."""

    name: str
    creative: str
    priority: int = 0
    genders: tuple[str, ...] = ()  # empty: any
    age_groups: tuple[str, ...] = ()  # empty: any
    minimum_faces: int = 1

    def matches(self, faces: list[Track]) -> bool:
        """At least ``minimum_faces`` of the counted faces fit the genders and age groups."""

        def fits(track: Track) -> bool:
            gender_ok = not self.genders or track.gender in self.genders
            return gender_ok and (not self.age_groups or track.age_group in self.age_groups)

        return sum(1 for t in faces if fits(t)) >= self.minimum_faces


@dataclass(frozen=True)
class Rules:
    """A validated rules document."""

    version: str
    default: str
    displays: dict[str, tuple[str, ...]]
    rules: tuple[Rule, ...] = ()
    minimum_play_s: float = 10.0
    minimum_confidence: float = 80.0
    minor_margin_years: float = 2.0
    document: dict[str, Any] = field(default_factory=dict, compare=False)
    #: Age groups that hold people under 18 (never targeted; a face in one counts as a possible minor).
    minor_groups: tuple[str, ...] = ()
    #: Why no rule can apply (``rules-unavailable``), or None for a working document.
    unavailable: str | None = None
    _by_camera: dict[str, dict[tuple[str, ...], list[str]]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for display, cameras in sorted(self.displays.items()):
            for camera in set(cameras):
                self._by_camera.setdefault(camera, {}).setdefault(camera_set(cameras), []).append(display)

    def displays_of(self, camera: str) -> list[str]:
        """The displays a camera watches for (an index: the cost does not grow with other displays)."""
        return sorted(d for displays in self._by_camera.get(camera, {}).values() for d in displays)

    def camera_sets_of(self, camera: str) -> dict[tuple[str, ...], list[str]]:
        """The camera sets that include ``camera``, each with the displays that watch exactly it: displays that
        watch the same cameras see the same people, so they share one decision.
        """
        return self._by_camera.get(camera, {})

    def camera_set_of(self, display: str) -> tuple[str, ...] | None:
        """The cameras a display watches, as the key of its decision (None: not a configured display)."""
        cameras = self.displays.get(display)
        return None if cameras is None else camera_set(cameras)

    def last_known(self) -> dict[str, Any]:
        """What a fallback needs when the document is gone: its version, default and displays."""
        displays = {display: list(cameras) for display, cameras in self.displays.items()}
        return {"Version": self.version, "Default": self.default, "Displays": displays}

    @classmethod
    def fallback(cls, last_known: dict[str, Any], why: str) -> Rules:
        """Rules that play the last known default on the last known displays, at once (no rule, no hold)."""
        displays = {d: tuple(c) for d, c in last_known["Displays"].items()}
        return cls(
            str(last_known["Version"]), str(last_known["Default"]), displays, minimum_play_s=0.0, unavailable=why
        )


def _strings(value: Any, where: str, problems: list[str], allowed: tuple[str, ...] | None = None) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v) <= MAX_NAME_CHARS for v in value):
        problems.append(f"{where} must be a list of strings of 1-{MAX_NAME_CHARS} characters")
        return ()
    if allowed is not None and (bad := sorted(set(value) - set(allowed))):
        problems.append(f"{where} has {bad}; allowed: {list(allowed)}")
    return tuple(value)


def _number(doc: dict[str, Any], key: str, default: float, low: float, high: float, problems: list[str]) -> float:
    value = doc.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        problems.append(f"{key} must be a number from {low} to {high}, not {value!r}")
        return default
    return float(value)


def _text(value: Any, limit: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= limit


def parse_rules(
    text: str | bytes | dict[str, Any],
    age_groups: tuple[str, ...] | None = None,
    minor_groups: tuple[str, ...] = (),
) -> Rules:
    """Validate a rules document (UTF-8 bytes, JSON text or parsed); raises ``InvalidRulesError`` listing every
    problem.

    ``age_groups``: the group names the inference function uses (rules naming others can never match);
    ``minor_groups``: those that hold people under 18, which no rule may target.
    """
    if isinstance(text, bytes | str) and len(text) > MAX_RULES_BYTES:
        raise InvalidRulesError(f"the rules document is {len(text):,} long; at most {MAX_RULES_BYTES:,} bytes")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidRulesError(f"the rules document is not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    try:
        doc = json.loads(text) if isinstance(text, str) else text
    except (ValueError, RecursionError) as exc:
        raise InvalidRulesError(f"the rules document is not JSON: {exc}") from exc
    if not isinstance(doc, dict):
        raise InvalidRulesError("the rules document must be a JSON object")
    problems: list[str] = []
    known = {
        "Version",
        "Displays",
        "Default",
        "MinimumPlaySeconds",
        "MinimumConfidence",
        "MinorAgeMarginYears",
        "Rules",
        "Description",
    }
    if unknown := sorted(set(doc) - known):
        problems.append(f"unknown fields {unknown}")
    version, default = doc.get("Version"), doc.get("Default")
    if not _text(version, MAX_VERSION_CHARS):
        problems.append(f"Version must be a string of 1-{MAX_VERSION_CHARS} characters (change it with every edit)")
    if not _text(default, MAX_NAME_CHARS):
        problems.append(
            f"Default must name the creative that plays when no rule applies (1-{MAX_NAME_CHARS} characters)"
        )
    displays: dict[str, tuple[str, ...]] = {}
    raw_displays = doc.get("Displays", {})
    if not isinstance(raw_displays, dict) or not raw_displays:
        problems.append("Displays must map each display id to {'Cameras': [camera ids]}")
    else:
        for display, spec in raw_displays.items():
            if camera_id_problem(display):  # display ids follow the camera ids' rule: keys, SNS attributes, URLs
                problems.append(f"display id {display[:80]!r}: use 1-128 letters, digits, '.', '_' or '-'")
            cameras = spec.get("Cameras") if isinstance(spec, dict) else None
            displays[display] = _strings(cameras, f"Displays.{display[:80]}.Cameras", problems)
            if bad := [c[:80] for c in displays[display] if camera_id_problem(c)]:
                problems.append(f"Displays.{display[:80]}.Cameras has ids no camera can have: {bad}")
    rules = []
    raw_rules = doc.get("Rules", [])
    if not isinstance(raw_rules, list):
        problems.append("Rules must be a list")
        raw_rules = []
    names = set()
    for index, raw in enumerate(raw_rules):
        where = f"Rules[{index}]"
        if not isinstance(raw, dict):
            problems.append(f"{where} must be an object")
            continue
        if unknown := sorted(set(raw) - {"Name", "Priority", "Creative", "When"}):
            problems.append(f"{where} has unknown fields {unknown}")
        name, creative, priority = raw.get("Name"), raw.get("Creative"), raw.get("Priority", 0)
        when = raw.get("When", {})
        if not _text(name, MAX_NAME_CHARS) or name in names:
            problems.append(f"{where}.Name must be a unique string of 1-{MAX_NAME_CHARS} characters")
        names.add(name if isinstance(name, str) else None)
        if not _text(creative, MAX_NAME_CHARS):
            problems.append(f"{where}.Creative must name a creative (1-{MAX_NAME_CHARS} characters)")
        if isinstance(priority, bool) or not isinstance(priority, int):
            problems.append(f"{where}.Priority must be an integer")
            priority = 0
        if not isinstance(when, dict) or set(when) - {"Genders", "AgeGroups", "MinimumFaces"}:
            problems.append(f"{where}.When takes Genders, AgeGroups, MinimumFaces")
            when = {}
        minimum = when.get("MinimumFaces", 1)
        if isinstance(minimum, bool) or not isinstance(minimum, int) or minimum < 1:
            problems.append(f"{where}.When.MinimumFaces must be an integer of at least 1")
            minimum = 1
        genders = _strings(when["Genders"], f"{where}.When.Genders", problems, GENDERS) if "Genders" in when else ()
        groups = (
            _strings(when["AgeGroups"], f"{where}.When.AgeGroups", problems, age_groups) if "AgeGroups" in when else ()
        )
        if minors := [g for g in groups if g in minor_groups]:
            problems.append(
                f"{where} ({str(name)[:80]!r}) targets {minors}: groups holding people under 18 cannot be targeted"
            )
        rules.append(Rule(str(name), str(creative), priority, genders, groups, minimum))
    minimum_play = _number(doc, "MinimumPlaySeconds", 10.0, 0, 3600, problems)
    confidence = _number(doc, "MinimumConfidence", 80.0, 50, 100, problems)
    margin = _number(doc, "MinorAgeMarginYears", 2.0, 0, 20, problems)
    if problems:
        raise InvalidRulesError("invalid rules document: " + "; ".join(problems))
    ordered = tuple(sorted(rules, key=lambda r: -r.priority))  # stable: ties keep document order
    return Rules(
        str(version), str(default), displays, ordered, minimum_play, confidence, margin, doc, tuple(minor_groups)
    )


def camera_set(cameras: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Cameras in one canonical order, without repeats."""
    return tuple(sorted(set(cameras)))


@dataclass(frozen=True)
class Decision:
    """What the displays that watch one set of cameras play, since when, and why."""

    cameras: tuple[str, ...]
    creative: str
    rule: str | None  # None: the default
    reason: str  # "rule", "default", "held", or one of SAFETY_REASONS
    since: float  # capture time the creative started
    rules_version: str
    faces_present: int
    faces_counted: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "Cameras": list(self.cameras),
            "Creative": self.creative,
            "Rule": self.rule,
            "Reason": self.reason,
            "Since": self.since,
            "RulesVersion": self.rules_version,
            "FacesPresent": self.faces_present,
            "FacesCounted": self.faces_counted,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Decision:
        return cls(
            tuple(data["Cameras"]),
            data["Creative"],
            data.get("Rule"),
            data["Reason"],
            float(data["Since"]),
            data["RulesVersion"],
            int(data.get("FacesPresent", 0)),
            int(data.get("FacesCounted", 0)),
        )


def appears_minor(track: Track, rules: Rules) -> bool:
    """The track's face may be a minor: its age is unknown now, any of its faces looked under 18 (age
    range or age group), or its mean age estimate is under 18 plus the margin.
    """
    if not track.last_age_known or track.age is None:
        return True
    if any(group in rules.minor_groups for group in track.age_group_votes):
        return True
    # Written as "not clearly an adult", so that a number that is no number (NaN) counts as a possible minor.
    adult_range = track.youngest is None or track.youngest >= MINOR_AGE
    return not (adult_range and track.age >= MINOR_AGE + rules.minor_margin_years)


def counted(track: Track, rules: Rules) -> bool:
    """Classified, looking at the screen now, and confidently gendered."""
    return track.classified_frames > 0 and track.last_attentive and track.gender_confidence >= rules.minimum_confidence


def decide(cameras: tuple[str, ...], audience: Presence, rules: Rules, current: Decision | None) -> Decision:
    """The decision of the displays that watch ``cameras``, at their newest capture time, given who is in
    front of them.

    Not everyone may have been seen when a present frame held more faces than the stage follows
    (``crowded``: a possible minor) or a frame inside the reorder window has not arrived
    (``frame_missing``): then no targeted creative is chosen either.
    """
    present, now = audience.tracks, audience.newest
    faces = [t for t in present if counted(t, rules)]

    def made(creative: str, rule: str | None, reason: str, since: float) -> Decision:
        return Decision(cameras, creative, rule, reason, since, rules.version, len(present), len(faces))

    if rules.unavailable:
        creative, rule, reason = rules.default, None, "rules-unavailable"
    elif audience.crowded or any(appears_minor(t, rules) for t in present):
        creative, rule, reason = rules.default, None, "minor-present"
    elif audience.frame_missing:
        creative, rule, reason = rules.default, None, "frame-missing"
    else:
        chosen = next((r for r in rules.rules if r.matches(faces)), None)
        creative, rule, reason = (chosen.creative, chosen.name, "rule") if chosen else (rules.default, None, "default")
    if current is None:
        return made(creative, rule, reason, now)
    if creative == current.creative:
        return made(creative, rule, reason, current.since)
    if now - current.since < rules.minimum_play_s and reason not in SAFETY_REASONS:
        return made(current.creative, current.rule, "held", current.since)
    return made(creative, rule, reason, now)
