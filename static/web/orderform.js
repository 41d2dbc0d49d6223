// The order form: buy/sell; limit, market, stop-limit, stop-market; a market buy sized by the
// amount to receive or by the total to spend ("spend 500 USD": quote_amount); time in force (GTC,
// IOC, FOK), post-only and the self-trade prevention mode; amount typed or as a share of the
// available balance; estimated total and fee. It checks tick, lot, minimums and the market's
// status the way exchange/markets/rules.py does, and shows the server's error next to the field it
// is about. Keyboard shortcuts (b, s, /, Esc, ?) are documented on the page.
import { api, ApiError, DECIMAL_RE, isMultiple, compare, multiply, floorToStep, divide, fixed, decimalsOf, normalize } from "./util.js";

// The server's error codes, by the field they are about (the rest go under the button).
const FIELD_FOR_CODE = {
  tick_size: "price", invalid_price: "price", price_band: "price",
  invalid_stop_price: "stop_price",
  lot_size: "quantity", min_quantity: "quantity", max_quantity: "quantity", invalid_quantity: "quantity",
  min_notional: "quantity", insufficient_funds: "quantity", invalid_quote_amount: "quote_amount",
};
const STATUS_ERRORS = {
  halted: "This market is halted: no new orders.",
  cancel_only: "This market accepts cancels only.",
  delisted: "This market is delisted.",
};
const TIF_HINTS = {
  gtc: "",
  ioc: "IOC: fills what it can at once; the rest is cancelled.",
  fok: "FOK: fills in full at once, or nothing is done.",
};
const FIELDS = ["price", "stop_price", "quantity", "quote_amount", "form"];

export class OrderForm {
  constructor(form, rules, { onPlaced }) {
    this.form = form;
    this.rules = rules;
    this.onPlaced = onPlaced;
    this.balances = new Map();
    this.best = { bid: null, ask: null };
    this.PD = decimalsOf(rules.tick_size);
    this.el = (name) => form.elements.namedItem(name);
    form.addEventListener("submit", (e) => { e.preventDefault(); this.submit(); });
    form.addEventListener("input", (e) => { this.clearError(e.target.name); this.update(); });
    form.addEventListener("change", () => this.update());
    form.querySelector(".pcts").addEventListener("click", (e) => {
      const b = e.target.closest("button[data-pct]");
      if (b) this.fillPercent(b.dataset.pct);
    });
    // Post-only rests on the book: it is good-till-cancelled by nature (the server says so too).
    this.el("post_only").addEventListener("change", () => { if (this.el("post_only").checked) this.el("time_in_force").value = "gtc"; });
    this.el("time_in_force").addEventListener("change", () => { if (this.tif !== "gtc") this.el("post_only").checked = false; });
    this.update();
  }

  get side() { return this.form.querySelector("input[name=side]:checked").value; }
  get type() { return this.el("type").value; }
  get tif() { return this.el("time_in_force").value; }
  /** A market buy sized by the total to spend (quote_amount) rather than the amount to receive. */
  get byQuote() { return this.type === "market" && this.side === "buy" && this.el("size_by").value === "quote"; }
  get hasPrice() { return this.type === "limit" || this.type === "stop_limit"; }
  get hasStop() { return this.type === "stop_limit" || this.type === "stop_market"; }
  get isMarketLike() { return this.type === "market" || this.type === "stop_market"; }

  setSide(side) {
    const radio = this.form.querySelector(`input[name=side][value=${side}]`);
    if (!radio || radio.checked) return;
    radio.checked = true;
    this.clearAll();
    this.update();
  }

  /** The field "/" focuses: the price, else the stop price, else what sizes the order. */
  focusFirst() {
    const name = this.hasPrice ? "price" : this.hasStop ? "stop_price" : this.byQuote ? "quote_amount" : "quantity";
    this.el(name).focus();
    this.el(name).select();
  }

  /** Esc: empty the fields and the errors, keep the side, type and options. */
  clear() {
    for (const name of ["price", "stop_price", "quantity", "quote_amount"]) this.el(name).value = "";
    this.clearAll();
    this.update();
  }

  setBalances(balances) { this.balances = balances; this.update(); }
  setBest(bid, ask) { this.best = { bid, ask }; this.update(); }
  setPrice(price) {
    if (this.isMarketLike) this.el("type").value = this.type === "market" ? "limit" : "stop_limit";
    this.el("price").value = normalize(price);
    this.clearError("price");
    this.update();
    this.el("price").focus();
  }

