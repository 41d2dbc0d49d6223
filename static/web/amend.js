// Amend an open order in place: its price and amount become inputs in its row, a note says what
// the change does to the order's place in the queue (the engine's rule: a smaller amount keeps it,
// a new price or a larger amount loses it), and Save sends PATCH /api/v1/orders/{id}. The server
// answers 202 with the order and "priority_kept"; the matcher applies the amend shortly after, and
// the row follows the private stream (and a few re-reads of the order, in case a frame is missed).
import { api, DECIMAL_RE, compare, isMultiple, normalize } from "./util.js";

const RECHECK_MS = [300, 800, 1500, 3000, 6000];

/** What the change does to the order's place in the queue, in words, or null for no change. */
export function priorityNote(order, price, quantity) {
  const newPrice = order.price && DECIMAL_RE.test(price) && compare(price, order.price) !== 0;
  const cmp = order.quantity && DECIMAL_RE.test(quantity) ? compare(quantity, order.quantity) : 0;
  if (newPrice) return { kept: false, text: "A new price loses your place in the queue." };
  if (cmp > 0) return { kept: false, text: "A larger amount loses your place in the queue." };
  if (cmp < 0) return { kept: true, text: "A smaller amount keeps your place in the queue." };
  return null;
}

export class AmendEditor {
  /** rules: the market's rules; onOrder(order): an order the server sent back. */
  constructor(tbody, note, { rules, onOrder }) {
    this.tbody = tbody;
    this.note = note;
    this.rules = rules;
    this.onOrder = onOrder;
    this.editing = null; // {order, row, noteRow}
  }

  isEditing(id) { return this.editing !== null && this.editing.order.id === id; }

  /** The rows of the order being edited (kept across re-renders of the list), or null. */
  rowsFor(order) {
    if (!this.isEditing(order.id)) return null;
    this.editing.order = { ...this.editing.order, ...order };
    return [this.editing.row, this.editing.noteRow];
  }

  /** The open-orders list lost the order (filled, cancelled): nothing left to edit. */
  forget(openIds) {
    if (this.editing && !openIds.has(this.editing.order.id)) {
      this.say(`Order ${this.editing.order.id} is no longer open: not amended.`);
      this.editing = null;
    }
  }

  say(text) { this.note.textContent = text; }

  start(order, cells) {
    if (this.editing) this.stop();
    const input = (name, value, label) => {
      const el = document.createElement("input");
      el.name = name;
      el.value = normalize(value);
      el.inputMode = "decimal";
      el.autocomplete = "off";
      el.className = "amend-input";
      el.setAttribute("aria-label", label);
      return el;
    };
    const price = input("price", order.price, `New price of order ${order.id} (${this.rules.quote})`);
    const quantity = input("quantity", order.quantity, `New amount of order ${order.id} (${this.rules.base})`);
    const row = cells.row;
    row.dataset.editing = "1";
    cells.price.replaceChildren(price);
    cells.quantity.replaceChildren(quantity);
    const save = document.createElement("button");
    save.type = "button";
    save.className = "small";
    save.textContent = "Save";
    save.dataset.amendSave = order.id;
    const back = document.createElement("button");
    back.type = "button";
    back.className = "ghost small";
    back.textContent = "Back";
    back.setAttribute("aria-label", `Leave the amend of order ${order.id}`);
    cells.actions.replaceChildren(save, " ", back);

    const noteRow = document.createElement("tr");
    noteRow.className = "amend-note";
    noteRow.dataset.amendFor = order.id;
    const td = document.createElement("td");
    td.colSpan = row.children.length;
    const hint = document.createElement("span");
    hint.className = "amend-priority";
    hint.setAttribute("aria-live", "polite");
    const error = document.createElement("span");
    error.className = "field-error amend-error";
    error.setAttribute("role", "alert");
    td.append(hint, " ", error);
    noteRow.append(td);
    row.after(noteRow);

    const refresh = () => {
      error.textContent = "";
      const effect = priorityNote(this.editing.order, price.value.trim(), quantity.value.trim());
      hint.textContent = effect ? effect.text : "Change the price or the amount. A smaller amount keeps your place in the queue; a new price or a larger amount loses it.";
      hint.dataset.kept = effect ? String(effect.kept) : "";
    };
    price.addEventListener("input", refresh);
    quantity.addEventListener("input", refresh);
    const keys = (e) => {
      if (e.key === "Enter") { e.preventDefault(); this.save(); }
      else if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); this.stop(); }
    };
    price.addEventListener("keydown", keys);
    quantity.addEventListener("keydown", keys);
    save.addEventListener("click", () => this.save());
    back.addEventListener("click", () => this.stop());
    this.editing = { order, row, noteRow, price, quantity, hint, error, save };
    refresh();
    price.focus();
    price.select();
  }

  /** Leave the editor; the next render shows the order as it is. */
  stop() {
    if (!this.editing) return;
    const { noteRow } = this.editing;
    this.editing = null;
    noteRow.remove();
    this.onOrder(null); // re-render
  }

  check(order, price, quantity) {
    const r = this.rules;
    if (!DECIMAL_RE.test(price) || compare(price, "0") <= 0) return "Enter a price.";
    if (!isMultiple(price, r.tick_size)) return `Price must be a multiple of the tick size ${r.tick_size}.`;
    if (!DECIMAL_RE.test(quantity) || compare(quantity, "0") <= 0) return "Enter an amount.";
    if (!isMultiple(quantity, r.lot_size)) return `Amount must be a multiple of the lot size ${r.lot_size}.`;
    if (compare(quantity, order.filled_quantity || "0") <= 0) return `Amount must be more than the ${normalize(order.filled_quantity)} already filled.`;
    return null;
  }

  async save() {
    const ed = this.editing;
    if (!ed) return;
    const { order } = ed;
    const price = ed.price.value.trim(), quantity = ed.quantity.value.trim();
    const problem = this.check(order, price, quantity);
    if (problem) { ed.error.textContent = problem; return; }
    const body = {};
    if (compare(price, order.price) !== 0) body.price = price;
    if (compare(quantity, order.quantity) !== 0) body.quantity = quantity;
    if (!Object.keys(body).length) { this.stop(); return; }
    ed.save.disabled = true;
    try {
      const answer = await api(`orders/${order.id}`, { method: "PATCH", body });
      const { priority_kept: kept, ...updated } = answer;
      if (this.editing === ed) { this.editing = null; ed.noteRow.remove(); }
      this.say(`Order ${order.id} amended${body.price ? ` to ${body.price}` : ""}${body.quantity ? ` for ${body.quantity} ${this.rules.base}` : ""}: ` +
        (kept ? "your place in the queue is kept." : "it moves to the back of the queue at its price."));
      this.note.dataset.priorityKept = String(Boolean(kept));
      this.onOrder({ ...updated, amend_pending: body });
      this.recheck(order.id, body);
    } catch (err) {
      ed.save.disabled = false;
      ed.error.textContent = err.message || "The order could not be amended.";
    }
  }

  /** Re-read the order until the matcher has applied the amend (the stream normally tells first). */
  recheck(id, body) {
    const applied = (o) => (!body.price || compare(o.price, body.price) === 0) && (!body.quantity || compare(o.quantity, body.quantity) === 0);
    let i = 0;
    const next = () => {
      if (i >= RECHECK_MS.length) return;
      setTimeout(() => {
        api(`orders/${id}`).then((o) => {
          if (applied(o) || !(o.status === "open" || o.status === "pending")) this.onOrder({ ...o, amend_pending: null });
          else next();
        }).catch(() => next());
      }, RECHECK_MS[i++]);
    };
    next();
  }
}
