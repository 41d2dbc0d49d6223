// The market stream: a local order book kept from the snapshot and the numbered book messages
// (the protocol of exchange/marketdata and examples/market_data_client.py), plus trades, ticker
// and status. A gap is repaired from book-updates?after=SEQ, else by a new snapshot; a bad
// checksum also re-snapshots. On every (re)connect the socket's snapshot starts afresh.
import { api, crc32, normalize, compare } from "./util.js";
import { ReconnectingSocket } from "./socket.js";

const CHECKSUM_LEVELS = 25;

export class LocalBook {
  constructor() {
    this.sequence = null;
    this.bids = new Map(); // price text -> quantity text
    this.asks = new Map();
  }

  load(sequence, bids, asks) {
    this.sequence = sequence;
    this.bids = new Map(bids.map(([p, q]) => [normalize(p), normalize(q)]));
    this.asks = new Map(asks.map(([p, q]) => [normalize(p), normalize(q)]));
  }

  /** true: applied; false: already in the book; throws "gap" when one is missing. */
  apply(message) {
    if (this.sequence === null) throw new Error("gap");
    if (message.sequence <= this.sequence) return false;
    if (message.prev_sequence !== this.sequence) throw new Error("gap");
    for (const [side, price, quantity] of message.changes) {
      const levels = side === "buy" ? this.bids : this.asks;
      if (compare(quantity, "0") === 0) levels.delete(normalize(price));
      else levels.set(normalize(price), normalize(quantity));
    }
    this.sequence = message.sequence;
    return true;
  }

  levels(depth) {
    const bids = [...this.bids.keys()].sort((a, b) => compare(b, a)).slice(0, depth).map((p) => [p, this.bids.get(p)]);
    const asks = [...this.asks.keys()].sort(compare).slice(0, depth).map((p) => [p, this.asks.get(p)]);
    return [bids, asks];
  }

  checksum() {
    const [bids, asks] = this.levels(CHECKSUM_LEVELS);
    const side = (levels) => levels.map(([p, q]) => `${p}:${q}`).join(",");
    return crc32(`${side(bids)};${side(asks)}`);
  }
}

export class MarketStream {
  /** handlers: onBook(book), onTrade(trade), onTicker(t), onStatus(status), onState(state), onResync() */
  constructor(symbol, handlers) {
    this.symbol = symbol;
    this.h = handlers;
    this.book = new LocalBook();
    this.queue = [];
    this.repairing = false;
    this.stats = { gaps: 0, resnapshots: 0, checksumMismatches: 0 };
    this.socket = new ReconnectingSocket(`/ws/markets/${encodeURIComponent(symbol)}/`, {
      onMessage: (m) => this.handle(m),
      onOpen: () => {},
      onState: (s) => this.h.onState(s),
    });
  }

  handle(message) {
    this.dispatch(message);
    this.h.onStats?.(this.stats);
  }

  dispatch(message) {
    switch (message.type) {
      case "snapshot":
        this.queue = [];
        this.book.load(message.sequence, message.bids, message.asks);
        if (this.book.checksum() !== message.checksum) { this.stats.checksumMismatches += 1; this.resnapshot(); return; }
        this.h.onState("live");
        this.h.onBook(this.book);
        this.h.onResync(); // trades, candles and ticker may have moved while we were away
        break;
      case "book":
        this.stats.messages = (this.stats.messages || 0) + 1;
        if (this.repairing) this.queue.push(message);
        else this.onBookMessage(message);
        break;
      case "trade": this.h.onTrade(message); break;
      case "ticker": this.h.onTicker(message); break;
      case "status": this.h.onStatus(message.status); break;
      default: break;
    }
  }

  onBookMessage(message) {
    let applied;
    try {
      applied = this.book.apply(message);
    } catch {
      this.stats.gaps += 1;
      this.queue.push(message);
      this.repair();
      return;
    }
    if (applied) {
      if (this.book.checksum() !== message.checksum) {
        this.stats.checksumMismatches += 1;
        this.resnapshot();
        return;
      }
      this.h.onBook(this.book);
    }
  }

  async repair() {
    if (this.repairing) return;
    this.repairing = true;
    this.h.onState("resyncing");
    try {
      try {
        const body = await api(`markets/${this.symbol}/book-updates?after=${this.book.sequence}`);
        for (const update of body.updates) this.book.apply(update);
      } catch {
        await this.loadDepth();
      }
      const queued = this.queue;
      this.queue = [];
      for (const m of queued) {
        if (m.sequence <= this.book.sequence) continue;
        if (m.prev_sequence !== this.book.sequence) { await this.loadDepth(); continue; }
        this.book.apply(m);
      }
      this.h.onState("live");
      this.h.onBook(this.book);
    } catch {
      this.socket.restart(); // the REST calls failed too: start over from a socket snapshot
    } finally {
      this.repairing = false;
      this.h.onStats?.(this.stats);
    }
  }

  async loadDepth() {
    this.stats.resnapshots += 1;
    const body = await api(`markets/${this.symbol}/depth?levels=5000`);
    this.book.load(body.sequence, body.bids, body.asks);
  }

  async resnapshot() {
    if (this.repairing) return;
    this.repairing = true;
    this.h.onState("resyncing");
    try {
      await this.loadDepth();
      const queued = this.queue;
      this.queue = [];
      for (const m of queued) { try { this.book.apply(m); } catch { /* older than the depth: skip */ } }
      this.h.onState("live");
      this.h.onBook(this.book);
    } catch {
      this.socket.restart();
    } finally {
      this.repairing = false;
    }
  }
}
