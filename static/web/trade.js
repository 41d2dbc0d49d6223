// The trading page: ladder, tape, chart, ticker, order form, my orders / fills / balances, all
// live over the two WebSockets, re-synced over REST after a gap or a reconnect.
import { MarketStream } from "./book.js";
import { CandleChart } from "./chart.js";
import { UserStream } from "./user.js";
import { ConnectionIndicator } from "./socket.js";
import { OrderForm } from "./orderform.js";
import { AmendEditor } from "./amend.js";
import { api, fixed, compact, time, dateTime, row, decimalsOf, compare, normalize } from "./util.js";

const root = document.getElementById("trade");
const rules = JSON.parse(document.getElementById("market-rules").textContent);
const symbol = rules.symbol;
const authenticated = root.dataset.auth === "1";
const PD = decimalsOf(rules.tick_size);
const QD = decimalsOf(rules.lot_size);
const LEVELS = 14;
const $ = (id) => document.getElementById(id);
const conn = new ConnectionIndicator($("conn"));

document.getElementById("market-switch").addEventListener("change", (e) => { location.href = e.target.value; });

// ------------------------------------------------------------------ order book ladder
let form = null;
let bookFrame = 0;
let latestBook = null;

function renderBook() {
  bookFrame = 0;
  const [bids, asks] = latestBook.levels(LEVELS);
  // Depth bars show the cumulative amount from the best price outwards.
  const cumulative = (levels) => { let sum = 0; return levels.map(([, q]) => (sum += Number(q))); };
  const bidDepth = cumulative(bids), askDepth = cumulative(asks);
  const max = Math.max(bidDepth[bidDepth.length - 1] || 0, askDepth[askDepth.length - 1] || 0);
  fillSide($("asks"), asks.slice().reverse(), askDepth.slice().reverse(), "ask", max);
  fillSide($("bids"), bids, bidDepth, "bid", max);
  const bestBid = bids[0] && bids[0][0], bestAsk = asks[0] && asks[0][0];
  $("mid").textContent = bestAsk && bestBid ? fixed(String((Number(bestAsk) + Number(bestBid)) / 2), PD) : "—";
  $("spread-val").textContent = bestAsk && bestBid ? "spread " + fixed(String(Number(bestAsk) - Number(bestBid)), PD) : "";
  root.dataset.bookSequence = String(latestBook.sequence);
  if (form) form.setBest(bestBid, bestAsk);
}

function fillSide(tbody, levels, depth, cls, max) {
  const rows = levels.map(([price, qty], i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "px " + cls;
    button.textContent = fixed(price, PD);
    button.dataset.price = price;
    button.setAttribute("aria-label", `${cls === "ask" ? "Ask" : "Bid"} ${price}, amount ${qty}: use this price`);
    const tr = row([button, [fixed(qty, QD), "num"], [fixed(String(Number(price) * Number(qty)), 2), "num hide-sm"]],
      { "data-price": price, "data-quantity": qty });
    tr.className = "level " + cls;
    tr.style.setProperty("--depth", max ? ((depth[i] / max) * 100).toFixed(1) + "%" : "0%");
    return tr;
  });
  tbody.replaceChildren(...rows);
}

document.querySelector(".ladder").addEventListener("click", (e) => {
  const button = e.target.closest("button.px");
  if (button && form) form.setPrice(button.dataset.price);
});

// ------------------------------------------------------------------ tape and ticker
const tape = $("tape");
const seenTrades = new Set();

function addTrade(trade, { prepend = true } = {}) {
  if (seenTrades.has(trade.trade_id)) return;
  seenTrades.add(trade.trade_id);
  const tr = row([[fixed(trade.price, PD), "num " + (trade.side === "buy" ? "up" : "down")], [fixed(trade.quantity, QD), "num"],
    [time(trade.ts), "num muted"]], { "data-trade-id": trade.trade_id });
  if (prepend) tape.prepend(tr); else tape.append(tr);
  while (tape.children.length > 60) tape.lastElementChild.remove();
}

async function loadTrades() {
  const trades = await api(`markets/${symbol}/trades?limit=60`);
  tape.replaceChildren();
  seenTrades.clear();
  for (const t of trades) addTrade(t, { prepend: false });
}

