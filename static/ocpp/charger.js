/* Charger page: power/energy chart (uPlot), live connector statuses, the
   parts that follow a session, and the certificate card (its commands
   answer in the words of commands.js, loaded before this file). */
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

  // Times as the rest of the site writes them: ISO 8601, UTC
  // (YYYY-MM-DD HH:MM), never uPlot's default US month/day and 12-hour clock.
  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function isoDay(d) { return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()); }
  function isoMinute(d) { return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()); }
  function isoTime(seconds, withSeconds) {
    var d = new Date(seconds * 1000);
    return isoDay(d) + " " + isoMinute(d) + (withSeconds ? ":" + pad(d.getUTCSeconds()) : "");
  }
  // Axis labels: the date where it changes (and on the first label), the
  // time of day under it; whole days alone when the ticks are days apart.
  function timeAxisValues(u, splits, axisIdx, space, incr) {
    var previous = null;
    return splits.map(function (ts) {
      if (ts == null) return null;
      var d = new Date(ts * 1000);
      var day = isoDay(d);
      var label;
      if (incr >= 86400) label = day;
      else {
        var time = isoMinute(d) + (incr < 60 ? ":" + pad(d.getUTCSeconds()) : "");
        label = day !== previous ? day + "\n" + time : time;
      }
      previous = day;
      return label;
    });
  }
  window.ocppChartTimes = { axis: timeAxisValues, legend: function (ts) { return isoTime(ts, true); } };

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
        // Ticks fall on whole UTC hours and days.
        tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
        series: [
          { label: "Time (UTC)", value: function (u, ts) { return ts == null ? "—" : isoTime(ts, true); } },
          { label: "Power (kW)", stroke: "#2563eb", width: 2, scale: "kW", spanGaps: true },
          { label: "Energy (kWh)", stroke: "#16a34a", width: 2, scale: "kWh", spanGaps: true, fill: "rgba(22,163,74,0.08)" },
        ],
        scales: {
          kW: { range: function (u, min, max) { return [0, Math.max(1, (max || 0) * 1.1)]; } },
          kWh: { range: function (u, min, max) { return [0, Math.max(0.1, (max || 0) * 1.1)]; } },
        },
        axes: [{ values: timeAxisValues, size: 56 }, { scale: "kW", label: "kW" }, { scale: "kWh", label: "kWh", side: 1, grid: { show: false } }],
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

  // A transaction chosen in the address (?tx=) stays on the chart; otherwise
  // the chart follows the charger's active (or latest) transaction.
  var chosenTx = new URLSearchParams(location.search).get("tx");

  function refreshChart() {
    var tx = chartEl.dataset.tx;
    if (chosenTx && !chartEl.dataset.active) return;
    if (!chosenTx) tx = "";
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

  // -- what a session or the charger's own reports change ----------------------
  // A session started or stopped (or energy flowed), a boot, a connection,
  // firmware or diagnostics progress: the parts of the page that follow them
  // are taken again from the page itself, so they are drawn by the same
  // template as on a reload: the identity and firmware card (firmware and
  // diagnostics status, last boot, connected since), the connectors'
  // transactions, the total energy, the recent transactions, the Remote stop
  // field and the load card. At most one fetch at a time; meter values at
  // most every METER_REFRESH ms.
  var METER_REFRESH = 5000;
  var sectionsTimer = null;
  var sectionsBusy = false;
  var lastSections = 0;

  function refreshSections(delay) {
    if (sectionsTimer !== null) {
      if (delay > 0) return;
      clearTimeout(sectionsTimer);
    }
    var wait = Math.max(0, delay - (Date.now() - lastSections));
    sectionsTimer = setTimeout(fetchSections, delay > 0 ? wait : 0);
  }

  function fetchSections() {
    sectionsTimer = null;
    if (sectionsBusy) { refreshSections(1000); return; }
    sectionsBusy = true;
    lastSections = Date.now();
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(new Error("HTTP " + r.status)); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ["identity", "total-energy", "recent-transactions", "load"].forEach(function (id) {
          var old = document.getElementById(id);
          var now = fresh.getElementById(id);
          if (old && now) old.replaceWith(now);
        });
        // Only the connectors' transaction cells: their statuses follow the
        // live events, which may be newer than this page.
        Array.prototype.forEach.call(fresh.querySelectorAll("#connectors [data-tx-connector]"), function (cell) {
          var old = document.querySelector('#connectors [data-tx-connector="' + cell.dataset.txConnector + '"]');
          if (old) old.replaceWith(cell);
        });
        var stop = 'form[data-action="RemoteStopTransaction"] input[name="transactionId"]';
        var field = document.querySelector(stop);
        var value = fresh.querySelector(stop);
        // Never overwrite what the operator is typing.
        if (field && value && document.activeElement !== field) field.value = value.value;
      })
      .catch(function () {})
      .finally(function () { sectionsBusy = false; });
  }

  // -- live ------------------------------------------------------------------
  // A connector's error as templates/ocpp/_connector_fault.html draws it;
  // text from chargers goes in as text, never as markup.
  function faultDetails(conn) {
    var box = document.createElement("span");
    box.className = "fault-details";
    box.dataset.role = "fault";
    function part(tag, className, text, title) {
      var el = document.createElement(tag);
      if (className) el.className = className;
      if (title) el.title = title;
      el.textContent = text;
      box.appendChild(document.createTextNode(box.childNodes.length ? " " : ""));
      box.appendChild(el);
      return el;
    }
    if (conn.error_code && conn.error_code !== "NoError") part("b", "error-code", conn.error_code);
    else if (conn.error_code) box.appendChild(document.createTextNode(conn.error_code));
    if (conn.vendor_error_code) {
      var code = part("span", "vendor-error", "vendor code ", "vendorErrorCode");
      var value = document.createElement("code");
      value.textContent = conn.vendor_error_code;
      code.appendChild(value);
    }
    if (conn.vendor_id) part("span", "vendor-id", "(" + conn.vendor_id + ")", "vendorId");
    if (conn.info) part("span", "fault-info", "· " + conn.info, "info");
    return box;
  }

  // An ISO time of the update as the page writes times (UTC, to the second).
  function setTime(id, iso) {
    var el = document.getElementById(id);
    if (el) el.textContent = iso ? iso.slice(0, 19).replace("T", " ") : "never";
  }

  window.ocppLive({
    only: function () { return [chargerId]; },
    refreshEvery: 30000,
    visibleIds: function () { return [chargerId]; },
    onReconnected: function () { refreshChart(); refreshSections(0); },
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
          var cell = document.querySelector('#connectors [data-fault-connector="' + conn.id + '"]');
          if (cell) {
            cell.textContent = "";
            cell.appendChild(faultDetails(conn));
          }
        });
        setTime("last-heartbeat", c.last_heartbeat);
        setTime("last-seen", c.last_seen);
        if (c.kinds.indexOf("meter") !== -1 || c.kinds.indexOf("transaction") !== -1) refreshChart();
        var now = ["transaction", "boot", "connected", "disconnected", "firmware", "diagnostics"];
        if (c.kinds.some(function (kind) { return now.indexOf(kind) !== -1; })) refreshSections(0);
        else if (c.kinds.indexOf("meter") !== -1) refreshSections(METER_REFRESH);
      });
    },
  });

  // -- certificates ----------------------------------------------------------------
  var card = document.getElementById("certificates");
  var commands = window.ocppCommands;
  if (!card || !commands) return;
  var certAnswer = document.getElementById("certificate-answer");
  // The certificate types the server offers (the install form's choices).
  var ROOT_TYPES = Array.prototype.map.call(
    document.querySelectorAll("#certificate-install select[name=certificate_type] option"),
    function (option) { return option.value; }
  );

  function cell(row, text, className) {
    var td = document.createElement("td");
    td.textContent = text == null ? "" : String(text);
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function when(iso) {
    return iso ? iso.slice(0, 16).replace("T", " ") : "";
  }

  function fill(tbody, items, render, empty) {
    tbody.textContent = "";
    if (!items.length) {
      var row = tbody.insertRow();
      row.className = "none";
      var td = cell(row, empty, "muted");
      td.colSpan = 4;
      return;
    }
    items.forEach(function (item) { tbody.appendChild(render(item)); });
  }

  function issuedRow(item) {
    var row = document.createElement("tr");
    row.dataset.serial = item.serial;
    cell(row, item.serial, "mono");
    cell(row, item.subject, "mono");
    var until = cell(row, when(item.not_after));
    if (item.expires_soon) {
      var mark = document.createElement("span");
      mark.className = "pill expiring";
      mark.textContent = new Date(item.not_after) <= new Date() ? "expired" : "expires soon";
      until.appendChild(document.createTextNode(" "));
      until.appendChild(mark);
    }
    cell(row, item.status);
    return row;
  }

  function installedRow(item) {
    var row = document.createElement("tr");
    row.dataset.hashAlgorithm = item.hash_algorithm;
    row.dataset.issuerNameHash = item.issuer_name_hash;
    row.dataset.issuerKeyHash = item.issuer_key_hash;
    row.dataset.serialNumber = item.serial_number;
    cell(row, item.certificate_type);
    cell(row, item.serial_number, "mono");
    cell(row, when(item.reported_at));
    var actions = cell(row, "");
    if (card.dataset.canOperate) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "cert-btn cert-delete";
      button.textContent = "Delete";
      actions.appendChild(button);
    }
    return row;
  }

  // The card again from the API (after a command changed what is kept).
  function reload() {
    return fetch(card.dataset.listUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(function (data) {
        fill(document.querySelector("#issued-certificates tbody"), data.issued, issuedRow, "None issued yet.");
        fill(document.querySelector("#installed-certificates tbody"), data.installed, installedRow,
             "None reported (Refresh asks the charger).");
      });
  }
  window.ocppCertificatesReload = reload;

  // Runs the steps one after the other, each writing its answer in words;
  // stops at the first that is not an HTTP 200.
  function run(button, steps) {
    button.disabled = true;
    var said = [];
    var chain = Promise.resolve(true);
    steps.forEach(function (step) {
      chain = chain.then(function (going) {
        if (!going) return false;
        said.push(commands.waiting(step.action));
        commands.render(certAnswer, said);
        return step.send().then(function (result) {
          said[said.length - 1] = commands.describe(step.action, result);
          commands.render(certAnswer, said);
          return result.status === 200;
        });
      });
    });
    return chain
      .then(function () { return reload(); })
      .catch(function (err) {
        said.push({ kind: "error", lines: [String(err)], nodes: [] });
        commands.render(certAnswer, said);
      })
      .finally(function () { button.disabled = false; });
  }

  // Viewers see the lists, not the buttons.
  if (!card.dataset.canOperate) return;

  document.getElementById("certificate-renew").addEventListener("click", function (event) {
    var renew = { action: "ExtendedTriggerMessage SignChargePointCertificate", send: function () { return commands.post(card.dataset.renewUrl); } };
    run(event.currentTarget, [renew]).then(function () {
      // The new certificate is signed once the charger sent its CSR.
      [3000, 10000].forEach(function (ms) { setTimeout(function () { reload().catch(function () {}); }, ms); });
    });
  });

  document.getElementById("certificate-refresh").addEventListener("click", function (event) {
    run(event.currentTarget, ROOT_TYPES.map(function (type) {
      return { action: "GetInstalledCertificateIds " + type, send: function () { return commands.command("GetInstalledCertificateIds", { certificateType: type }); } };
    }));
  });

  document.getElementById("installed-certificates").addEventListener("click", function (event) {
    var button = event.target.closest(".cert-delete");
    if (!button) return;
    var row = button.closest("tr");
    var hash = {
      hashAlgorithm: row.dataset.hashAlgorithm,
      issuerNameHash: row.dataset.issuerNameHash,
      issuerKeyHash: row.dataset.issuerKeyHash,
      serialNumber: row.dataset.serialNumber,
    };
    run(button, [{ action: "DeleteCertificate " + hash.serialNumber, send: function () { return commands.command("DeleteCertificate", { certificateHashData: hash }); } }]);
  });

  var install = document.getElementById("certificate-install");
  install.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData();
    data.append("certificate_type", install.elements.certificate_type.value);
    var file = install.elements.file.files[0];
    if (file) data.append("file", file);
    else data.append("certificate", install.elements.certificate.value);
    run(install.querySelector("button"), [{ action: "InstallCertificate", send: function () { return commands.post(card.dataset.installUrl, data); } }]);
  });
})();
