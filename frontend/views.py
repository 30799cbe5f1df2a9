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
from strategies.models import Strategy
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
    return render(request, "frontend/strategies.html", {"configs": context.strategies_context(user=request.user)})


@login_required
def backtests(request):
    from strategies.algos import registry

    schemas = {s.key: registry.get(s.key).schema_json() for s in Strategy.objects.order_by("key")
               if s.key in registry.names()}
    if not schemas:
        schemas = {name: cls.schema_json() for name, cls in registry.all().items()}
    runs = list(backtests_for(user=request.user).defer("trades", "equity_curve").order_by("-created_at")[:50])
    return render(request, "frontend/backtests.html", {
        "schemas": schemas, "symbols": list(Instrument.objects.order_by("symbol").values_list("symbol", flat=True)),
        "intervals": list(TIMEFRAMES), "runs": runs})


@login_required
def backtest_detail(request, pk: int):
    run = get_object_or_404(backtests_for(user=request.user), pk=pk)
    return render(request, "frontend/backtest_detail.html", {"run": run})


@login_required
def sweep_detail(request, sweep_key: str):
    if not backtests_for(user=request.user).filter(sweep_key=sweep_key).exists():
        raise Http404
    return render(request, "frontend/sweep.html", {"sweep_key": sweep_key})


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