function setTicker(t) {
  if (t.last) $("t-last").textContent = fixed(t.last, PD);
  const change = $("t-change");
  if (t.change_pct !== null && t.change_pct !== undefined) {
    const pct = Number(t.change_pct);
    change.textContent = (pct > 0 ? "+" : "") + pct.toFixed(2) + "%";
    change.className = "stat-value " + (pct > 0 ? "up" : pct < 0 ? "down" : "");
  }
  if (t.high) $("t-high").textContent = fixed(t.high, PD);
  if (t.low) $("t-low").textContent = fixed(t.low, PD);
  if (t.volume !== undefined) $("t-volume").textContent = compact(t.volume);
  if (t.last) document.title = `${fixed(t.last, PD)} · ${symbol} · Exchange`;
}

function setStatus(status) {
  rules.status = status;
  $("t-status").textContent = status;
  $("t-status").className = "stat-value " + (status === "trading" ? "" : "down");
}

// ------------------------------------------------------------------ chart
const chart = new CandleChart($("chart"), symbol, { tickSize: rules.tick_size });
document.querySelector(".intervals").addEventListener("click", (e) => {
  const button = e.target.closest("button[data-interval]");
  if (!button) return;
  for (const b of document.querySelectorAll(".intervals button")) b.setAttribute("aria-pressed", String(b === button));
  chart.load(button.dataset.interval).catch(() => {});
});

// ------------------------------------------------------------------ market stream
let resyncTimer = null;
new MarketStream(symbol, {
  onBook: (book) => { latestBook = book; if (!bookFrame) bookFrame = requestAnimationFrame(renderBook); },
  onTrade: (t) => { addTrade(t); chart.addTrade(t); $("t-last").textContent = fixed(t.price, PD); },
  onTicker: setTicker,
  onStatus: setStatus,
  onState: (s) => conn.set("market", s),
  onStats: (stats) => { root.dataset.gaps = String(stats.gaps); root.dataset.resnapshots = String(stats.resnapshots); },
  onResync: () => {
    clearTimeout(resyncTimer);
    resyncTimer = setTimeout(() => {
      Promise.all([loadTrades(), chart.load(), api(`markets/${symbol}/ticker`).then(setTicker)]).catch(() => {});
    }, 50);
  },
});

// ------------------------------------------------------------------ my orders, fills, balances
const orders = new Map(); // id -> order (REST shape, or the stream's)
const balances = new Map(); // asset -> {available, held, total}
const fills = [];

function isOpen(o) { return o.status === "pending" || o.status === "open"; }

let amend = null; // the in-place editor of open orders (signed in only)

/** The amend the order is waiting for has reached it (its price and amount are the new ones). */
function amendApplied(o, pending) {
  return (!pending.price || (o.price && compare(o.price, pending.price) === 0)) &&
    (!pending.quantity || (o.quantity && compare(o.quantity, pending.quantity) === 0));
}

function upsertOrder(o) {
  if (o.market !== symbol) return;
  const known = orders.get(o.id);
  // A late frame never turns a finished order back into an open one.
  if (known && !isOpen(known) && isOpen(o)) return;
  if (known && compare(known.filled_quantity || "0", o.filled_quantity || "0") > 0 && isOpen(o)) return;
  const merged = { ...known, ...o };
  if (merged.amend_pending && (amendApplied(merged, merged.amend_pending) || !isOpen(merged))) merged.amend_pending = null;
  orders.set(o.id, merged);
  renderOrders();
}

function button(text, attrs) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = "ghost small";
  b.textContent = text;
  for (const [k, v] of Object.entries(attrs)) b.setAttribute(k, v);
  return b;
}

