"""Who may read compliance data (frameworks, controls, the AI system registry, the EU AI Act
modules): agent keys with the scope ``compliance:read``, or signed-in staff with
``view_dashboard``. One rule, used by every compliance API view."""

from apps.accounts.constants import Scope
from apps.core.api.permissions import ScopeOrPermission

CanReadCompliance = ScopeOrPermission.of(Scope.COMPLIANCE_READ.value, "accounts.view_dashboard")
