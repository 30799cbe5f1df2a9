"""WebSocket URL routes."""

from django.urls import path

from trading.consumers import DeskConsumer

websocket_urlpatterns = [path("ws/desk/", DeskConsumer.as_asgi())]
