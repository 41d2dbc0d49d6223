"""Public market data and the private user stream.

The matcher publishes after each commit (``publisher``): the book into Redis (``bookstore``),
then Channels messages. Candles are written in the matcher's batch transaction (``services``).
REST reads are in ``selectors``, rendered by ``api``; WebSockets are in ``consumers`` (one market
per socket, and the private user stream) and ``stream`` (``/ws/stream/``: many markets and
channels on one socket, by the subscribe protocol of ``subscriptions``); the candles channel is
sent by ``candlefeed``. Every web process's ``hub`` fans the published messages out to its
sockets; a market socket opened with ``?updates=100ms`` gets them a window at a time (``windows``).

Book protocol (``/ws/markets/{symbol}/`` and ``GET markets/{symbol}/book-updates``):
- a book message has ``sequence`` (the market sequence after its batch) and ``prev_sequence``
  (the ``sequence`` of the book message before it); a snapshot has ``sequence`` only;
- a client at sequence S drops messages with ``sequence <= S``, applies the one with
  ``prev_sequence == S``, and otherwise has missed one: it asks for ``book-updates?after=S``
  (410 ``resnapshot_required`` when S is outside the window) and re-snapshots if refused;
- ``checksum`` is defined in ``checksum``: CRC32 of the best 25 levels per side.
"""
