"""Daphne's HTTP requests skip Twisted's form parsing.

Daphne hands the raw body to the ASGI application and never reads Twisted's ``request.args``,
but Twisted still parses every POST that has a body: it runs the ``Content-Type`` header through
the ``email`` package (about a tenth of a web process's CPU per order POST, measured with py-spy)
and, for ``multipart/form-data`` or URL-encoded bodies, parses the whole body on the event loop
into memory nobody uses. Twisted has a switch for this (``parsePOSTFormSubmission``); Daphne does
not pass it, so it is turned off here, for every request Daphne creates. Django parses forms
itself, on a request thread, with its own upload limits.
"""
from daphne.http_protocol import WebRequest

_original_init = WebRequest.__init__


def _init_without_form_parsing(self, *args, **kwargs) -> None:
    _original_init(self, *args, **kwargs)
    self._parsePOSTFormSubmission = False


def install() -> None:
    """Idempotent; called from ``exchange/asgi.py`` before Daphne serves a request."""
    if WebRequest.__init__ is not _init_without_form_parsing:
        WebRequest.__init__ = _init_without_form_parsing