function openOrderRows(o) {
  const kept = amend && amend.rowsFor(o);
  if (kept) return kept;
  const actions = document.createElement("span");
  actions.className = "row-actions";
  // Orders with a limit price can be amended (price and amount); a market order never rests.
  if (amend && o.price && o.quantity) {
    const edit = button("Edit", { "aria-label": `Amend order ${o.id}`, "data-amend": o.id });
    if (o.cancel_requested || o.amend_pending) edit.disabled = true;
    actions.append(edit, " ");
  }
  const cancel = button("Cancel", { "aria-label": `Cancel order ${o.id}`, "data-cancel": o.id });
  if (o.cancel_requested) cancel.disabled = true;
  actions.append(cancel);
  const tr = row([[o.created_at ? dateTime(o.created_at) : "", "muted"], [o.side, o.side === "buy" ? "up" : "down"], typeText(o),
    [o.price ? fixed(o.price, PD) : "market", "num"], [o.quantity ? fixed(o.quantity, QD) : quoteText(o), "num"],
    [fixed(o.filled_quantity || "0", QD), "num"], actions], { "data-order-id": o.id, "data-status": o.status });
  if (o.amend_pending) {
    tr.dataset.amending = "1";
    tr.title = "Amend sent: waiting for the matcher";
  }
  return [tr];
}

/** The type as a trader reads it: "stop-market @ 31000.00", "limit FOK". */
function typeText(o) {
  let text = (o.type || "").replace("_", "-");
  if (o.stop_price) text += ` @ ${fixed(o.stop_price, PD)}`;
  // A market order is IOC unless it says FOK: name the time in force only when it is not the default.
  const tif = (o.time_in_force || "").toUpperCase();
  const marketLike = o.type === "market" || o.type === "stop_market";
  if (tif === "FOK" || (tif === "IOC" && !marketLike)) text += ` ${tif}`;
  if (o.post_only) text += " post-only";
  return text;
}

function quoteText(o) {
  return o.quote_amount ? `${normalize(o.quote_amount)} ${rules.quote}` : "—";
}

function renderOrders() {
  const all = [...orders.values()].sort((a, b) => b.id - a.id);
  const open = all.filter(isOpen);
  $("open-count").textContent = open.length ? `(${open.length})` : "";
  if (amend) amend.forget(new Set(open.map((o) => o.id)));
  $("open-orders").replaceChildren(...open.flatMap(openOrderRows));
  $("order-history").replaceChildren(...all.filter((o) => !isOpen(o)).slice(0, 100).map((o) =>
    row([[o.created_at ? dateTime(o.created_at) : "", "muted"], [o.side, o.side === "buy" ? "up" : "down"], typeText(o),
      [o.price ? fixed(o.price, PD) : "market", "num"], [o.quantity ? fixed(o.quantity, QD) : quoteText(o), "num"],
      [fixed(o.filled_quantity || "0", QD), "num"], o.status], { "data-order-id": o.id, "data-status": o.status })));
}

/** The asset a fill's fee was charged in: the API says so; else the rule (a buyer pays in the
 * base asset it receives, a seller in the quote asset). */
function feeAsset(f) {
  return f.fee_asset || (f.side === "buy" ? rules.base : rules.quote);
}

function renderFills() {
  $("fills").replaceChildren(...fills.slice(0, 100).map((f) =>
    row([[dateTime(f.created_at || f.ts), "muted"], [f.side, f.side === "buy" ? "up" : "down"], [fixed(f.price, PD), "num"],
      [fixed(f.quantity, QD), "num"], [`${normalize(f.fee)} ${feeAsset(f)}`, "num"], f.liquidity || "—"],
    { "data-order-id": f.order_id, "data-fee-asset": feeAsset(f) })));
}

function renderBalances() {
  const rowsOut = [...balances.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([asset, b]) =>
    row([asset, [b.available, "num"], [b.held, "num"], [b.total, "num"]], { "data-asset": asset }));
  $("balances").replaceChildren(...rowsOut);
  if (form) form.setBalances(balances);
}

async function loadPrivate() {
  const [open, closed, fillPage, bal] = await Promise.all([
    api(`orders?status=open&market=${symbol}&limit=200`), api(`orders?status=closed&market=${symbol}&limit=100`),
    api(`fills?market=${symbol}&limit=100`), api("balances"),
  ]);
  orders.clear();
  for (const o of [...closed.results, ...open.results]) orders.set(o.id, o);
  fills.splice(0, fills.length, ...fillPage.results);
  balances.clear();
  for (const b of bal) balances.set(b.asset, b);
  renderOrders(); renderFills(); renderBalances();
}

let fillsTimer = null;
function refreshBalances() {
  api("balances").then((list) => { for (const b of list) balances.set(b.asset, b); renderBalances(); }).catch(() => {});
}

