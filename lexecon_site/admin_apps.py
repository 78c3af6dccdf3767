"""Admin app config that installs :class:`lexecon_site.admin_site.LexeconAdminSite` as the default site.

Kept apart from the site class so that loading the app registry does not import auth models early.
"""

from django.contrib.admin.apps import AdminConfig


class LexeconAdminConfig(AdminConfig):
    default_site = "lexecon_site.admin_site.LexeconAdminSite"
