"""Settings for benchmarks/decide_load.py: the embedded-default settings plus the bench URLs."""

from lexecon_site.settings.dev import *  # noqa: F403

ROOT_URLCONF = "benchmarks.bench_urls"
