"""The embedded default used by ``make run``: secrets generated once into ``var/``, nothing to configure."""

from lexecon_site.env import local_secret
from lexecon_site.settings.base import *  # noqa: F403

SECRET_KEY = local_secret("LEXECON_SECRET_KEY", "secret_key")
LEXECON_MASTER_KEY = local_secret("LEXECON_MASTER_KEY", "master_key", nbytes=32)
LEXECON_EMBEDDED = True
