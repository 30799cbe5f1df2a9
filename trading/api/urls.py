"""API routes under /api/, plus the token login, the OpenAPI schema and its docs page."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.routers import DefaultRouter

from trading.api import views, views_alerts, views_backtest, views_record
from trading.api.throttles import LoginThrottle


class ThrottledObtainAuthToken(ObtainAuthToken):
    throttle_classes = [LoginThrottle]


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

urlpatterns = [
    path("", include(router.urls)),
    path("auth/token/", ThrottledObtainAuthToken.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
