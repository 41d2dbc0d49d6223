// Small helpers shared by the pages: the API client, exact decimal checks, formatting.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function cookie(name) {
  const hit = document.cookie.split("; ").find((c) => c.startsWith(name + "="));
  return hit ? decodeURIComponent(hit.slice(name.length + 1)) : "";
}

/** fetch() against /api/v1/ with the session; POST/DELETE carry the CSRF token. */
export async function api(path, { method = "GET", body } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = cookie("csrftoken");
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch("/api/v1/" + path, {
    method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (!response.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(response.status, err.code || "http_" + response.status, err.message || response.statusText);
  }
  return data;
}

// ---- exact decimals (strings in, BigInt inside): the same checks as the server's rules.

export const DECIMAL_RE = /^\d+(\.\d+)?$/;

function parts(text) {
  const [whole, frac = ""] = String(text).split(".");
  return { digits: BigInt(whole + frac), scale: frac.length };
}

/** Both values as BigInts on a common scale. */
function aligned(a, b) {
  const x = parts(a), y = parts(b);
  const scale = Math.max(x.scale, y.scale);
  return [x.digits * 10n ** BigInt(scale - x.scale), y.digits * 10n ** BigInt(scale - y.scale), scale];
}

export function isMultiple(value, step) {
  const [v, s] = aligned(value, step);
  return s !== 0n && v % s === 0n;
}

export function compare(a, b) {
  const [x, y] = aligned(a, b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function multiply(a, b) {
  const x = parts(a), y = parts(b);
  return toText(x.digits * y.digits, x.scale + y.scale);
}

function toText(digits, scale) {
  let s = digits.toString().padStart(scale + 1, "0");
  if (scale > 0) s = s.slice(0, -scale) + "." + s.slice(-scale);
  return normalize(s);
}

export function normalize(text) {
  let s = String(text);
  if (s.includes(".")) s = s.replace(/0+$/, "").replace(/\.$/, "");
  return s === "" || s === "-0" ? "0" : s;
}

/** ``value`` rounded down to a multiple of ``step`` (for "% of available"). */
export function floorToStep(value, step) {
  const [v, s, scale] = aligned(value, step);
  if (s === 0n) return "0";
  return toText((v / s) * s, scale);
}

/** ``a / b`` to ``scale`` decimals, rounded down. */
export function divide(a, b, scale = 18) {
  const [x, y] = aligned(a, b);
  if (y === 0n) return "0";
  return toText((x * 10n ** BigInt(scale)) / y, scale);
}

export function decimalsOf(step) {
  const s = normalize(step);
  return s.includes(".") ? s.split(".")[1].length : 0;
}

/** Display a decimal string with a fixed number of decimals (no float rounding of the digits). */
export function fixed(text, decimals) {
  if (text === null || text === undefined || text === "") return "—";
  const s = normalize(text);
  const negative = s.startsWith("-");
  const [whole, frac = ""] = (negative ? s.slice(1) : s).split(".");
  const cut = frac.slice(0, decimals).padEnd(decimals, "0");
  return (negative ? "-" : "") + whole + (decimals > 0 ? "." + cut : "");
}

export function compact(text) {
  if (text === null || text === undefined) return "—";
  const n = Number(text);
  if (n >= 1e9) return (n / 1e9).toFixed(2) + "B";
  if (n >= 1e6) return (n / 1e6).toFixed(2) + "M";
  if (n >= 1e4) return (n / 1e3).toFixed(2) + "K";
  return normalize(text);
}

export function time(iso) {
  const d = new Date(iso);
  return isNaN(d) ? "" : d.toLocaleTimeString([], { hour12: false });
}

export function dateTime(iso) {
  const d = new Date(iso);
  return isNaN(d) ? "" : d.toLocaleString([], { hour12: false, month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** A table row from cells: [text, className?]. */
export function row(cells, attrs = {}) {
  const tr = document.createElement("tr");
  for (const [k, v] of Object.entries(attrs)) tr.setAttribute(k, v);
  for (const cell of cells) {
    const td = document.createElement("td");
    if (cell instanceof Node) td.append(cell);
    else {
      const [text, cls] = Array.isArray(cell) ? cell : [cell, ""];
      td.textContent = text;
      if (cls) td.className = cls;
    }
    tr.append(td);
  }
  return tr;
}

// ---- CRC32 (the book checksum)
const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(text) {
  let c = 0xffffffff;
  for (let i = 0; i < text.length; i++) c = CRC_TABLE[(c ^ text.charCodeAt(i)) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
