"""API routes under /api/, plus the OpenAPI schema and its docs page."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from trading.api import views

router = DefaultRouter()
router.register("accounts", views.AccountViewSet, basename="account")
router.register("strategies", views.StrategyViewSet, basename="strategy")
router.register("configs", views.StrategyConfigViewSet, basename="config")

urlpatterns = [
    path("", include(router.urls)),
    path("auth/token/", obtain_auth_token, name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]