  available() {
    const asset = this.side === "buy" ? this.rules.quote : this.rules.base;
    const b = this.balances.get(asset);
    return { asset, amount: b ? b.available : "0" };
  }

  /** The price the estimate uses: the limit price, the stop price of a stop-market order, or the
   * best opposite price for a market order. */
  refPrice() {
    if (this.type === "market") return this.side === "buy" ? this.best.ask : this.best.bid;
    const p = this.el(this.type === "stop_market" ? "stop_price" : "price").value.trim();
    return DECIMAL_RE.test(p) && compare(p, "0") > 0 ? p : null;
  }

  update() {
    const type = this.type;
    const byQuote = this.byQuote;
    const show = (name, on) => { this.form.querySelector(`[data-for=${name}]`).hidden = !on; };
    show("price", this.hasPrice);
    show("stop_price", this.hasStop);
    show("size_by", type === "market" && this.side === "buy");
    show("quantity", !byQuote);
    show("quote_amount", byQuote);
    this.el("post_only").disabled = type !== "limit";
    if (type !== "limit") this.el("post_only").checked = false;
    // A market order never rests: IOC (the default) or FOK.
    const gtc = this.el("time_in_force").querySelector("option[value=gtc]");
    gtc.disabled = this.isMarketLike;
    if (this.isMarketLike && this.tif === "gtc") this.el("time_in_force").value = "ioc";
    this.form.querySelector("#tif-hint").textContent = TIF_HINTS[this.tif];
    this.form.querySelector("#stop-hint").textContent = this.hasStop
      ? `Triggers when the last trade is at or ${this.side === "buy" ? "above" : "below"} this price${type === "stop_market" ? ", then trades at the market" : ", then places the limit order"}.`
      : "";
    const side = this.side;
    const submit = this.form.querySelector("#submit-order");
    submit.textContent = byQuote ? `Buy ${this.rules.base} for ${this.el("quote_amount").value.trim() || "…"} ${this.rules.quote}`
      : `${side === "buy" ? "Buy" : "Sell"} ${this.rules.base}`;
    submit.className = "submit " + side;
    const { asset, amount } = this.available();
    this.form.querySelector("#available").textContent = `${normalize(amount)} ${asset}`;
    const price = this.refPrice();
    const fee = type === "limit" && this.el("post_only").checked ? this.rules.maker_fee : this.rules.taker_fee;
    let total = null, feeText = null;
    if (byQuote) {
      const spend = this.el("quote_amount").value.trim();
      if (DECIMAL_RE.test(spend) && compare(spend, "0") > 0) {
        total = spend;
        // The buyer pays the fee in the base asset it receives: about spend / best ask of it.
        if (price) feeText = `≤ ${normalize(fixed(multiply(divide(spend, price), fee), 8))} ${this.rules.base}`;
      }
    } else {
      const q = this.el("quantity").value.trim();
      if (price && DECIMAL_RE.test(q)) {
        total = multiply(price, q);
        const feeAmount = side === "buy" ? multiply(q, fee) : multiply(total, fee);
        feeText = `≤ ${normalize(fixed(feeAmount, 8))} ${side === "buy" ? this.rules.base : this.rules.quote}`;
      }
    }
    this.form.querySelector("#est-total").textContent = total ? `${fixed(total, Math.max(2, this.PD))} ${this.rules.quote}` : "—";
    this.form.querySelector("#est-fee").textContent = feeText || "—";
  }

  fillPercent(pct) {
    const { amount } = this.available();
    const share = divide(multiply(amount, pct), "100");
    if (this.byQuote) {
      this.el("quote_amount").value = floorToStep(share, this.rules.tick_size);
      this.clearError("quote_amount");
      this.update();
      return;
    }
    let quantity;
    if (this.side === "sell") quantity = share;
    else {
      const price = this.refPrice();
      if (!price) { this.showError(this.hasPrice ? "price" : this.hasStop ? "stop_price" : "form", "Enter a price first."); return; }
      quantity = divide(share, price); // the buyer pays the fee in the base asset it receives
    }
    this.el("quantity").value = floorToStep(quantity, this.rules.lot_size);
    this.clearError("quantity");
    this.update();
  }

