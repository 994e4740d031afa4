"""Reading typed values out of flattened form answers (XML or Kobo JSON).

Each reader raises ProcessingError with a message naming the field, so a failed
submission tells an administrator exactly what to fix.
"""

from __future__ import annotations

import math
import re
from datetime import date

from core.errors import AppError

NIK_PATTERN = re.compile(r"^\d{16}$")
_ID_PATTERN = re.compile(r"^[0-9]{1,9}$")
KELURAHAN_PATTERN = re.compile(r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$")


def parse_record_id(text: str | None) -> int | None:
    """A registry id typed or picked on a phone (e.g. posyandu_id): ASCII digits that fit
    an integer column, else None. One rule for scope checks and processing alike."""
    value = (text or "").strip()
    return int(value) if _ID_PATTERN.match(value) else None


def named_place(fields: dict[str, str]) -> tuple[str | None, int | None]:
    """The (kelurahan code, posyandu id) a submission's answers name, as it is stored."""
    return ((fields.get("kelurahan_code") or "").strip()[:13] or None,
            parse_record_id(fields.get("posyandu_id")))


def flatten_answers(answers: dict) -> dict[str, str]:
    """JSON answers keyed by group path (`grp_child/child_name`) -> {leaf name: text},
    the same shape as a flattened XML submission."""
    return {key.rsplit("/", 1)[-1]: "" if value is None else str(value)
            for key, value in answers.items() if not isinstance(value, (dict, list))}


class ProcessingError(AppError):
    """A stored submission could not become registry records (it stays stored)."""

    status_code = 422
    code = "submission.unprocessable"


class Answers:
    """Typed access to a submission's answers (leaf name -> text)."""

    def __init__(self, values: dict[str, str]):
        self._values = values

    def text(self, name: str, *, required: bool = False, max_length: int = 120) -> str | None:
        value = (self._values.get(name) or "").strip()
        if not value:
            if required:
                raise ProcessingError(f"'{name}' is missing.", code="submission.missing_field")
            return None
        return value[:max_length]

    def number(self, name: str, *, required: bool = False, low: float | None = None,
               high: float | None = None) -> float | None:
        raw = self.text(name, required=required)
        if raw is None:
            return None
        try:
            value = float(raw.replace(",", "."))
        except ValueError as exc:
            raise ProcessingError(f"'{name}' is not a number: {raw!r}.",
                                  code="submission.bad_number") from exc
        if not math.isfinite(value):
            raise ProcessingError(f"'{name}' is not a number: {raw!r}.",
                                  code="submission.bad_number")
        if (low is not None and value < low) or (high is not None and value > high):
            raise ProcessingError(f"'{name}' = {value} is outside {low}-{high}.",
                                  code="submission.out_of_range")
        return value

    def integer(self, name: str, **kwargs) -> int | None:
        value = self.number(name, **kwargs)
        return None if value is None else int(round(value))

    def day(self, name: str, *, required: bool = False) -> date | None:
        raw = self.text(name, required=required)
        if raw is None:
            return None
        try:
            return date.fromisoformat(raw[:10])
        except ValueError as exc:
            raise ProcessingError(f"'{name}' is not a date (YYYY-MM-DD): {raw!r}.",
                                  code="submission.bad_date") from exc

    def yes_no(self, name: str) -> bool | None:
        raw = (self.text(name) or "").lower()
        if not raw:
            return None
        if raw in ("yes", "ya", "y", "true", "1"):
            return True
        if raw in ("no", "tidak", "n", "false", "0"):
            return False
        raise ProcessingError(f"'{name}' must be yes or no, not {raw!r}.", code="submission.bad_choice")

    def choice(self, name: str, allowed: tuple[str, ...] | list[str]) -> str | None:
        raw = self.text(name)
        if raw is None:
            return None
        if raw not in allowed:
            raise ProcessingError(f"'{name}' = {raw!r} is not one of {', '.join(allowed)}.",
                                  code="submission.bad_choice")
        return raw

    def nik(self, name: str) -> str | None:
        """A 16-digit NIK / No. KK; anything else is treated as not given."""
        raw = re.sub(r"[\s.-]", "", self.text(name) or "")
        return raw if NIK_PATTERN.match(raw) else None

    def household_kk(self) -> str | None:
        """The family card (No. KK) the form names, as a household is looked up by."""
        return self.nik("household_kk")

    def record_id(self, name: str) -> int | None:
        """An integer registry id (posyandu_id); anything else is an error, not ignored."""
        raw = self.text(name)
        if raw is None:
            return None
        value = parse_record_id(raw)
        if value is None:
            raise ProcessingError(f"'{name}' = {raw!r} is not a registry id.",
                                  code="submission.bad_id")
        return value

    def kelurahan_code(self, name: str = "kelurahan_code") -> str:
        raw = self.text(name, required=True)
        if not KELURAHAN_PATTERN.match(raw):
            raise ProcessingError(f"'{name}' = {raw!r} is not a kelurahan code like 33.75.01.1002.",
                                  code="submission.bad_kelurahan")
        return raw
