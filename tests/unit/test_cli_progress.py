"""cli.caseloads.Progress: the rebuild's progress lines (pure: a fake clock)."""

from __future__ import annotations

import io

from cli.caseloads import Progress


def test_progress_speaks_at_most_every_interval_and_always_at_the_end():
    now, out = [0.0], io.StringIO()
    progress = Progress("caseloads rebuild", "subjects", every=10, clock=lambda: now[0], out=out)
    for done, t in ((500, 4.0), (1000, 11.0), (1500, 15.0), (2000, 22.0), (2100, 23.0)):
        now[0] = t
        progress(done, 2100)
    lines = out.getvalue().splitlines()
    assert [line.split(":")[1].split(" of ")[0].strip() for line in lines] == ["1,000", "2,000", "2,100"]
    assert lines[1] == "caseloads rebuild: 2,000 of 2,100 subjects (95 %), 91/s, about 1 s left"
    assert "(100 %)" in lines[-1]
