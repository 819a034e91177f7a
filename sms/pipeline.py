"""Inbound pipeline steps that belong to the core (see ``settings.SMS_INBOUND_PIPELINE``)."""

from sms.receiving import link_conversation  # noqa: F401
