"""Inbound pipeline steps of the replies app (see ``settings.SMS_INBOUND_PIPELINE``)."""

from replies.sorting import process  # noqa: F401
