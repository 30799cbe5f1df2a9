"""Top-level URLs: admin, auth, the pages and the REST API."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from frontend.views import ThrottledLoginView, admin_login

urlpatterns = [
    path("admin/login/", admin_login, name="admin-login"),  # throttled; before the admin's own URLs
    path("admin/", admin.site.urls),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("api/", include("trading.api.urls")),
    path("", include("frontend.urls")),
]
