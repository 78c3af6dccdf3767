"""``GET /auth/whoami``: lets an agent (or staff session) check which principal and scopes it has."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.permissions import is_agent


class WhoAmIApi(APIView):
    @extend_schema(
        operation_id="auth_whoami",
        responses={
            200: inline_serializer(
                "WhoAmI",
                {
                    "kind": serializers.ChoiceField(choices=["agent", "staff"]),
                    "name": serializers.CharField(),
                    "scopes": serializers.ListField(child=serializers.CharField()),
                    "roles": serializers.ListField(child=serializers.CharField()),
                },
            )
        },
    )
    def get(self, request):
        user = request.user
        if is_agent(request):
            return Response(
                {"kind": "agent", "name": user.name, "scopes": sorted(user.scopes), "roles": []}
            )
        return Response({"kind": "staff", "name": user.username, "scopes": [], "roles": user.roles})
