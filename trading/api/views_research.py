"""API of walk-forward studies: POST queues one (202), GET lists/reads them with progress, result and verdict,
POST {id}/cancel/ stops one. Each user sees only their own studies (staff: all)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from trading.api.pagination import CappedPagination
from trading.api.serializers_research import (
    StudyAcceptedSerializer,
    StudyCreateSerializer,
    StudyDetailSerializer,
    StudySerializer,
)
from trading.api.throttles import ThrottledStarts
from trading.api.views import drf_error
from trading.api.views_backtest import _plain_settings
from trading.models import ResearchStudy
from trading.selectors import configs_for, studies_for
from trading.services import research


class StudyViewSet(ThrottledStarts, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    pagination_class = CappedPagination
    filterset_fields = ["status", "strategy", "config"]
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ResearchStudy.objects.none()
        qs = studies_for(user=self.request.user)
        return qs.defer("result") if self.action == "list" else qs

    def get_serializer_class(self):
        return {"create": StudyCreateSerializer, "retrieve": StudyDetailSerializer}.get(self.action, StudySerializer)

    @extend_schema(request=StudyCreateSerializer, responses={202: StudyAcceptedSerializer},
                   summary="Start a walk-forward study (trials run as Celery tasks on the research queue)")
    def create(self, request, *args, **kwargs):
        body = StudyCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        d = body.validated_data
        config = None
        if d.get("config") is not None:
            config = configs_for(user=request.user).filter(pk=d["config"]).first()
            if config is None:
                raise serializers.ValidationError({"config": f"config: no config {d['config']} of yours"})
        try:
            study = research.start_walkforward(
                owner=request.user, strategy=d["strategy"], settings=_plain_settings(d["settings"]), space=d["space"],
                folds=d["folds"], train_ratio=d["train_ratio"], anchored=d["anchored"], n_trials=d["trials"],
                sampler=d["sampler"], seed=d["seed"], parallel=d["parallel"], config=config, name=d["name"])
        except DjangoValidationError as exc:
            raise drf_error(exc) from exc
        return Response({"id": study.pk, "status": study.status, "url": f"/api/research/{study.pk}/"},
                        status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={200: StudySerializer}, summary="Cancel a queued or running study")
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        try:
            study = research.cancel_study(study=self.get_object())
        except DjangoValidationError as exc:
            raise drf_error(exc) from exc
        return Response(StudySerializer(study).data)
