// A WebSocket that reconnects by itself (backoff up to 10 s) and reports its state.

export class ReconnectingSocket {
  constructor(path, { onMessage, onOpen, onState }) {
    this.url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
    this.onMessage = onMessage;
    this.onOpen = onOpen || (() => {});
    this.onState = onState || (() => {});
    this.attempt = 0;
    this.closed = false;
    this.connect();
  }

  connect() {
    this.onState(this.attempt ? "reconnecting" : "connecting");
    const ws = (this.ws = new WebSocket(this.url));
    ws.onopen = () => { this.attempt = 0; this.onOpen(); };
    ws.onmessage = (event) => {
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
