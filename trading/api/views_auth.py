"""API token endpoints (django-rest-knox tokens: hashed at rest, with an expiry):
``POST auth/token/`` {username, password} -> {token, expiry} (throttled per client address);
``POST auth/token/refresh/`` rotates the token it is called with -> a new {token, expiry}, the old one is dead;
``POST auth/logout/`` deletes the calling token; ``POST auth/logout-all/`` deletes all of the user's tokens."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from knox import views as knox_views
from knox.auth import TokenAuthentication
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from trading.api.throttles import LoginThrottle
from trading.services.sessions import prune_tokens, rotate_token

TokenSerializer = inline_serializer("IssuedToken", {"token": serializers.CharField(),
                                                    "expiry": serializers.DateTimeField(allow_null=True)})


class TokenLoginView(knox_views.LoginView):
    """Username and password in, a new expiring token out (the user's oldest beyond the limit are deleted)."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle]
    serializer_class = AuthTokenSerializer

    @extend_schema(request=AuthTokenSerializer, responses={200: TokenSerializer}, summary="Get an API token")
    def post(self, request, format=None):
        body = AuthTokenSerializer(data=request.data, context={"request": request})
        body.is_valid(raise_exception=True)
        request.user = body.validated_data["user"]
        response = super().post(request, format=format)
        prune_tokens(user_id=request.user.pk, keep=settings.QUANTDESK_TOKENS_PER_USER)
        return response


class TokenRefreshView(APIView):
    """Rotate: the token in the Authorization header is replaced by a new one with a fresh expiry."""

    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: TokenSerializer}, summary="Rotate the calling API token")
    def post(self, request, format=None):
        instance, key = rotate_token(token=request.auth)
        expiry = serializers.DateTimeField().to_representation(instance.expiry) if instance.expiry else None
        return Response({"token": key, "expiry": expiry})


class TokenLogoutView(knox_views.LogoutView):
    @extend_schema(request=None, responses={204: None}, summary="Delete the calling API token")
    def post(self, request, format=None):
        return super().post(request, format=format)


class TokenLogoutAllView(knox_views.LogoutAllView):
    @extend_schema(request=None, responses={204: None}, summary="Delete every API token of the user")
    def post(self, request, format=None):
        return super().post(request, format=format)
