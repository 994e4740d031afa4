"""The fleet: every kader phone working through the plan against a real server.

A round is one month: each phone fills the month's forms with the lists it downloaded at
its last sync, and if it has signal it sends everything queued (HEAD, then one POST per
submission, again for each response lost to a timeout), then refreshes its forms and
media. The last round is the final sync where every phone sends what is left. Phones
work in parallel threads (a bounded pool); rounds follow each other.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from datetime import time as clock

import httpx

from simulator.admin import PhoneAccount
from simulator.fieldwork import FieldPlan, PhoneSpec, PlannedSubmission
from simulator.phone import (
    OpenRosaError,
    OpenRosaPhone,
    PickList,
    XFormTemplate,
    edit_submission,
)

WIB = timezone(timedelta(hours=7))


@dataclass
class SendRecord:
    """What happened to one planned submission on the wire."""

    submission: PlannedSubmission
    statuses: list[int] = field(default_factory=list)
    message: str = ""
    new_registration: bool | None = None  # sent with "new" (no row picked from the list)
    registry_id: str = ""  # the list row's id the phone picked

    @property
    def outcome(self) -> str:
        """The best of the answers: stored, else conflict, rejected, server_error; unsent."""
        kinds = {_status_kind(s) for s in self.statuses}
        return next((k for k in _STATUS_KINDS if k in kinds), "unsent")


_STATUS_KINDS = ("stored", "conflict", "rejected", "server_error")


def _status_kind(status: int) -> str:
    if 200 <= status < 300:
        return "stored"
    if status == 409:
        return "conflict"
    if 400 <= status < 500:
        return "rejected"
    return "server_error"


@dataclass
class FleetStats:
    posts: int = 0
    accepted: int = 0
    duplicates: int = 0
    conflicts: int = 0
    rejected: int = 0
    server_errors: int = 0
    transport_errors: int = 0
    phone_errors: list[str] = field(default_factory=list)


def _norm(value: str | None) -> str:
    return " ".join((value or "").split()).casefold()


class RowIndex:
    """A pick list indexed by column value, to find "the child this phone registered"."""

    def __init__(self, rows: list[dict[str, str]]):
        self._by: dict[tuple[str, str], list[dict[str, str]]] = {}
        for row in rows:
            for column, value in row.items():
                if value:
                    self._by.setdefault((column, _norm(value)), []).append(row)

    def find(self, keys: tuple[dict[str, str], ...]) -> dict[str, str] | None:
        for key in keys:
            (first, value), *rest = key.items()
            for row in self._by.get((first, _norm(value)), ()):
                if all(_norm(row.get(c)) == _norm(v) for c, v in rest):
                    return row
        return None


class KaderPhone:
    """One phone: fills the plan's forms the way its kader would and sends them."""

    def __init__(self, spec: PhoneSpec, account: PhoneAccount, plan: FieldPlan,
                 fills: dict[int, list[PlannedSubmission]], client: httpx.Client | None,
                 posyandu_ids: dict[str, int], records: dict[str, SendRecord],
                 stats: FleetStats, lock: threading.Lock, on_post: Callable[[], None],
                 timeout: float):
        self.spec, self.plan = spec, plan
        self.openrosa = OpenRosaPhone(account.server_url, client, timeout=timeout)
        self.posyandu_ids = posyandu_ids
        self.records, self.stats, self.lock, self.on_post = records, stats, lock, on_post
        self.xml: dict[str, bytes] = {}
        self.carried: list[PlannedSubmission] = []  # not sent because of network errors
        self.indexes: dict[str, RowIndex] = {}
        self.fills = fills  # round -> the forms the kader fills then, in order

    def close(self) -> None:
        self.openrosa.close()

    # --- setup and media

    def refresh(self) -> None:
        changed = self.openrosa.refresh()
        for name in changed:
            if name in self.openrosa.media:
                self.indexes[name] = RowIndex(self.openrosa.media[name])

    # --- filling

    def fill(self, s: PlannedSubmission) -> bytes:
        if s.is_edit:
            return _edited(s, self.xml)
        template = self.openrosa.forms.get(s.form_id)
        if template is None:
            raise OpenRosaError(f"the server does not offer form {s.form_id!r}")
        record = self.records[s.instance_id]
        answers: dict[str, str] = {}
        pick: PickList | None = next(iter(template.pick_lists.values()), None)
        row = None
        if pick is not None:
            index = self.indexes.get(pick.media_file)
            row = index.find(s.match) if index else None
            answers.update(template.pick_answers(pick, row))
        answers.update(_typed(s, self.posyandu_ids) if row is None else s.corrections)
        answers.update(s.values)
        record.new_registration = row is None
        record.registry_id = row.get("name", "") if row else ""
        filled_at = _morning_of(s) + timedelta(minutes=s.order % 240)
        return template.fill(answers, instance_id=s.instance_id, filled_at=filled_at,
                             device_id=_device_id(s.phone_id))

    # --- one month

    def run_round(self, round_index: int) -> None:
        try:
            self._run_round(round_index)
        except (OpenRosaError, httpx.HTTPError) as exc:
            with self.lock:
                self.stats.phone_errors.append(f"{self.spec.id} round {round_index}: {exc}")

    def _run_round(self, round_index: int) -> None:
        if round_index == 0:
            self.refresh()
        for s in self.fills.get(round_index, []):
            try:
                self.xml[s.instance_id] = self.fill(s)
            except OpenRosaError as exc:
                self.records[s.instance_id].message = str(exc)
        final = round_index >= self.plan.city.months
        if not final and self.plan.offline[self.spec.id][round_index]:
            return
        queue = self.carried + [s for s in self.plan.for_round(self.spec.id, round_index)
                                if s.instance_id in self.xml]
        self.carried = []
        if queue:
            self.openrosa.head_submission()
            self._send(queue)
        self.refresh()

    def _send(self, queue: list[PlannedSubmission]) -> None:
        """POST each submission; a lost response means the same bytes go again at the end
        of the session, as Collect resends a form it never saw acknowledged."""
        pending = deque((s, s.attempts) for s in queue)
        while pending:
            s, posts_left = pending.popleft()
            record = self.records[s.instance_id]
            try:
                result = self.openrosa.post_submission(self.xml[s.instance_id])
            except httpx.TransportError as exc:
                with self.lock:
                    self.stats.transport_errors += 1
                record.message = f"network: {exc}"
                self.carried.append(s)
                continue
            with self.lock:
                self._count(record, result.status_code)
                record.statuses.append(result.status_code)
                if not result.ok:
                    record.message = result.message
            self.on_post()
            if posts_left > 1:
                pending.append((s, posts_left - 1))

    def _count(self, record: SendRecord, status: int) -> None:
        """Count one answer (before it is added to `record.statuses`)."""
        stats = self.stats
        stats.posts += 1
        kind = _status_kind(status)
        if kind == "stored":
            if record.outcome == "stored":
                stats.duplicates += 1
            else:
                stats.accepted += 1
        elif kind == "conflict":
            stats.conflicts += 1
        elif kind == "rejected":
            stats.rejected += 1
        else:
            stats.server_errors += 1


