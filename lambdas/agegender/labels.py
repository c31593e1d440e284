"""Label definitions shared by training and inference, and the decoding of model outputs.

The model has two heads:

* ``gender``: the probability that the face is female (UTKFace label 1).
* ``age_probs``: a distribution over whole years ``0..MAX_AGE``; its expected value is
  the age estimate and its spread gives ``AgeRange``.

Changing anything here that alters what the model's outputs mean requires a new
``LABEL_VERSION``; the model contract records the version it was trained with and the
runtime refuses a model whose version differs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import numpy as np

from agegender.exceptions import InvalidAgeGroupTableError

LABEL_VERSION = "1"

GENDER_MALE = "Male"
GENDER_FEMALE = "Female"
#: Index = UTKFace gender label (0 male, 1 female).
GENDERS: tuple[str, str] = (GENDER_MALE, GENDER_FEMALE)

#: UTKFace race labels, used for the per-group evaluation only (never predicted).
RACES: tuple[str, ...] = ("White", "Black", "Asian", "Indian", "Others")

#: Ages above this are folded into the last bin (UTKFace goes to 116; very few are > 100).
MAX_AGE = 100
AGE_BINS = np.arange(MAX_AGE + 1, dtype=np.float32)


def clip_age(age: float | np.ndarray) -> float | np.ndarray:
    """Clamp ages to the model's ``0..MAX_AGE`` range."""
    return np.clip(age, 0, MAX_AGE)


@dataclass(frozen=True)
class AgeGroup:
    """A named, closed age interval in whole years (``high`` None = open-ended)."""

    name: str
    low: int
    high: int | None

    def contains(self, years: int) -> bool:
        return years >= self.low and (self.high is None or years <= self.high)


class AgeGroupTable:
    """Maps an age estimate to a named group.

    Groups are contiguous: each one starts where the previous ended, so every age has
    exactly one group. Ages between the nominal intervals of a table with gaps (such as
    Adience's) go to the nearest group, which ``with_gaps`` handles.
    """

    def __init__(self, groups: list[AgeGroup]) -> None:
        if not groups:
            raise InvalidAgeGroupTableError("an age-group table needs at least one group")
        if groups[0].low != 0:
            raise InvalidAgeGroupTableError("the first age group must start at 0")
        for prev, cur in pairwise(groups):
            if prev.high is None or cur.low != prev.high + 1:
                raise InvalidAgeGroupTableError(
                    f"age groups must be contiguous: {prev.name} ends at {prev.high}, {cur.name} starts at {cur.low}"
                )
        if groups[-1].high is not None:
            raise InvalidAgeGroupTableError("the last age group must be open-ended, e.g. 'senior:60-'")
        self.groups = tuple(groups)
        self._cuts = np.array([g.low for g in groups[1:]], dtype=np.float64)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(g.name for g in self.groups)

    @classmethod
    def parse(cls, spec: str) -> AgeGroupTable:
        """Parse ``"child:0-12,teen:13-19,adult:20-59,senior:60-"``."""
        groups = []
        for part in filter(None, (p.strip() for p in spec.split(","))):
            try:
                name, span = part.split(":")
                low_s, high_s = span.split("-")
                groups.append(AgeGroup(name.strip(), int(low_s), int(high_s) if high_s.strip() else None))
            except ValueError as exc:
                raise InvalidAgeGroupTableError(
                    f"cannot parse age group {part!r}: expected NAME:LOW-HIGH or NAME:LOW- (in {spec!r})"
                ) from exc
        return cls(groups)

    def spec(self) -> str:
        """The table in the form ``parse`` reads."""
        return ",".join(f"{g.name}:{g.low}-{'' if g.high is None else g.high}" for g in self.groups)

    def index_of(self, ages: float | np.ndarray) -> np.ndarray:
        """Group index per age; ages are rounded to whole years first."""
        years = np.rint(np.asarray(ages, dtype=np.float64))
        return np.searchsorted(self._cuts, years, side="right")

    def group_of(self, age: float) -> str:
        """Name of the group that holds ``age`` (years, rounded)."""
        return self.groups[int(self.index_of(age))].name

    @classmethod
    def with_gaps(cls, nominal: list[tuple[str, int, int | None]]) -> AgeGroupTable:
        """Build a contiguous table from intervals with gaps, splitting each gap at its middle."""
        groups: list[AgeGroup] = []
        for i, (name, _nominal_low, high) in enumerate(nominal):
            previous_high = groups[-1].high if groups else None
            start = 0 if previous_high is None else previous_high + 1
            if i + 1 < len(nominal):
                assert high is not None
                next_low = nominal[i + 1][1]
                end = (high + next_low - 1) // 2
            else:
                end = None
            groups.append(AgeGroup(name, start, end))
        return cls(groups)


#: The product's default groups (configurable at run time by the same ``spec`` syntax).
DEFAULT_AGE_GROUPS = AgeGroupTable.parse("child:0-12,teen:13-19,adult:20-59,senior:60-")

#: The 8 Adience groups; ages in the gaps between them go to the nearer group.
ADIENCE_GROUPS = AgeGroupTable.with_gaps(
    [
        ("0-2", 0, 2),
        ("4-6", 4, 6),
        ("8-12", 8, 12),
        ("15-20", 15, 20),
        ("25-32", 25, 32),
        ("38-43", 38, 43),
        ("48-53", 48, 53),
        ("60-", 60, None),
    ]
)


def age_statistics(age_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Expected age and its standard deviation from ``(N, MAX_AGE + 1)`` distributions.

    The distributions are renormalised first, so quantised outputs whose sum drifts
    from 1 still give an unbiased mean.
    """
    probs = np.asarray(age_probs, dtype=np.float64)
    probs = np.clip(probs, 0.0, None)
    total = probs.sum(axis=-1, keepdims=True)
    probs = probs / np.where(total > 0, total, 1.0)
    mean = probs @ AGE_BINS.astype(np.float64)
    var = probs @ (AGE_BINS.astype(np.float64) ** 2) - mean**2
    return mean, np.sqrt(np.clip(var, 0.0, None))


def age_range(mean: float, std: float) -> tuple[int, int]:
    """Rekognition-style ``AgeRange`` (whole years): the estimate plus or minus one spread, at least 2 years wide."""
    half = max(std, 1.0)
    low = max(0, math.floor(mean - half))
    high = min(MAX_AGE, math.ceil(mean + half))
    return low, max(high, low + 1)


def gender_decision(p_female: float) -> tuple[str, float]:
    """The gender label and its confidence (0-100) from P(female)."""
    if p_female >= 0.5:
        return GENDER_FEMALE, 100.0 * p_female
    return GENDER_MALE, 100.0 * (1.0 - p_female)
