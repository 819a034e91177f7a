"""Inbound pipeline steps of the replies app (see ``settings.SMS_INBOUND_DEFERRED_PIPELINE``).

``process`` is the deferred step: the classifier and the reply type's action (auto-replies,
opt-out). STOP/START/HELP and configured keywords run before it, inline, in
``keywords.pipeline.route``.
"""

from replies.sorting import process  # noqa: F401