if (authenticated) {
  form = new OrderForm(document.getElementById("order-form"), rules, {
    // The hold is taken when the order is accepted, before the matcher sees it: no stream message
    // tells of it, so read the balances again.
    onPlaced: (order) => { upsertOrder(order); refreshBalances(); },
  });
  amend = new AmendEditor($("open-orders"), $("orders-note"), {
    rules,
    onOrder: (o) => { if (o) upsertOrder(o); else renderOrders(); refreshBalances(); },
  });
  new UserStream({
    onOrder: (o) => upsertOrder(o),
    onFill: (market, f) => {
      if (market !== symbol) return;
      fills.unshift(f);
      renderFills();
      // The stream's fill has no id: re-read the page shortly so the list is the server's.
      clearTimeout(fillsTimer);
      fillsTimer = setTimeout(() => api(`fills?market=${symbol}&limit=100`).then((p) => {
        fills.splice(0, fills.length, ...p.results); renderFills();
      }).catch(() => {}), 400);
    },
    onBalance: (list) => { for (const b of list) balances.set(b.asset, b); renderBalances(); },
    onResync: () => { loadPrivate().catch(() => conn.set("user", "offline")); },
    onState: (s) => conn.set("user", s),
  });

  $("open-orders").addEventListener("click", async (e) => {
    const edit = e.target.closest("button[data-amend]");
    if (edit) {
      const tr = edit.closest("tr");
      const order = orders.get(Number(edit.dataset.amend));
      if (order) amend.start(order, { row: tr, price: tr.children[3], quantity: tr.children[4], actions: tr.children[6] });
      return;
    }
    const button = e.target.closest("button[data-cancel]");
    if (!button) return;
    button.disabled = true;
    try {
      const order = await api(`orders/${button.dataset.cancel}`, { method: "DELETE" });
      upsertOrder({ ...order, cancel_requested: true });
    } catch (err) {
      button.disabled = false;
      form.showError("form", err.message);
    }
  });
  $("cancel-all").addEventListener("click", async () => {
    try {
      const cancelled = await api(`orders?market=${symbol}`, { method: "DELETE" });
      for (const o of cancelled) upsertOrder({ ...o, cancel_requested: true });
    } catch (err) {
      form.showError("form", err.message);
    }
  });
}

// Tabs: click or arrow keys.
const tabs = [...document.querySelectorAll(".myorders [role=tab]")];
function selectTab(tab) {
  for (const t of tabs) {
    const selected = t === tab;
    t.setAttribute("aria-selected", String(selected));
    t.tabIndex = selected ? 0 : -1;
    const pane = document.getElementById(t.getAttribute("aria-controls"));
    if (pane) pane.hidden = !selected;
  }
}
for (const tab of tabs) {
  tab.addEventListener("click", () => selectTab(tab));
  tab.addEventListener("keydown", (e) => {
    const i = tabs.indexOf(tab);
    const next = e.key === "ArrowRight" ? tabs[(i + 1) % tabs.length] : e.key === "ArrowLeft" ? tabs[(i - 1 + tabs.length) % tabs.length] : null;
    if (next) { e.preventDefault(); selectTab(next); next.focus(); }
  });
}

// Keyboard shortcuts (listed on the page): b / s side, / the price, Esc clears, ? the list.
// None fires while the reader types in a field, except Esc.
if (form) {
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    const t = e.target;
    const typing = t instanceof HTMLElement && (t.isContentEditable || t.tagName === "TEXTAREA" || t.tagName === "SELECT" ||
      (t.tagName === "INPUT" && !["radio", "checkbox", "button", "submit"].includes(t.type)));
    if (e.key === "Escape") {
      if (amend && amend.editing) { amend.stop(); return; }
      form.clear();
      if (typing) t.blur();
      return;
    }
    if (typing) return;
    if (e.key === "b" || e.key === "s") { e.preventDefault(); form.setSide(e.key === "b" ? "buy" : "sell"); }
    else if (e.key === "/") { e.preventDefault(); form.focusFirst(); }
    else if (e.key === "?") { e.preventDefault(); const d = $("shortcuts"); d.open = !d.open; }
  });
}
