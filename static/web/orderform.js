// The order form: buy/sell; limit, market, stop-limit; post-only and IOC; amount typed or as a
// share of the available balance; estimated total and fee. It checks tick, lot, minimums and the
// market's status the way exchange/markets/rules.py does, and shows the server's error next to
// the field it is about.
import { api, ApiError, DECIMAL_RE, isMultiple, compare, multiply, floorToStep, divide, fixed, decimalsOf, normalize } from "./util.js";

// The server's error codes, by the field they are about (the rest go under the button).
const FIELD_FOR_CODE = {
  tick_size: "price", invalid_price: "price", price_band: "price",
  invalid_stop_price: "stop_price",
  lot_size: "quantity", min_quantity: "quantity", max_quantity: "quantity", invalid_quantity: "quantity",
  min_notional: "quantity", insufficient_funds: "quantity", invalid_quote_amount: "quantity",
};
const STATUS_ERRORS = {
  halted: "This market is halted: no new orders.",
  cancel_only: "This market accepts cancels only.",
  delisted: "This market is delisted.",
};

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
    this.el("post_only").addEventListener("change", () => { if (this.el("post_only").checked) this.el("ioc").checked = false; });
    this.el("ioc").addEventListener("change", () => { if (this.el("ioc").checked) this.el("post_only").checked = false; });
    this.update();
  }

  get side() { return this.form.querySelector("input[name=side]:checked").value; }
  get type() { return this.el("type").value; }

  setBalances(balances) { this.balances = balances; this.update(); }
  setBest(bid, ask) { this.best = { bid, ask }; this.update(); }
  setPrice(price) {
    if (this.type === "market") this.el("type").value = "limit";
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

  /** The price the estimate uses: the limit price, or the best opposite price for a market order. */
  refPrice() {
    if (this.type === "market") return this.side === "buy" ? this.best.ask : this.best.bid;
    const p = this.el("price").value.trim();
    return DECIMAL_RE.test(p) && compare(p, "0") > 0 ? p : null;
  }

  update() {
    const type = this.type;
    this.form.querySelector("[data-for=price]").hidden = type === "market";
    this.form.querySelector("[data-for=stop_price]").hidden = type !== "stop_limit";
    this.el("post_only").disabled = type !== "limit";
    this.el("ioc").disabled = type === "market";
    const side = this.side;
    const submit = this.form.querySelector("#submit-order");
    submit.textContent = `${side === "buy" ? "Buy" : "Sell"} ${this.rules.base}`;
    submit.className = "submit " + side;
    const { asset, amount } = this.available();
    this.form.querySelector("#available").textContent = `${normalize(amount)} ${asset}`;
    const q = this.el("quantity").value.trim();
    const price = this.refPrice();
    if (price && DECIMAL_RE.test(q)) {
      const total = multiply(price, q);
      const fee = type === "limit" && this.el("post_only").checked ? this.rules.maker_fee : this.rules.taker_fee;
      const feeAmount = side === "buy" ? multiply(q, fee) : multiply(total, fee);
      this.form.querySelector("#est-total").textContent = `${fixed(total, Math.max(2, this.PD))} ${this.rules.quote}`;
      this.form.querySelector("#est-fee").textContent = `≤ ${normalize(fixed(feeAmount, 8))} ${side === "buy" ? this.rules.base : this.rules.quote}`;
    } else {
      this.form.querySelector("#est-total").textContent = "—";
      this.form.querySelector("#est-fee").textContent = "—";
    }
  }

  fillPercent(pct) {
    const { amount } = this.available();
    const share = divide(multiply(amount, pct), "100");
    let quantity;
    if (this.side === "sell") quantity = share;
    else {
      const price = this.refPrice();
      if (!price) { this.showError("price", "Enter a price first."); return; }
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
    if (type !== "market") {
      if (!DECIMAL_RE.test(priceText) || compare(priceText, "0") <= 0) errors.price = "Enter a price.";
      else if (!isMultiple(priceText, r.tick_size)) errors.price = `Price must be a multiple of the tick size ${r.tick_size}.`;
    }
    if (type === "stop_limit") {
      if (!DECIMAL_RE.test(stopText) || compare(stopText, "0") <= 0) errors.stop_price = "Enter a stop price.";
      else if (!isMultiple(stopText, r.tick_size)) errors.stop_price = `Stop price must be a multiple of the tick size ${r.tick_size}.`;
    }
    if (!DECIMAL_RE.test(q) || compare(q, "0") <= 0) errors.quantity = "Enter an amount.";
    else if (!isMultiple(q, r.lot_size)) errors.quantity = `Amount must be a multiple of the lot size ${r.lot_size}.`;
    else if (compare(q, r.min_quantity) < 0) errors.quantity = `Amount is below the minimum ${r.min_quantity}.`;
    else if (r.max_quantity && compare(q, r.max_quantity) > 0) errors.quantity = `Amount is above the maximum ${r.max_quantity}.`;
    else if (type !== "market" && !errors.price && compare(multiply(priceText, q), r.min_notional) < 0) {
      errors.quantity = `Total is below the minimum of ${r.min_notional} ${r.quote}.`;
    }
    return errors;
  }

  payload() {
    const type = this.type;
    const body = { market: this.rules.symbol, side: this.side, type, quantity: this.el("quantity").value.trim() };
    if (type !== "market") body.price = this.el("price").value.trim();
    if (type === "stop_limit") body.stop_price = this.el("stop_price").value.trim();
    if (type === "limit" && this.el("post_only").checked) body.post_only = true;
    if (type !== "market" && this.el("ioc").checked) body.time_in_force = "ioc";
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
      this.update();
    } catch (err) {
      const field = err instanceof ApiError ? FIELD_FOR_CODE[err.code] || "form" : "form";
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
    for (const f of ["price", "stop_price", "quantity", "form"]) this.clearError(f);
    this.form.querySelector("#err-form").textContent = "";
  }
}
