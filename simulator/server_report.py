"""What the server knows after a run, read from its JSON API (as any reader would, signed
in as an admin): submissions by status, measurements with their z-scores and categories,
pregnancy screenings (KEK, anaemia), sanitation checks (jamban sehat). `make demo` ends
with it.

    report = collect(AdminClient(base, http, "demo-admin", password))
    print(render(report))

Counts are each list's `total` for a filter (`?limit=1`); nothing is computed here, so
what is printed is what the server answers. Every part copes with an empty server.
"""

from __future__ import annotations

from dataclasses import dataclass

from simulator.admin import AdminClient

# The server's submission statuses (models.intake.SUBMISSION_STATUSES; the simulator
# speaks HTTP only). A status the server adds later still counts in `total`.
STATUSES = ("processed", "superseded", "failed", "received")
MEASUREMENTS = "/api/v1/measurements"
SCREENINGS = "/api/v1/pregnancy-screenings"
CHECKS = "/api/v1/sanitation-checks"
SUBMISSIONS = "/api/v1/submissions"


@dataclass(frozen=True)
class Count:
    """How many rows a list holds for a filter, and the URL that lists them."""

    label: str
    total: int
    url: str


@dataclass(frozen=True)
class ServerReport:
    server: str
    submissions: Count
    by_status: list[Count]
    measurements: Count
    children: list[Count]  # stunted, wasted, underweight, flagged
    examples: list[dict]  # the newest measurements, as the API serves them
    screenings: Count
    women: list[Count]  # KEK, anaemia, pregnant
    checks: Count
    households: list[Count]  # jamban sehat, not, sanitasi layak


def _count(admin: AdminClient, label: str, path: str, **params: str) -> Count:
    body = admin.get(path, {**params, "limit": "1"})
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return Count(label, int(body["total"]), f"{admin.server}{path}" + (f"?{query}" if query else ""))


def collect(admin: AdminClient, *, examples: int = 5) -> ServerReport:
    """Ask the server (about twenty small requests)."""
    return ServerReport(
        server=admin.server,
        submissions=_count(admin, "submissions", SUBMISSIONS),
        by_status=[_count(admin, status, SUBMISSIONS, status=status) for status in STATUSES],
        measurements=_count(admin, "measurements", MEASUREMENTS),
        children=[_count(admin, "stunted", MEASUREMENTS, stunted="true"),
                  _count(admin, "wasted", MEASUREMENTS, wasted="true"),
                  _count(admin, "underweight", MEASUREMENTS, underweight="true"),
                  _count(admin, "flagged", MEASUREMENTS, flagged="true")],
        examples=admin.get(MEASUREMENTS, {"limit": str(examples)})["items"] if examples else [],
        screenings=_count(admin, "pregnancy screenings", SCREENINGS),
        women=[_count(admin, "KEK", SCREENINGS, kek="true"),
               _count(admin, "anaemia", SCREENINGS, anaemia="true"),
               _count(admin, "pregnant", SCREENINGS, pregnant="true")],
        checks=_count(admin, "sanitation checks", CHECKS),
        households=[_count(admin, "jamban sehat", CHECKS, jamban_sehat="true"),
                    _count(admin, "no jamban sehat", CHECKS, jamban_sehat="false"),
                    _count(admin, "sanitasi layak", CHECKS, sanitasi_layak="true")],
    )


def _share(part: int, whole: int) -> str:
    return f"{part} ({100 * part / whole:.0f} %)" if whole and part else str(part)


def _z(value) -> str:
    return "-" if value is None else f"{value:+.2f}"


def _row(columns: list[str], widths: list[int]) -> str:
    return "  " + " ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()


def render(report: ServerReport) -> str:
    """The report as text: a summary table, the URLs that list each count, and a few
    measurements."""
    lines = [f"What the server stored ({report.server}, as the API answers):", ""]
    table = [
        (report.submissions, report.by_status, False),
        (report.measurements, report.children, True),
        (report.screenings, report.women, True),
        (report.checks, report.households, True),
    ]
    for whole, parts, as_share in table:
        detail = ", ".join(f"{_share(p.total, whole.total) if as_share else p.total} {p.label}"
                           for p in parts) if whole.total else ""
        lines.append(f"  {whole.label:<21} {whole.total:>6}" + (f"   {detail}" if detail else ""))
    lines += ["", "  Open (sign in, then send Authorization: Bearer <token>):"]
    for whole, parts, _ in table:
        for count in [whole, *(p for p in parts if p.total)]:
            name = count.label if count is whole else f"  {count.label}"
            lines.append(f"    {name:<21} {count.url}")
    lines += ["", "  Newest measurements (z-scores and Permenkes categories):"]
    if not report.examples:
        lines.append("    none yet")
        return "\n".join(lines)
    widths = [10, 22, 3, 7, 6, 6, 6, 13, 13, 19, 12]
    lines.append(_row(["measured", "child", "sex", "age(mo)", "zlen", "zwei", "zwfl", "TB/U",
                       "BB/U", "BB/TB", "flags"], widths))
    for m in report.examples:
        age = "-" if m.get("age_days") is None else f"{m['age_days'] / 30.4375:.0f}"
        flags = m.get("plausibility_flags") or ("WHO" if any(
            m.get(f) for f in ("flen", "fwei", "fwfl", "fbmi", "fac")) else "")
        lines.append(_row([
            str(m["measured_on"]), (m.get("child_name") or "?")[:22],
            {"male": "L", "female": "P"}.get(m.get("sex") or "", "?"), age,
            _z(m.get("zlen")), _z(m.get("zwei")), _z(m.get("zwfl")),
            m.get("tbu_category") or "-", m.get("bbu_category") or "-",
            m.get("bbtb_category") or "-", flags[:12]], widths))
    return "\n".join(lines)
