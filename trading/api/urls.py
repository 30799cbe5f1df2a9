"""API routes under /api/, plus the token endpoints, the OpenAPI schema and its docs page (both need a
login, like every other endpoint)."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.permissions import IsAuthenticated
from rest_framework.routers import DefaultRouter

from trading.api import (
    views,
    views_alerts,
    views_auth,
    views_backtest,
    views_chart,
    views_history,
    views_manual,
    views_record,
    views_research,
)

router = DefaultRouter()
router.register("accounts", views.AccountViewSet, basename="account")
router.register("strategies", views.StrategyViewSet, basename="strategy")
router.register("configs", views.StrategyConfigViewSet, basename="config")
router.register("instruments", views_record.InstrumentViewSet, basename="instrument")
router.register("signals", views_record.SignalViewSet, basename="signal")
router.register("orders", views_record.OrderViewSet, basename="order")
router.register("positions", views_record.PositionViewSet, basename="position")
router.register("fills", views_record.FillViewSet, basename="fill")
router.register("decisions", views_record.MonitorDecisionViewSet, basename="decision")
router.register("equity", views_record.EquitySnapshotViewSet, basename="equity")
router.register("runs", views_record.RunRecordViewSet, basename="run")
router.register("candles", views_record.CandleViewSet, basename="candle")
router.register("backtests", views_backtest.BacktestViewSet, basename="backtest")
router.register("sweeps", views_backtest.SweepViewSet, basename="sweep")
router.register("alert-channels", views_alerts.AlertChannelViewSet, basename="alert-channel")
router.register("research", views_research.StudyViewSet, basename="research")

urlpatterns = [
    path("positions/<int:pk>/close/", views_manual.ClosePositionView.as_view(), name="position-close"),
    path("positions/<int:pk>/protection/", views_manual.ProtectionView.as_view(), name="position-protection"),
    path("configs/<int:pk>/open/", views_manual.OpenView.as_view(), name="config-open"),
    path("events/", views_manual.EventListView.as_view(), name="events"),
    path("history/", views_history.HistoryView.as_view(), name="history"),
    path("trades.csv", views_history.TradesCsvView.as_view(), name="trades-csv"),
    path("chart/candles/", views_chart.ChartCandlesView.as_view(), name="chart-candles"),
    path("chart/marks/", views_chart.ChartMarksView.as_view(), name="chart-marks"),
    path("chart/indicators/", views_chart.ChartIndicatorsView.as_view(), name="chart-indicators"),
    path("", include(router.urls)),
    path("auth/token/", views_auth.TokenLoginView.as_view(), name="api-token"),
    path("auth/token/refresh/", views_auth.TokenRefreshView.as_view(), name="api-token-refresh"),
    path("auth/logout/", views_auth.TokenLogoutView.as_view(), name="api-logout"),
    path("auth/logout-all/", views_auth.TokenLogoutAllView.as_view(), name="api-logout-all"),
    path("schema/", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema", permission_classes=[IsAuthenticated]),
         name="api-docs"),
]
