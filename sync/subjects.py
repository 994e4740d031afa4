"""Data subject requests under UU PDP 27/2022: access (export), correction, erasure.

- `export_person`: everything held about a person, as JSON-ready data: the registry
  record and every version of it, the household, children recorded with them as
  mother, measurements, pregnancy screenings and pregnancies, every raw submission
  that named them (with its XML and, on request, its attachments), conflicts and
  audit entries about them, legal holds; and what identity resolution and caseloads
  keep about them: the decisions that resolved a record to them, the duplicate pairs
  and merges they are in, the interventions they (or their household) received.
- `correct_person`: a correction is a new version through the registry's one write
  path (sync.apply), with who and why; the old value stays in the history, as every
  change does.
- `erase_person`: for a person under no legal retention duty (no active
  `legal_hold`): the personal fields are replaced in the registry record (a new
  version through sync.apply, so every phone's list gets the anonymised record
  through the change feed), in every earlier version, in the raw submissions that
  named them (the XML leaves that identify them; their photos' bytes), in conflicts
  and audit entries about them, and as the head's name of a household they head
  (they stay its anonymous member: the family's caseload counts need it); in
  what identity resolution kept (the evidence of decisions and duplicate pairs, the
  claim fingerprints, and the fields a merge stored to undo itself: an unmerge must
  not bring the name back), in the notes of interventions given to them or their
  household (and those notes' audit entries), and in logged registry searches whose
  filters named them. What
  anonymous counts need stays: sex, birth date,
  kelurahan and posyandu in the registry, and the measurements and screenings with
  their indicators, still linked to the (now anonymous) record, so caseload figures
  (registered children by age group, stunting prevalence, SKDN) are the same after an
  erasure as before. The erasure itself is an audit entry (who, why, how much was
  replaced; never what). A submission's SHA-256 stays, so a phone resending the
  original form is still told it was received, and nothing is stored again.

Domain code: nothing here commits (the CLI's transaction does).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import date, datetime

from lxml import etree
from sqlmodel import Session

from core.errors import Conflict, InvalidInput, NotFound
from models import LegalHold
from models.base import utcnow
from sync import touched
from sync.accounts import record_audit
from sync.apply import PERSON_FIELDS, Provenance, Status, apply
from sync.queries import subjects as q
from sync.submission_xml import safe_parse

ERASED = "[dihapus]"
EXPORT_FORMAT = "posyandu-sync person export 1"
# The registry fields an erasure replaces (the rest is what anonymous counts need). The
# household link stays: caseloads count families by their members (Keluarga Risiko
# Stunting, the food and fish aid lists of families with a stunted child), so an
# anonymous member keeps the family's counts as they were; the household's own
# fields (KK, address) belong to its other members, and the head's name goes if it
# was theirs.
ERASED_FIELDS = {"name": ERASED, "nik": None, "mother_id": None}
# Leaves of the forms that identify the person a submission is about (`subject`), and
# those that name a child's mother (`mother`) in the child's measurement.
SUBJECT_LEAVES = frozenset({
    "child_pick", "child_id", "child_nik", "child_name", "child_birth_date", "mother_name",
    "mother_nik", "household_kk", "household_id", "woman_pick", "woman_id", "woman_nik",
    "woman_name", "woman_birth_date", "head_name", "address", "rt", "rw", "gps", "notes",
    "growth_card_photo", "kia_book_photo"})
MOTHER_LEAVES = frozenset({"mother_name", "mother_nik"})
_AUDIT_REASON_LIMIT = 500


def _jsonable(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _person_or_raise(session: Session, person_id: str) -> dict:
    row = q.person(session, person_id)
    if row is None:
        raise NotFound(f"No person {person_id}.", code="person.not_found")
    return row


def _held_values(person: dict, versions: list[dict]) -> tuple[set[str], set[str]]:
    """Every name and NIK the registry ever held for the person (for the content scan)."""
    names = {person["name"]} | {v["data"].get("name") for v in versions}
    niks = {person["nik"]} | {v["data"].get("nik") for v in versions}
    return ({n.strip().lower() for n in names if n and n != ERASED and len(n.strip()) >= 3},
            {n for n in niks if n})


def _mentions(content: bytes, names: set[str], niks: set[str]) -> bool:
    text = content.decode("utf-8", errors="replace")
    lowered = text.lower()
    return any(nik in text for nik in niks) or any(name in lowered for name in names)


def _related(session: Session, person_id: str, person: dict) -> dict:
    ids = [person_id, *q.merged_into(session, person_id)]
    versions = q.versions(session, ids)
    children = q.children_of(session, ids)
    roles = q.submission_roles(session, ids, [c["id"] for c in children])
    names, niks = _held_values(person, versions)
    places = sorted({person["kelurahan_code"]} | {v["data"].get("kelurahan_code")
                                                 for v in versions if v["data"].get("kelurahan_code")})
    for row in q.submissions_in(session, places):
        if row["id"] not in roles and _mentions(row["content"], names, niks):
            roles[row["id"]] = "mentioned"
    return {"ids": ids, "versions": versions, "children": children, "roles": roles,
            "names": names, "niks": niks}


def _households_of(person: dict, versions: list[dict]) -> list[str]:
    """Every household the person was ever a member of (current and earlier versions)."""
    return sorted({person["household_id"]} | {v["data"].get("household_id") for v in versions}
                  - {None})


def export_person(session: Session, *, person_id: str, attachments: bool = False) -> dict:
    """Everything held about the person (see the module docstring), JSON-ready."""
    person = _person_or_raise(session, person_id)
    related = _related(session, person_id, person)
    ids, roles = related["ids"], related["roles"]
    subs = q.submissions(session, roles)
    files = q.attachments(session, list(roles), data=attachments)
    purged = q.purges(session, list(roles))
    out_submissions = []
    for s in subs:
        content = s["content"]
        out_submissions.append({
            "id": s["id"], "role": roles[s["id"]], "form_id": s["form_id"],
            "form_version": s["form_version"], "instance_id": s["instance_id"],
            "source": s["source"], "received_at": s["received_at"], "status": s["status"],
            "content_type": s["content_type"],
            "content": content.decode("utf-8", errors="replace") if content else None,
            "purged": purged.get(s["id"], {}).get("reason"),
            "attachments": [{k: v for k, v in f.items() if k not in ("submission_id", "id")}
                            for f in files if f["submission_id"] == s["id"]]})
    data = {
        "format": EXPORT_FORMAT,
        "exported_at": utcnow(),
        "person": person,
        "merged_from": ids[1:],
        "versions": related["versions"],
        "household": q.household(session, person["household_id"]),
        "children": related["children"],
        "measurements": q.measurements(session, ids),
        "pregnancy_screenings": q.screenings(session, ids),
        "pregnancies": q.pregnancies(session, ids),
        "submissions": out_submissions,
        "conflicts": q.conflicts(session, ids),
        "audit": q.audit_entries(session, ids),
        "legal_holds": q.active_holds(session, person_id),
        # identity resolution (#14) and caseloads (#16)
        "identity_decisions": q.identity_decisions(session, "person", ids),
        "duplicate_pairs": q.duplicate_pairs(session, "person", ids),
        "merges": q.record_merges(session, "person", ids),
        "interventions": q.interventions(session, ids, []),
        "household_interventions": q.interventions(
            session, [], _households_of(person, related["versions"])),
    }
    return _jsonable(data)


# ---------------------------------------------------------------- correction

def parse_changes(pairs: list[str]) -> dict:
    """`field=value` pairs (the CLI's --set) as typed registry changes; an empty value
    clears the field."""
    changes: dict = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        name = name.strip()
        if not sep or name not in PERSON_FIELDS:
            raise InvalidInput(f"--set takes field=value with a field of {', '.join(PERSON_FIELDS)}; "
                               f"got {pair!r}.", code="person.bad_change")
        value = value.strip()
        if value == "":
            changes[name] = None
        elif name == "birth_date":
            try:
                changes[name] = date.fromisoformat(value)
            except ValueError as exc:
                raise InvalidInput(f"birth_date is YYYY-MM-DD, not {value!r}.",
                                   code="person.bad_change") from exc
        elif name == "birth_date_estimated":
            changes[name] = value.lower() in ("1", "true", "yes", "ya")
        elif name == "posyandu_id":
            if not value.isdigit():
                raise InvalidInput("posyandu_id is a number.", code="person.bad_change")
            changes[name] = int(value)
        else:
            changes[name] = value
    return changes


def correct_person(session: Session, *, person_id: str, changes: dict, actor_id: int | None,
                   reason: str) -> dict:
    """A data subject's correction, as a new version through sync.apply (audited)."""
    _person_or_raise(session, person_id)
    result = apply(session, "person", person_id, None, changes,
                   Provenance(actor_id=actor_id, submission_id=None, reason="subject:correction"))
    if result.status is Status.REJECTED:
        raise InvalidInput(f"The correction was refused: {result.reason}.", code="person.bad_change")
    touched.mark(session, persons=[person_id])
    record_audit(session, actor_id=actor_id, action="person.correct", entity_type="person",
                 entity_id=person_id, detail={"reason": reason[:_AUDIT_REASON_LIMIT],
                                              "fields": sorted(result.applied),
                                              "version": result.version})
    return {"status": str(result.status), "version": result.version,
            "fields": sorted(result.applied)}


# ---------------------------------------------------------------- legal holds

def hold_person(session: Session, *, person_id: str, reason: str, actor_id: int | None) -> int:
    _person_or_raise(session, person_id)
    hold = LegalHold(person_id=person_id, reason=reason[:255], created_by=actor_id)
    session.add(hold)
    session.flush()
    record_audit(session, actor_id=actor_id, action="person.hold", entity_type="person",
                 entity_id=person_id, detail={"hold_id": hold.id, "reason": reason[:255]})
    return hold.id


def release_holds(session: Session, *, person_id: str, actor_id: int | None) -> int:
    released = 0
    for row in q.active_holds(session, person_id):
        hold = session.get(LegalHold, row["id"])
        hold.released_at, hold.released_by = utcnow(), actor_id
        session.add(hold)
        released += 1
    if released:
        record_audit(session, actor_id=actor_id, action="person.release", entity_type="person",
                     entity_id=person_id, detail={"holds": released})
    return released


# ---------------------------------------------------------------- erasure

def _scrub_value(value, names: set[str], niks: set[str]) -> bool:
    if not isinstance(value, str) or not value.strip():
        return False
    return value.strip() in niks or value.strip().lower() in names


def _mentions_pattern(names: set[str], niks: set[str]) -> re.Pattern | None:
    """The person's names (as whole words, any case) and NIKs inside free text."""
    words = [re.escape(n) for n in sorted(names | niks, key=len, reverse=True)]
    return re.compile(r"(?<!\w)(?:" + "|".join(words) + r")(?!\w)", re.IGNORECASE) if words else None


def _scrub_text(text, names: set[str], niks: set[str], pattern) -> str | None:
    """ERASED for a value that is one of the names or NIKs; a text that mentions one
    (a note) with each mention replaced; else None (unchanged)."""
    if _scrub_value(text, names, niks):
        return ERASED
    if pattern is not None and isinstance(text, str):
        replaced = pattern.sub(ERASED, text)
        if replaced != text:
            return replaced
    return None


def scrub_xml(content: bytes, leaves: frozenset[str], names: set[str], niks: set[str]) -> bytes:
    """The submission with the named leaves replaced by ERASED, and every mention of the
    person's names or NIKs in any other leaf too."""
    root = safe_parse(content)
    pattern = _mentions_pattern(names, niks)
    for element in root.iter():
        if len(element) or not isinstance(element.tag, str):
            continue
        local = etree.QName(element).localname
        if local in leaves and (element.text or "").strip():
            element.text = ERASED
        elif (replaced := _scrub_text(element.text, names, niks, pattern)) is not None:
            element.text = replaced
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def scrub_json(content: bytes, leaves: frozenset[str], names: set[str], niks: set[str]) -> bytes:
    pattern = _mentions_pattern(names, niks)

    def walk(value, key=""):
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if key.rsplit("/", 1)[-1] in leaves and value not in (None, ""):
            return ERASED
        replaced = _scrub_text(value, names, niks, pattern)
        return value if replaced is None else replaced

    return json.dumps(walk(json.loads(content)), ensure_ascii=False).encode("utf-8")


def _leaves(submission: dict, role: str) -> frozenset[str]:
    """Which leaves identify the person in this submission; beyond them, any leaf that
    holds one of their names or NIKs is replaced too."""
    if role == "subject":
        return SUBJECT_LEAVES
    if role == "mother" or (role == "registry" and submission["form_id"] == "anthropometry"):
        return MOTHER_LEAVES  # a child's measurement that recorded its mother
    return frozenset()


def _scrubbed(submission: dict, role: str, names: set[str], niks: set[str]) -> bytes:
    leaves = _leaves(submission, role)
    scrub = scrub_json if submission["content_type"] == "application/json" else scrub_xml
    return scrub(submission["content"], leaves, names, niks)


def _scrub_conflict_fields(fields: dict, names: set[str], niks: set[str]) -> dict:
    """A conflict's {field: {"base", "current", "incoming"}} with personal values replaced."""
    out = {}
    for name, sides in fields.items():
        if name in ERASED_FIELDS and isinstance(sides, dict):
            out[name] = {side: (None if value is None else ERASED_FIELDS[name])
                         for side, value in sides.items()}
        else:
            out[name] = _scrub_dict(sides, names, niks) if isinstance(sides, dict) else sides
    return out


def _scrub_dict(data: dict, names: set[str], niks: set[str]) -> dict:
    """Personal fields, and values equal to the person's names or NIKs, replaced."""
    out = {}
    for key, value in data.items():
        if key in ERASED_FIELDS and key != "name" and value is not None:
            out[key] = None
        elif isinstance(value, dict):
            out[key] = _scrub_dict(value, names, niks)
        elif key == "name" and value is not None or _scrub_value(value, names, niks):
            out[key] = ERASED
        else:
            out[key] = value
    return out


#: an erased claim's fingerprint (identity_decision.fingerprint is a hash of the claim's
#: name, NIK and birth date: with the name known it would confirm them)
ERASED_FINGERPRINT = "0" * 40
_NUMBER_KEYS = frozenset({"nik", "kk", "child_nik", "mother_nik", "woman_nik", "household_kk"})


def _scrub_mentions(value, names: set[str], niks: set[str], pattern):
    """Any JSON value with the person's names and NIKs replaced wherever they occur (a
    NIK-holding key gets None, so the record stays valid if it is written back)."""
    if isinstance(value, dict):
        return {k: (None if k in _NUMBER_KEYS and isinstance(v, str) and v.strip() in niks
                    else _scrub_mentions(v, names, niks, pattern)) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_mentions(v, names, niks, pattern) for v in value]
    replaced = _scrub_text(value, names, niks, pattern)
    return value if replaced is None else replaced


def _erase_from_identity(session: Session, ids: list[str], households: list[str],
                         names: set[str], niks: set[str]) -> int:
    """Identity resolution's records (sync.identity, sync.merge) without the person;
    returns how many rows changed."""
    pattern = _mentions_pattern(names, niks)
    changed = 0

    def scrub(value):
        return _scrub_mentions(value, names, niks, pattern)

    for entity, own in (("person", set(ids)), ("household", set(households))):
        for d in q.identity_decisions(session, entity, sorted(own)):
            values = {"evidence": scrub(d["evidence"])}
            if entity == "person" and d["subject_id"] in own:
                values["fingerprint"] = ERASED_FINGERPRINT
            if values != {"evidence": d["evidence"]}:
                q.set_identity_decision(session, d["id"], **values)
                changed += 1
        for pair in q.duplicate_pairs(session, entity, sorted(own)):
            evidence = scrub(pair["evidence"])
            if evidence != pair["evidence"]:
                q.set_duplicate_pair(session, pair["id"], evidence=evidence)
                changed += 1
        for m in q.record_merges(session, entity, sorted(own)):
            if entity == "person":
                # The erased side's stored fields as the registry now has them (an
                # unmerge revives it anonymous); the other side's only where they
                # hold the person's name or NIK.
                def side(data, erased):
                    return _scrub_dict(data, names, niks) if erased else scrub(data)
                values = {"survivor_before": side(m["survivor_before"], m["survivor_id"] in own),
                          "survivor_written": side(m["survivor_written"],
                                                   m["survivor_id"] in own),
                          "absorbed_before": side(m["absorbed_before"], m["absorbed_id"] in own)}
            else:  # a household they headed keeps its fields, without the head's name
                values = {key: _without_head(m[key], names, niks) for key in (
                    "survivor_before", "survivor_written", "absorbed_before")}
            if any(values[k] != m[k] for k in values):
                q.set_record_merge(session, m["id"], **values)
                changed += 1
    return changed


def _without_head(data: dict, names: set[str], niks: set[str]) -> dict:
    if _scrub_value(data.get("head_name"), names, niks):
        return {**data, "head_name": None}
    return data


def _erase_from_interventions(session: Session, ids: list[str], households: list[str],
                              names: set[str], niks: set[str]) -> int:
    """Notes of interventions given to the person, their children or a household of
    theirs that name them, and the same notes in those interventions' audit entries. The interventions
    themselves stay: coverage counts them."""
    pattern = _mentions_pattern(names, niks)
    given = q.interventions(session, ids, households)
    changed = 0
    for row in given:
        notes = _scrub_mentions(row["notes"], names, niks, pattern)
        if notes != row["notes"]:
            q.set_intervention_notes(session, row["id"], notes)
            changed += 1
    for entry in q.audit_entries_of(session, "intervention", [str(r["id"]) for r in given]):
        detail = _scrub_mentions(entry["detail"], names, niks, pattern)
        if detail != entry["detail"]:
            q.set_audit_detail(session, entry["id"], detail)
    return changed


def _erase_from_offline(session: Session, ids: list[str], submission_ids: list[int],
                        names: set[str], niks: set[str]) -> int:
    """What phones sent offline: the properties of ODK entity actions about the person
    (or sent in a submission that named them), and stored push results that mention
    them. An action about the person loses its personal fields; every other value keeps
    what is not theirs (a sibling's action naming the mother keeps the sibling)."""
    pattern = _mentions_pattern(names, niks)
    changed = 0
    for row in q.entity_actions(session, ids, submission_ids):
        properties = row["properties"]
        if row["entity_id"] in ids:
            properties = {k: (None if k in _NUMBER_KEYS or k in ("full_name", "name")
                              else v) for k, v in properties.items()}
        properties = _scrub_mentions(properties, names, niks, pattern)
        if properties != row["properties"]:
            q.set_entity_action_properties(session, row["id"], properties)
            changed += 1
    for row in list(q.sync_mutations(session)):
        result = _scrub_mentions(row["result"], names, niks, pattern)
        if result != row["result"]:
            q.set_sync_mutation_result(session, row["id"], result)
            changed += 1
    return changed


def _erase_from_searches(session: Session, names: set[str], niks: set[str]) -> int:
    """Logged registry searches (access_log.query) whose filters were their name or NIK:
    the read stays accountable (who, when, whose records), without the search words."""
    pattern = _mentions_pattern(names, niks)
    changed = 0
    for row in list(q.searches(session)):
        query = {k: v if (new := _scrub_text(v, names, niks, pattern)) is None else new
                 for k, v in row["query"].items()}
        if query != row["query"]:
            q.set_access_query(session, row["id"], query)
            changed += 1
    return changed


def erase_person(session: Session, *, person_id: str, actor_id: int | None,
                 reason: str) -> dict:
    """Anonymise the person (see the module docstring); returns what was replaced."""
    person = _person_or_raise(session, person_id)
    if person["merged_into_id"]:
        raise Conflict(f"Person {person_id} was merged into {person['merged_into_id']}: erase "
                       "that record (it covers this one).", code="person.merged")
    holds = q.active_holds(session, person_id)
    if holds:
        raise Conflict(f"Person {person_id} is under a legal retention duty ({holds[0]['reason']}); "
                       "release the hold first if the duty has ended.", code="person.legal_hold")
    related = _related(session, person_id, person)
    ids, names, niks, roles = related["ids"], related["names"], related["niks"], related["roles"]

    # The registry record: a new version through the one write path (and the feed).
    result = apply(session, "person", person_id, None, ERASED_FIELDS,
                   Provenance(actor_id=actor_id, submission_id=None, reason="subject:erasure"))
    if result.status is Status.REJECTED:
        raise InvalidInput(f"The erasure was refused: {result.reason}.", code="person.bad_change")
    for merged in ids[1:]:  # tombstones of records merged into this one
        q.set_person_values(session, merged, name=ERASED, name_key="dihapus", nik=None,
                            mother_id=None)
    # Every version, earlier ones included.
    versions = q.versions(session, ids)  # read before they are rewritten: household links
    for v in versions:
        q.set_version_data(session, v["person_id"], v["version"], _scrub_dict(v["data"], names,
                                                                              niks))
    # A household they head keeps its other members, without the head's name.
    heads = 0
    for household_id in sorted({v["data"].get("household_id") for v in versions} - {None}):
        row = q.household(session, household_id)
        if row is None:
            continue
        if _scrub_value(row["head_name"], names, niks):
            apply(session, "household", household_id, None, {"head_name": None},
                  Provenance(actor_id=actor_id, submission_id=None, reason="subject:erasure"))
            touched.mark(session, households=[household_id])
            heads += 1
        for hv in q.household_versions(session, household_id):
            if _scrub_value(hv["data"].get("head_name"), names, niks):
                q.set_household_version_data(session, household_id, hv["version"],
                                             {**hv["data"], "head_name": None})
    # Raw submissions that named them, and their photos where they were the subject.
    now = utcnow()
    rewritten, photos = 0, 0
    for submission in q.submissions(session, roles):
        role = roles[submission["id"]]
        if not submission["content"]:
            continue  # purged for retention already
        new = _scrubbed(submission, role, names, niks)
        changed = new != submission["content"]
        if changed:
            q.set_submission_content(session, submission["id"], new)
            rewritten += 1
        # Photos (a growth card, a KIA book) show the person they are about.
        emptied = q.empty_attachments(session, [submission["id"]]) if role == "subject" else 0
        photos += emptied
        if changed or emptied:
            q.mark_purged(session, submission["id"], reason="erasure", content_bytes=len(
                submission["content"]), attachments=emptied, at=now)
    # Conflicts and audit entries about them.
    for conflict in q.conflicts(session, ids):
        q.set_conflict(session, conflict["id"],
                       fields=_scrub_conflict_fields(conflict["fields"], names, niks),
                       resolution=None if conflict["resolution"] is None else _scrub_dict(
                           conflict["resolution"], names, niks))
    for entry in q.audit_entries(session, ids):
        q.set_audit_detail(session, entry["id"], _scrub_dict(entry["detail"], names, niks))
    households = _households_of(person, versions)
    for entry in q.audit_entries_of(session, "household", households):
        q.set_audit_detail(session, entry["id"], _scrub_mentions(
            entry["detail"], names, niks, _mentions_pattern(names, niks)))
    # What identity resolution and caseloads keep, and the searches that named them.
    identity_rows = _erase_from_identity(session, ids, households, names, niks)
    children = [c["id"] for c in related["children"]]  # their notes may name the mother
    notes = _erase_from_interventions(session, ids + children, households, names, niks)
    searches = _erase_from_searches(session, names, niks)
    offline_rows = _erase_from_offline(session, ids, list(roles), names, niks)
    touched.mark(session, persons=ids)
    summary = {"person": person_id, "version": result.version, "versions": len(versions),
               "submissions": len(roles), "submissions_rewritten": rewritten,
               "attachments_emptied": photos, "merged_records": len(ids) - 1,
               "household_heads": heads, "identity_records": identity_rows,
               "intervention_notes": notes, "searches": searches,
               "offline_records": offline_rows}
    record_audit(session, actor_id=actor_id, action="person.erase", entity_type="person",
                 entity_id=person_id, detail={"reason": reason[:_AUDIT_REASON_LIMIT], **summary})
    return summary
