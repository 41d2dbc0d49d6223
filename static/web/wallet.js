// The wallet page, live: deposit rows from the private stream (pending with confirmations counting
// up, credited, orphaned); balances re-read over REST when a deposit is credited or on a resync.
import { UserStream } from "./user.js";

const deposits = document.querySelector("#deposits");
const balances = document.querySelector("#wallet-balances tbody");

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function upsertDeposit(d) {
  let row = deposits.querySelector(`tr[data-deposit-id="${d.id}"]`);
  if (!row) {
    row = document.createElement("tr");
    row.dataset.depositId = d.id;
    const confirmations = cell("", "num");
    confirmations.dataset.field = "confirmations";
    const status = cell("");
    status.dataset.field = "status";
    const txid = cell(d.txid.slice(0, 17) + "…", "mono");
    txid.title = d.txid;
    row.append(cell(d.created_at.slice(0, 16).replace("T", " ")), cell(d.asset), cell(d.amount, "num"), txid,
               confirmations, status);
    deposits.tBodies[0].prepend(row);
    deposits.hidden = false;
  }
  row.querySelector('[data-field="confirmations"]').textContent = `${d.confirmations}/${d.required_confirmations}`;
  row.querySelector('[data-field="status"]').textContent = d.status;
  if (d.status !== "pending") refreshBalances();
}

async function refreshBalances() {
  const response = await fetch("/api/v1/balances", { credentials: "same-origin" });
  if (!response.ok) return;
  balances.replaceChildren(...(await response.json()).map((b) => {
    const row = document.createElement("tr");
    row.dataset.asset = b.asset;
    const head = document.createElement("th");
    head.scope = "row";
    head.textContent = b.asset;
    row.append(head, cell(b.available, "num"), cell(b.held, "num"), cell(b.total, "num"));
    return row;
  }));
}

if (deposits) {
  new UserStream({
    onOrder: () => {}, onFill: () => {}, onBalance: () => refreshBalances(), onState: () => {},
    onResync: () => refreshBalances(), onDeposit: upsertDeposit,
  });
}
