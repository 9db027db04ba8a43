/* Charger page: power/energy chart (uPlot), command buttons that show the
   charger's real answer, live connector statuses. */
(function () {
  "use strict";
  var page = document.getElementById("charger-page");
  var chargerId = page.dataset.chargerId;
  var chartEl = document.getElementById("chart");
  var emptyEl = document.getElementById("chart-empty");
  var plot = null;

  function columns(data) {
    return [
      data.t,
      data.power.map(function (w) { return w == null ? null : w / 1000; }),
      data.energy.map(function (wh) { return wh == null ? null : wh / 1000; }),
    ];
  }

  function draw(data) {
    if (!data.t.length) {
      emptyEl.hidden = false;
      return;
    }
    emptyEl.hidden = true;
    if (plot) {
      plot.setData(columns(data));
      return;
    }
    var width = Math.max(320, chartEl.clientWidth || 800);
    plot = new uPlot(
      {
        width: width,
        height: 300,
        series: [
          {},
          { label: "Power (kW)", stroke: "#2563eb", width: 2, scale: "kW", spanGaps: true },
          { label: "Energy (kWh)", stroke: "#16a34a", width: 2, scale: "kWh", spanGaps: true, fill: "rgba(22,163,74,0.08)" },
        ],
        scales: {
          kW: { range: function (u, min, max) { return [0, Math.max(1, (max || 0) * 1.1)]; } },
          kWh: { range: function (u, min, max) { return [0, Math.max(0.1, (max || 0) * 1.1)]; } },
        },
        axes: [{}, { scale: "kW", label: "kW" }, { scale: "kWh", label: "kWh", side: 1, grid: { show: false } }],
      },
      columns(data),
      chartEl
    );
    window.addEventListener("resize", function () {
      plot.setSize({ width: Math.max(320, chartEl.clientWidth), height: 300 });
    });
  }

  draw(JSON.parse(document.getElementById("chart-data").textContent));
  window.ocppChart = function () { return plot; };

  function refreshChart() {
    var tx = chartEl.dataset.tx;
    // A chosen old transaction does not change; follow the active one.
    if (tx && !chartEl.dataset.active) return;
    fetch(page.dataset.chartUrl + (tx ? "?tx=" + encodeURIComponent(tx) : ""), { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.transaction && String(data.transaction) !== tx) {
          chartEl.dataset.tx = data.transaction;
          chartEl.dataset.active = data.active ? "1" : "";
          var label = document.getElementById("chart-tx");
          if (label) label.textContent = data.transaction;
        }
        draw(data);
      });
  }

  // -- live ------------------------------------------------------------------
  window.ocppLive({
    only: function () { return [chargerId]; },
    refreshEvery: 30000,
    visibleIds: function () { return [chargerId]; },
    onUpdate: function (update) {
      update.chargers.forEach(function (c) {
        if (c.charger_id !== chargerId) return;
        var state = document.getElementById("charger-state");
        state.textContent = c.state;
        state.className = "pill conn-" + c.state;
        var fresh = document.createElement("template");
        fresh.innerHTML = c.html.trim();
        c.connectors.forEach(function (conn) {
          var pill = document.querySelector('#connectors [data-connector="' + conn.id + '"]');
          if (!pill) return;
          pill.dataset.status = conn.status;
          pill.textContent = conn.status || "?";
          var source = fresh.content.querySelector('[data-connector="' + conn.id + '"]');
          if (source) pill.className = source.className;
        });
        if (c.kinds.indexOf("meter") !== -1 || c.kinds.indexOf("transaction") !== -1) refreshChart();
      });
    },
  });

  // -- commands ------------------------------------------------------------------
  var answer = document.getElementById("command-answer");
  var csrf = document.querySelector("input[name=csrfmiddlewaretoken]").value;

  function show(text, kind) {
    answer.textContent = text;
    answer.className = "answer" + (kind ? " " + kind : "");
  }

  Array.prototype.forEach.call(document.querySelectorAll("form.cmd"), function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var action = form.dataset.action;
      var payload = form.dataset.fixed ? JSON.parse(form.dataset.fixed) : {};
      Array.prototype.forEach.call(form.elements, function (el) {
        if (!el.name || el.value === "") return;
        payload[el.name] = el.type === "number" ? parseInt(el.value, 10) : el.value;
      });
      var button = form.querySelector("button");
      button.disabled = true;
      show(action + ": waiting for the charger…", "");
      fetch(page.dataset.actionUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, Accept: "application/json" },
        body: JSON.stringify({ action: action, payload: payload }),
      })
        .then(function (response) {
          return response.text().then(function (text) {
            var body;
            try { body = JSON.parse(text); } catch (e) { body = text; }
            return { status: response.status, body: body };
          });
        })
        .then(function (result) {
          var body = result.body;
          if (result.status === 200 && body && typeof body === "object") {
            var reply = body.response || {};
            var status = reply.status ? " → " + reply.status : "";
            // What the API adds beyond the answer (e.g. the transaction id a
            // remote start led to).
            var extra = Object.keys(body).filter(function (k) {
              return ["command_id", "action", "request", "response"].indexOf(k) === -1;
            }).map(function (k) { return k + ": " + JSON.stringify(body[k]); });
            show(action + status + "\n" + JSON.stringify(reply, null, 2) + (extra.length ? "\n" + extra.join("\n") : ""),
                 reply.status && ["Accepted", "Unlocked", "Scheduled"].indexOf(reply.status) === -1 ? "error" : "ok");
          } else {
            var reasons = { 400: "rejected by the schema", 401: "not logged in", 403: "forbidden", 404: "not found", 409: "charger not connected", 502: "the charger answered with an error", 504: "no answer from the charger in time" };
            var detail = typeof body === "object" ? JSON.stringify(body, null, 2) : String(body).slice(0, 500);
            show(action + ": HTTP " + result.status + " " + (reasons[result.status] || "") + "\n" + detail, "error");
          }
        })
        .catch(function (err) { show(action + ": " + err, "error"); })
        .finally(function () { button.disabled = false; });
    });
  });
})();
