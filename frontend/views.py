"""Server-rendered pages (thin: frontend/context.py reads through selectors; the JS talks to /api/ and
/ws/desk/). Also serves plotly.js from the installed plotly package (no CDN, no build step) and a
throttled login page."""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET

from frontend import context
from trading.choices import TIMEFRAMES
from trading.models import Instrument
from trading.selectors import backtests_for


@login_required
def desk(request):
    return render(request, "frontend/desk.html", {"desk": context.desk_context(user=request.user)})


@login_required
def chart(request):
    symbols = list(Instrument.objects.order_by("symbol").values_list("symbol", flat=True))
    symbol = request.GET.get("symbol") or (symbols[0] if symbols else "BTCUSDT")
    interval = request.GET.get("interval", "5m")
    if interval not in TIMEFRAMES:
        interval = "5m"
    return render(request, "frontend/chart.html", {
        "symbols": symbols, "intervals": list(TIMEFRAMES), "symbol": symbol, "interval": interval,
        "chart": context.chart_context(user=request.user, symbol=symbol, interval=interval)})


@login_required
def strategies(request):
    from strategies import selectors as strategy_selectors
    from trading.selectors import accounts_for

    return render(request, "frontend/strategies.html", {
        "configs": context.strategies_context(user=request.user),
        "strategies": strategy_selectors.strategies_overview(), "load_errors": strategy_selectors.load_errors(),
        "accounts": [{"id": a.pk, "name": a.name} for a in accounts_for(user=request.user).order_by("name")],
        "symbols": list(Instrument.objects.order_by("symbol").values_list("symbol", flat=True)),
        "intervals": list(TIMEFRAMES), "is_staff": request.user.is_staff})


@login_required
def backtests(request):
    from strategies.algos import registry

    schemas = {name: cls.schema_json() for name, cls in registry.all().items()}  # shipped + user, as loaded now
    runs = list(backtests_for(user=request.user).defer("trades", "equity_curve", "indicators").order_by("-created_at")[:50])
    return render(request, "frontend/backtests.html", {
        "schemas": schemas, "symbols": list(Instrument.objects.order_by("symbol").values_list("symbol", flat=True)),
        "intervals": list(TIMEFRAMES), "runs": runs, "pickers": context.backtests_context(user=request.user)})


@login_required
def backtest_detail(request, pk: int):
    from trading.services.research_verdicts import backtest_verdict

    run = get_object_or_404(backtests_for(user=request.user), pk=pk)
    return render(request, "frontend/backtest_detail.html", {"run": run, "verdict": backtest_verdict(run=run)})


@login_required
def research(request):
    from strategies.algos import registry
    from trading.selectors import configs_for, studies_for

    studies = list(studies_for(user=request.user).defer("result").order_by("-created_at")[:50])
    return render(request, "frontend/research.html", {
        "studies": studies, "strategies": registry.names(),
        "symbols": list(Instrument.objects.order_by("symbol").values_list("symbol", flat=True)),
        "configs": [{"id": c.pk, "name": c.name, "strategy": c.strategy.key} for c in configs_for(user=request.user)]})


@login_required
def research_detail(request, pk: int):
    from trading.selectors import studies_for

    study = get_object_or_404(studies_for(user=request.user), pk=pk)
    return render(request, "frontend/research_detail.html", {"study": study, "verdict": study.verdict or None,
                                                             "result": study.result})


@login_required
def sweep_detail(request, sweep_key: str):
    from trading.services.research_verdicts import sweep_verdict

    runs = list(backtests_for(user=request.user).filter(sweep_key=sweep_key).order_by("id"))
    if not runs:
        raise Http404
    metric = runs[0].settings.get("sweep", {}).get("metric", "sharpe")
    return render(request, "frontend/sweep.html", {"sweep_key": sweep_key,
                                                   "verdict": sweep_verdict(runs=runs, metric=metric)})


_PLOTLY = None


def _plotly_path() -> Path:
    global _PLOTLY
    if _PLOTLY is None:
        import plotly

        _PLOTLY = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return _PLOTLY


@require_GET
@cache_control(max_age=86400, public=True)
def plotly_js(request):
    """plotly.min.js as bundled in the installed ``plotly`` package (its version is in the URL's query)."""
    path = _plotly_path()
    if not path.exists():
        return HttpResponse("plotly.min.js not found in the plotly package", status=500)
    return FileResponse(path.open("rb"), content_type="application/javascript")


def _login_throttled(request, view) -> HttpResponse | None:
    """A 429 when the client address has used up its login attempts (the API's login throttle), else None."""
    from trading.api.throttles import LoginThrottle

    throttle = LoginThrottle()
    if throttle.allow_request(request, view):
        return None
    resp = HttpResponse("Too many login attempts; wait a minute.", status=429, content_type="text/plain")
    wait = throttle.wait()
    if wait is not None:
        resp["Retry-After"] = str(max(1, int(wait)))
    return resp


class ThrottledLoginView(auth_views.LoginView):
    """Django's login page with the API's login throttle (per client address)."""

    def post(self, request, *args, **kwargs):
        return _login_throttled(request, self) or super().post(request, *args, **kwargs)


def admin_login(request, extra_context=None):
    """The admin's login page behind the same login throttle (attempts are POSTs)."""
    from django.contrib import admin

    if request.method == "POST":
        refused = _login_throttled(request, None)
        if refused is not None:
            return refused
    return admin.site.login(request, extra_context)