def fill_without_server(plan: FieldPlan, form_xml: dict[str, bytes],
                        posyandu_ids: dict[str, int] | None = None):
    """Every planned submission as XML, filled by phones that never downloaded a list:
    every subject typed in (no registry ids), edits as edits. For load and identity
    benchmarks that replay a plan without the round trips; yields (submission, xml) in
    sending order. `posyandu_ids` maps posyandu keys to server ids (default: the
    posyandu's 1-based position in the city)."""
    templates = {form_id: XFormTemplate(xml) for form_id, xml in form_xml.items()}
    if posyandu_ids is None:
        posyandu_ids = {key: i for i, key in enumerate(plan.city.posyandu, start=1)}
    filled: dict[str, bytes] = {}
    for s in plan.submissions:  # already in sending order
        if s.is_edit:
            xml = _edited(s, filled)
        else:
            template = templates[s.form_id]
            answers: dict[str, str] = {}
            for pick in template.pick_lists.values():
                answers.update(template.pick_answers(pick, None))
            answers.update(_typed(s, posyandu_ids))
            answers.update(s.values)
            xml = template.fill(answers, instance_id=s.instance_id, filled_at=_morning_of(s),
                                device_id=_device_id(s.phone_id))
        filled[s.instance_id] = xml
        yield s, xml


def _edited(s: PlannedSubmission, filled: dict[str, bytes]) -> bytes:
    """An edit of a form this phone filled earlier (`filled`: instanceID -> XML)."""
    original = filled.get(s.deprecated_id)
    if original is None:
        raise OpenRosaError(f"edit of {s.deprecated_id} that this phone never filled")
    return edit_submission(original, s.values, instance_id=s.instance_id,
                           deprecated_id=s.deprecated_id)


def _typed(s: PlannedSubmission, posyandu_ids: dict[str, int]) -> dict[str, str]:
    """The identity the kader types for a new registration, with the posyandu as the
    server's id."""
    typed = dict(s.typed)
    if "posyandu_id" in typed:
        typed["posyandu_id"] = str(posyandu_ids[typed["posyandu_id"]])
    return typed


def _morning_of(s: PlannedSubmission) -> datetime:
    """Posyandu opening time (08:30 WIB) on the visit's day."""
    return datetime.combine(s.visit_on, clock(8, 30), WIB)


def _device_id(phone_id: str) -> str:
    return f"collect:sim-{phone_id}"


@dataclass
class FleetResult:
    records: dict[str, SendRecord]
    stats: FleetStats
    elapsed_s: float
    completed: bool  # False when the time limit stopped the run


def run_fleet(plan: FieldPlan, accounts: list[PhoneAccount], client: httpx.Client | None, *,
              concurrency: int = 8, timeout: float = 30.0, time_limit_s: float | None = None,
              on_progress: Callable[[int, str], None] | None = None) -> FleetResult:
    """Drive every phone through every round; returns what happened to each submission."""
    started = time.monotonic()
    stats, lock = FleetStats(), threading.Lock()
    records = {s.instance_id: SendRecord(s) for s in plan.submissions}
    by_phone = {a.phone_id: a for a in accounts}
    posyandu_ids = {p.posyandu_key: by_phone[p.id].posyandu_id for p in plan.phones}
    round_label = [""]

    def on_post() -> None:
        if on_progress:
            on_progress(stats.posts, round_label[0])

    fills: dict[str, dict[int, list[PlannedSubmission]]] = {p.id: {} for p in plan.phones}
    for s in sorted(plan.submissions, key=lambda s: s.order):
        # A form is filled in its month; an edit when the kader makes it (its sync).
        fill_round = s.send_round if s.is_edit else s.month_index
        fills[s.phone_id].setdefault(fill_round, []).append(s)
    phones = [KaderPhone(spec, by_phone[spec.id], plan, fills[spec.id], client, posyandu_ids,
                         records, stats, lock, on_post, timeout) for spec in plan.phones]
    completed = True
    try:
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            for r in range(plan.rounds):
                if time_limit_s is not None and time.monotonic() - started > time_limit_s:
                    completed = False
                    break
                round_label[0] = plan.round_label(r)
                list(pool.map(KaderPhone.run_round, phones, [r] * len(phones)))
    finally:
        for phone in phones:
            phone.close()
    return FleetResult(records, stats, time.monotonic() - started, completed)
