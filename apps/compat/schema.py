"""OpenAPI description of the original's session token (imported in ``CompatConfig.ready``)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class OriginalSessionScheme(OpenApiAuthenticationExtension):
    target_class = "apps.compat.auth.authentication.OriginalSessionAuthentication"
    name = "OriginalSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Compat routes only: `Authorization: Bearer <session_id>` (or the "
            "`session_id` cookie) from POST /auth/login after password and one-time code.",
        }
