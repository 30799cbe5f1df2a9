"""Page routes."""

from django.urls import path

from frontend import views

urlpatterns = [
    path("", views.desk, name="desk"),
    path("chart/", views.chart, name="chart"),
    path("strategies/", views.strategies, name="strategies"),
    path("backtests/", views.backtests, name="backtests"),
    path("backtests/<int:pk>/", views.backtest_detail, name="backtest-detail"),
    path("sweeps/<str:sweep_key>/", views.sweep_detail, name="sweep-detail"),
    path("research/", views.research, name="research"),
    path("research/<int:pk>/", views.research_detail, name="research-detail"),
    path("assets/plotly.min.js", views.plotly_js, name="plotly-js"),
]
