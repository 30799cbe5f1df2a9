"""Page routes."""

from django.urls import path

from frontend import views

urlpatterns = [path("", views.desk, name="desk")]
