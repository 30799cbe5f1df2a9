"""Alert channels over the API: a user's own channels only (others' are 404), the URL write-only (a hint is
shown), validation in trading/services/alerts.py, and a test message on demand."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from trading.api.pagination import CappedPagination
from trading.models import AlertChannel
from trading.models.alerts import ALERT_KINDS
from trading.services import alerts


class AlertChannelSerializer(serializers.ModelSerializer):
    url = serializers.CharField(write_only=True, required=False, max_length=2000,
                                help_text="Apprise URL, e.g. tgram://bottoken/chatid or json://host/path")
    kinds = serializers.ListField(child=serializers.ChoiceField(choices=ALERT_KINDS), required=False)

    class Meta:
        model = AlertChannel
        fields = ["id", "name", "url", "url_hint", "kinds", "near_liquidation_pct", "enabled", "created_at",
                  "last_sent_at", "last_error"]
        read_only_fields = ["url_hint", "created_at", "last_sent_at", "last_error"]

    def save(self, **kwargs):
        channel = self.instance or AlertChannel(owner=self.context["request"].user)
        data = self.validated_data
        try:
            self.instance = alerts.save_channel(
                channel=channel, url=data.get("url"), name=data.get("name"), kinds=data.get("kinds"),
                near_liquidation_pct=data.get("near_liquidation_pct"), enabled=data.get("enabled"))
        except DjangoValidationError as exc:
            raise ValidationError(exc.message_dict) from exc
        return self.instance


class AlertChannelViewSet(viewsets.ModelViewSet):
    serializer_class = AlertChannelSerializer
    pagination_class = CappedPagination

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return AlertChannel.objects.none()
        return AlertChannel.objects.filter(owner=self.request.user).order_by("id")

    @extend_schema(request=None, summary="Send a test message to this channel now")
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        channel = self.get_object()
        ok = alerts.send_test(channel=channel)
        channel.refresh_from_db()
        return Response({"delivered": ok, "last_error": channel.last_error},
                        status=status.HTTP_200_OK if ok else status.HTTP_502_BAD_GATEWAY)
