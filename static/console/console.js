// Dashboard: poll the health endpoint every 2 s and redraw the health panel and the market
// overview in place. No framework, no CDN. Text is set with textContent (never innerHTML).
(function () {
  "use strict";
  var script = document.currentScript;
  var url = script && script.dataset.healthUrl;
  if (!url) return;

  function cell(text, cls) {
    var td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text === null || text === undefined ? "–" : String(text);
    return td;
  }
  function badge(level) {
    var span = document.createElement("span");
    span.className = "level level-" + level;
    span.textContent = level;
    return span;
  }

  // The server's times are ISO 8601 (UTC): show them in the reader's own zone and format.
  function localTime(iso) {
    var d = new Date(iso);
    return isNaN(d) ? iso : d.toLocaleString([], {year: "numeric", month: "short", day: "numeric",
      hour: "2-digit", minute: "2-digit", second: "2-digit"});
  }
  function setUpdated(iso) {
    var el = document.getElementById("health-updated");
    el.setAttribute("datetime", iso);
    el.textContent = localTime(iso);
    el.title = iso;
  }

  function drawHealth(data) {
    var venue = document.getElementById("venue-level");
    venue.className = "level level-" + data.level;
    venue.textContent = data.level;
    setUpdated(data.generated_at);
    var alerts = document.getElementById("alerts");
    alerts.replaceChildren.apply(alerts, data.alerts.map(function (a) {
      var li = document.createElement("li"); li.textContent = a; return li;
    }));
    var body = document.querySelector("#health-table tbody");
    body.replaceChildren.apply(body, data.markets.map(function (m) {
      var tr = document.createElement("tr");
      tr.dataset.market = m.market;
      tr.className = "row-" + m.level;
      tr.appendChild(cell(m.market));
      var h = cell("");
      h.appendChild(badge(m.level));
      var why = document.createElement("span"); why.className = "muted"; why.textContent = " " + m.problems.join("; ");
      h.appendChild(why);
      tr.appendChild(h);
      tr.appendChild(m.owned ? cell(m.owner || "(starting)") : cell("none", "down"));
      tr.appendChild(cell(m.heartbeat_age === null ? "–" : m.heartbeat_age + " s"));
      tr.appendChild(cell(m.stream_pending));
      tr.appendChild(cell(m.stream_lag));
      tr.appendChild(cell(m.unapplied_commands));
      tr.appendChild(cell(m.last_sequence));
      tr.appendChild(cell(m.commands_per_second));
      return tr;
    }));
    var c = data.celery, parts = [];
    Object.keys(c.queues).forEach(function (q) { parts.push(q + " " + c.queues[q]); });
    document.getElementById("celery").textContent = "Queues: " + (parts.join(", ") || "–") + " · Workers answering: " +
      c.workers.length + (c.workers.length ? " (" + c.workers.join(", ") + ")" : "") + (c.error ? " · " + c.error : "");
    var processes = (data.processes || []).map(function (p) {
      return p.process + " \u00d7" + p.size + ", " + p.restarts + " restart" + (p.restarts === 1 ? "" : "s") +
        (p.restarts ? " (last " + Math.round(p.last_spawn_age) + " s ago)" : "");
    });
    document.getElementById("processes").textContent = processes.join(" · ") || "not started by the launcher";
  }

  function drawOverview(rows) {
    rows.forEach(function (m) {
      var tr = document.querySelector('#overview-table tr[data-market="' + m.market + '"]');
      if (!tr) return;
      var tds = tr.children;
      var status = tds[1].firstElementChild;
      status.className = "status status-" + m.status;
      status.textContent = m.status;
      // The server sends the numbers as text at the market's precision: shown as they come.
      tds[2].textContent = m.last_price || "–";
      tds[3].textContent = m.best_bid || "–";
      tds[4].textContent = m.best_ask || "–";
      tds[5].textContent = m.volume_24h + " " + m.base;
      tds[6].textContent = m.trades_24h;
      tds[7].textContent = m.open_orders;
    });
  }

  function poll() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        drawHealth(data);
        drawOverview(data.overview);
        var table = document.getElementById("overview-table");
        table.dataset.refreshes = String(Number(table.dataset.refreshes || 0) + 1);
      })
      .catch(function () {
        var venue = document.getElementById("venue-level");
        venue.className = "level level-red"; venue.textContent = "no data";
      })
      .finally(function () { setTimeout(poll, 2000); });
  }
  var updated = document.getElementById("health-updated");
  if (updated) setUpdated(updated.getAttribute("datetime"));
  setTimeout(poll, 2000);
})();