  /** Client-side checks, the same as the server's; returns {field: message}. */
  check() {
    const errors = {};
    const r = this.rules;
    const type = this.type;
    if (STATUS_ERRORS[r.status]) errors.form = STATUS_ERRORS[r.status];
    if (r.status === "post_only" && !(type === "limit" && this.el("post_only").checked)) {
      errors.form = "This market accepts only post-only limit orders.";
    }
    const priceText = this.el("price").value.trim();
    const stopText = this.el("stop_price").value.trim();
    const q = this.el("quantity").value.trim();
    if (this.hasPrice) {
      if (!DECIMAL_RE.test(priceText) || compare(priceText, "0") <= 0) errors.price = "Enter a price.";
      else if (!isMultiple(priceText, r.tick_size)) errors.price = `Price must be a multiple of the tick size ${r.tick_size}.`;
    }
    if (this.hasStop) {
      if (!DECIMAL_RE.test(stopText) || compare(stopText, "0") <= 0) errors.stop_price = "Enter a stop price.";
      else if (!isMultiple(stopText, r.tick_size)) errors.stop_price = `Stop price must be a multiple of the tick size ${r.tick_size}.`;
    }
    if (this.byQuote) {
      const spend = this.el("quote_amount").value.trim();
      if (!DECIMAL_RE.test(spend) || compare(spend, "0") <= 0) errors.quote_amount = "Enter the total to spend.";
      else if (compare(spend, r.min_notional) < 0) errors.quote_amount = `Total is below the minimum of ${r.min_notional} ${r.quote}.`;
      return errors;
    }
    if (!DECIMAL_RE.test(q) || compare(q, "0") <= 0) errors.quantity = "Enter an amount.";
    else if (!isMultiple(q, r.lot_size)) errors.quantity = `Amount must be a multiple of the lot size ${r.lot_size}.`;
    else if (compare(q, r.min_quantity) < 0) errors.quantity = `Amount is below the minimum ${r.min_quantity}.`;
    else if (r.max_quantity && compare(q, r.max_quantity) > 0) errors.quantity = `Amount is above the maximum ${r.max_quantity}.`;
    else {
      // The server checks the notional at the limit price, or at the stop price of a stop-market order.
      const notionalPrice = this.hasPrice ? (errors.price ? null : priceText) : this.hasStop ? (errors.stop_price ? null : stopText) : null;
      if (notionalPrice && compare(multiply(notionalPrice, q), r.min_notional) < 0) {
        errors.quantity = `Total is below the minimum of ${r.min_notional} ${r.quote}.`;
      }
    }
    return errors;
  }

  payload() {
    const type = this.type;
    const body = { market: this.rules.symbol, side: this.side, type, time_in_force: this.tif, stp: this.el("stp").value };
    if (this.byQuote) body.quote_amount = this.el("quote_amount").value.trim();
    else body.quantity = this.el("quantity").value.trim();
    if (this.hasPrice) body.price = this.el("price").value.trim();
    if (this.hasStop) body.stop_price = this.el("stop_price").value.trim();
    if (type === "limit" && this.el("post_only").checked) body.post_only = true;
    return body;
  }

  async submit() {
    this.clearAll();
    const errors = this.check();
    if (Object.keys(errors).length) {
      for (const [field, message] of Object.entries(errors)) this.showError(field, message);
      const first = Object.keys(errors).find((f) => f !== "form");
      if (first) this.el(first).focus();
      return;
    }
    const button = this.form.querySelector("#submit-order");
    button.disabled = true;
    try {
      const order = await api("orders", { method: "POST", body: this.payload() });
      this.onPlaced(order);
      this.form.dataset.lastOrder = String(order.id);
      this.el("quantity").value = "";
      this.el("quote_amount").value = "";
      this.update();
    } catch (err) {
      let field = err instanceof ApiError ? FIELD_FOR_CODE[err.code] || "form" : "form";
      if (field === "quantity" && this.byQuote) field = "quote_amount";
      this.showError(field, err.message || "The order could not be placed.");
    } finally {
      button.disabled = false;
    }
  }

  showError(field, message) {
    const box = this.form.querySelector(`#err-${field}`) || this.form.querySelector("#err-form");
    box.textContent = message;
    const input = field === "form" ? null : this.el(field);
    if (input) input.setAttribute("aria-invalid", "true");
  }

  clearError(field) {
    if (!field) return;
    const box = this.form.querySelector(`#err-${field}`);
    if (box) box.textContent = "";
    const input = this.el(field);
    if (input && input.removeAttribute) input.removeAttribute("aria-invalid");
  }

  clearAll() {
    for (const f of FIELDS) this.clearError(f);
    this.form.querySelector("#err-form").textContent = "";
  }
}
