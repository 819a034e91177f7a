"""Inbound pipeline steps of the replies app (see ``settings.SMS_INBOUND_PIPELINE``).

``keywords`` runs inline (STOP/START/HELP in the webhook's transaction); ``process`` is the
deferred step (keywords again for texts stored before, then the classifier and auto-replies).
"""

from replies.sorting import process  # noqa: F401
from replies.sorting import route_keywords as keywords  # noqa: F401
