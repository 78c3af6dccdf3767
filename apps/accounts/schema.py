"""OpenAPI descriptions of our two authentication schemes (imported in ``AccountsConfig.ready``)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class AgentKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apps.accounts.authentication.AgentKeyAuthentication"
    name = "AgentKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "Agent API key: `Authorization: Bearer lxk_<prefix>_<secret>`.",
        }


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "apps.accounts.authentication.StaffSessionAuthentication"
    name = "StaffSession"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "Browser session after password + one-time code (CSRF token required).",
        }
