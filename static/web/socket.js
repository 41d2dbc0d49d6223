// A WebSocket that reconnects by itself (backoff up to 10 s) and reports its state. A ping every
// 15 s; a socket silent for 40 s is taken as dead (a half-open TCP connection never closes).

const PING_EVERY = 15000;
const SILENT_MAX = 40000;

export class ReconnectingSocket {
  constructor(path, { onMessage, onOpen, onState }) {
    this.url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
    this.onMessage = onMessage;
    this.onOpen = onOpen || (() => {});
    this.onState = onState || (() => {});
    this.attempt = 0;
    this.closed = false;
    this.lastHeard = Date.now();
    this.connect();
    this.heartbeat = setInterval(() => {
      if (!this.ws || this.ws.readyState !== 1) return;
      if (Date.now() - this.lastHeard > SILENT_MAX) this.restart();
      else this.send({ type: "ping" });
    }, PING_EVERY);
  }

  connect() {
    this.onState(this.attempt ? "reconnecting" : "connecting");
    const ws = (this.ws = new WebSocket(this.url));
    ws.onopen = () => { this.attempt = 0; this.lastHeard = Date.now(); this.onOpen(); };
    ws.onmessage = (event) => {
      this.lastHeard = Date.now();
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      this.onMessage(message);
    };
    ws.onclose = () => {
      if (this.closed) return;
      this.onState("offline");
      this.attempt += 1;
      const delay = Math.min(10000, 500 * 2 ** Math.min(this.attempt - 1, 5));
      setTimeout(() => this.connect(), delay);
    };
    // An error is always followed by close, which reconnects; nothing to log here.
    ws.onerror = () => {};
  }

  /** Drop the connection now and reconnect (a fresh snapshot). */
  restart() {
    if (this.ws && this.ws.readyState <= 1) this.ws.close();
  }

  send(obj) {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify(obj));
  }
}

/** One indicator for several streams: the worst state wins. */
export class ConnectionIndicator {
  constructor(element) {
    this.element = element;
    this.states = {};
  }

  set(name, state) {
    this.states[name] = state;
    const order = ["offline", "reconnecting", "connecting", "resyncing", "live"];
    const worst = Object.values(this.states).sort((a, b) => order.indexOf(a) - order.indexOf(b))[0];
    if (!this.element) return;
    this.element.dataset.state = worst;
    this.element.textContent = { live: "live", resyncing: "re-syncing", connecting: "connecting",
      reconnecting: "reconnecting", offline: "offline" }[worst];
    this.element.title = Object.entries(this.states).map(([k, v]) => `${k}: ${v}`).join(", ");
  }
}
