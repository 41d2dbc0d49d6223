// The private stream: the signed-in user's orders, fills and balances, with a per-user sequence;
// deposit updates from the chain watcher come without a sequence (onDeposit).
// "subscribed" tells the current sequence; each frame's sequence must be the previous + 1. On a
// gap or a reconnect the page re-reads orders, fills and balances over REST (onResync).
import { ReconnectingSocket } from "./socket.js";

export class UserStream {
  constructor({ onOrder, onFill, onBalance, onResync, onState, onDeposit }) {
    this.h = { onOrder, onFill, onBalance, onResync, onState, onDeposit };
    this.sequence = null;
    this.socket = new ReconnectingSocket("/ws/user/", {
      onMessage: (m) => this.handle(m),
      onState: (s) => onState(s),
    });
  }

  handle(message) {
    if (message.type === "subscribed") {
      if (typeof message.sequence === "number") this.sequence = message.sequence;
      this.h.onState("live");
      this.h.onResync();
      return;
    }
    if (message.type === "error" || message.type === "pong") return;
    if (typeof message.sequence === "number") {
      if (this.sequence !== null && message.sequence <= this.sequence) return;
      const gap = this.sequence !== null && message.sequence !== this.sequence + 1;
      this.sequence = message.sequence;
      if (gap) { this.h.onResync(); return; }
    }
    if (message.type === "order") this.h.onOrder(message.order);
    else if (message.type === "fill") this.h.onFill(message.market, message.fill);
    else if (message.type === "balance") this.h.onBalance(message.balances);
    else if (message.type === "deposit" && this.h.onDeposit) this.h.onDeposit(message.deposit);
  }
}
