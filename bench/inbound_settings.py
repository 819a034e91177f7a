"""Settings for ``bench/inbound.py``: production settings plus one bare view (``bench/inbound_urls.py``).

Everything of ``texting.settings_production`` (persistent connections with health checks, DEBUG
off), with ``/bench/bare/`` in front of the project's URLs.
"""

from texting.settings_production import *  # noqa: F403

ROOT_URLCONF = "bench.inbound_urls"
