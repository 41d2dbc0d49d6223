// The markets page: every market's last price, 24 h change, high, low and volume, live from the
// market streams' ticker and status messages (re-read over REST after a reconnect).
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

refresh().catch(() => {});
for (const symbol of rows.keys()) {
  new ReconnectingSocket(`/ws/markets/${encodeURIComponent(symbol)}/`, {
    onMessage: (m) => {
      if (m.type === "snapshot") { conn.set(symbol, "live"); refresh().catch(() => {}); }
      else if (m.type === "ticker") setTicker(m);
      else if (m.type === "trade") {
        const tr = rows.get(symbol);
        if (tr) cell(tr, "last").textContent = fixed(m.price, decimals.get(symbol) ?? 2);
      } else if (m.type === "status") {
        const tr = rows.get(symbol);
        if (tr) cell(tr, "status").textContent = m.status;
      }
    },
    onState: (s) => conn.set(symbol, s),
  });
}
