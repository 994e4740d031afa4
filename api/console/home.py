"""The home page: this month's figures per kelurahan and the queues (sync.dashboard)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Request

from api.console import charts, i18n, render
from api.console.deps import ConsoleDep
from api.deps import ReadSessionDep
from sync import dashboard as service

router = APIRouter()


@router.get("/admin")
def home(request: Request, console: ConsoleDep, session: ReadSessionDep):
    figures = service.dashboard(session, principal=console.principal, today=date.today())
    lang = render.language(request)
    trend = charts.trend_chart(figures.trend, title=i18n.translate("dash.trend", lang),
                               names={name: i18n.translate(f"dash.{name}", lang)
                                      for name in charts.TREND_SERIES})
    return render.page(request, "dashboard.html", d=figures, trend=trend)
