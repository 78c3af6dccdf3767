"""A test-only URLconf: one POST view that needs a scope and validates its body."""

from django.urls import include, path
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.permissions import ScopeOrPermission
from apps.core.exceptions import Conflict
from lexecon_site.urls import handler400, handler403, handler404, handler500  # noqa: F401


class EchoApi(APIView):
    permission_classes = [ScopeOrPermission.of("policies:write", "accounts.manage_policies")]

    class Input(serializers.Serializer):
        name = serializers.CharField(max_length=20)
        count = serializers.IntegerField(min_value=0)

    def post(self, request):
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["name"] == "taken":
            raise Conflict("That name is taken.", details={"name": "taken"})
        if data.validated_data["name"] == "boom":
            raise RuntimeError("secret internal detail")
        return Response(data.validated_data, status=201)


urlpatterns = [
    path("echo", EchoApi.as_view()),
    path("", include("lexecon_site.urls")),
]
