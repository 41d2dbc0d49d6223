// The markets page: every market's last price, 24 h change, high, low and volume, live from ONE
// socket (/ws/stream/) subscribed to every row's ticker and trades; status messages come with
// them. On every (re)connect the page subscribes again and re-reads the rows over REST.
import { api, fixed, compact, decimalsOf } from "./util.js";
import { ReconnectingSocket, ConnectionIndicator } from "./socket.js";

const conn = new ConnectionIndicator(document.getElementById("conn"));
const rows = new Map([...document.querySelectorAll("#markets tr[data-symbol]")].map((tr) => [tr.dataset.symbol, tr]));
const decimals = new Map();

function cell(tr, field) { return tr.querySelector(`[data-field=${field}]`); }

function setTicker(t) {
  const tr = rows.get(t.market);
  if (!tr) return;
  const d = decimals.get(t.market) ?? 2;
  if (t.last) cell(tr, "last").textContent = fixed(t.last, d);
  const change = cell(tr, "change_pct");
  if (t.change_pct !== null && t.change_pct !== undefined) {
    const pct = Number(t.change_pct);
    change.textContent = (pct > 0 ? "+" : "") + pct.toFixed(2) + "%";
    change.className = "num " + (pct > 0 ? "up" : pct < 0 ? "down" : "");
  }
  if (t.high) cell(tr, "high").textContent = fixed(t.high, d);
  if (t.low) cell(tr, "low").textContent = fixed(t.low, d);
  if (t.volume !== undefined) cell(tr, "volume").textContent = compact(t.volume);
}

async function refresh() {
  const [markets, tickers] = await Promise.all([api("markets"), api("tickers")]);
  for (const m of markets) {
    decimals.set(m.symbol, decimalsOf(m.tick_size));
    const tr = rows.get(m.symbol);
    if (tr) cell(tr, "status").textContent = m.status;
  }
  tickers.forEach(setTicker);
}

function onMessage(m) {
  const tr = rows.get(m.market);
  if (m.type === "ack") { conn.set("stream", "live"); refresh().catch(() => {}); }
  else if (m.type === "error") conn.set("stream", "offline"); // resync closes the socket, which reconnects
  else if (!tr) return;
  else if (m.type === "ticker") setTicker(m);
  else if (m.type === "trade") cell(tr, "last").textContent = fixed(m.price, decimals.get(m.market) ?? 2);
  else if (m.type === "status") cell(tr, "status").textContent = m.status;
}

refresh().catch(() => {});
if (rows.size) {
  const socket = new ReconnectingSocket("/ws/stream/", {
    onMessage,
    onOpen: () => socket.send({ op: "subscribe", channels: ["ticker", "trades"], markets: [...rows.keys()] }),
    onState: (s) => conn.set("stream", s),
  });
}
