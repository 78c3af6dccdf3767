"""One menu for every staff page: each app registers its entries, the menu shows what the user may open.

Why a registry: the menu is the same on every page and differs only by role. An app that owns a page
registers it once (``register`` from its ``AppConfig.ready``) with the permission that page checks, so
the menu never offers a link that would answer 403 and no template hard-codes another app's URL.

``nav_items`` is the template context processor: it gives ``nav_items`` (a list of ``(label, url,
active)``) to every template rendered with a request whose user has passed the OTP step.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import reverse

#: Where an entry goes in the menu: lower first.
Order = int


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    order: Order
    #: Django permissions the page checks ("app.codename"); the user needs any one of them.
    any_perm: tuple[str, ...] = ()
    #: Extra rule for pages guarded by something other than a permission (e.g. "has assignments").
    visible: Callable[[object], bool] | None = field(default=None, compare=False)

    def shown_to(self, user) -> bool:
        if self.any_perm and not any(user.has_perm(p) for p in self.any_perm):
            return False
        return self.visible is None or bool(self.visible(user))


_ITEMS: dict[str, NavItem] = {}


def register(item: NavItem) -> None:
    """Add (or replace, keyed by URL name) one menu entry. Call from ``AppConfig.ready``."""
    _ITEMS[item.url_name] = item


def items_for(user) -> list[NavItem]:
    if not (getattr(user, "is_authenticated", False) and user.is_verified()):
        return []
    return [
        i for i in sorted(_ITEMS.values(), key=lambda i: (i.order, i.label)) if i.shown_to(user)
    ]


def nav_items(request) -> dict[str, list[tuple[str, str, bool]]]:
    """Context processor: the menu for this request's user, with the current section marked."""
    user = getattr(request, "user", None)
    if user is None:
        return {"nav_items": []}
    out = []
    for item in items_for(user):
        url = reverse(item.url_name)
        active = request.path == url or (url != "/" and request.path.startswith(url))
        out.append((item.label, url, active))
    return {"nav_items": out}
