"""The exchange: a spot trading venue on Django.

This package stays import-light on purpose: ``exchange.matching`` is pure Python and must be
importable without Django or Celery. The Celery app is bound in ``CoreConfig.ready``.
"""
