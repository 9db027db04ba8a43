/* Circuit page: the load against the limit over time (uPlot), and the live
   part of the page refreshed every few seconds without a reload. */
(function () {
  "use strict";
  var chartEl = document.getElementById("circuit-chart");
  var emptyEl = document.getElementById("circuit-chart-empty");
  var plot = null;

  function pad(n) { return n < 10 ? "0" + n : String(n); }
  function isoTime(ts) {
    var d = new Date(ts * 1000);
    return d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) + " " +
      pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
  }
  // Ticks as the rest of the site writes times (UTC), with seconds when they are under a minute apart.
  function axis(u, splits, axisIdx, space, incr) {
    return splits.map(function (ts) {
      if (ts == null) return null;
      var d = new Date(ts * 1000);
      return pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + (incr < 60 ? ":" + pad(d.getUTCSeconds()) : "");
    });
  }

  function draw(data) {
    if (!data.t.length) { emptyEl.hidden = false; return; }
    emptyEl.hidden = true;
    var columns = [data.t, data.limit, data.allocated, data.measured];
    if (plot) { plot.setData(columns); return; }
    plot = new uPlot({
      width: Math.max(320, chartEl.clientWidth || 800),
      height: 260,
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"); },
      series: [
        { label: "Time (UTC)", value: function (u, ts) { return ts == null ? "—" : isoTime(ts); } },
        { label: "Limit (A)", stroke: "#dc2626", width: 2, dash: [6, 4] },
        { label: "Allocated (A)", stroke: "#2563eb", width: 2 },
        { label: "Measured (A)", stroke: "#16a34a", width: 2, spanGaps: true, fill: "rgba(22,163,74,0.08)" },
      ],
      scales: { y: { range: function (u, min, max) { return [0, Math.max(1, (max || 0) * 1.15)]; } } },
      axes: [{ values: axis }, { label: "A" }],
    }, columns, chartEl);
    window.addEventListener("resize", function () {
      plot.setSize({ width: Math.max(320, chartEl.clientWidth), height: 260 });
    });
  }

  function readChart(doc) {
    var el = doc.getElementById("circuit-chart-data");
    return el ? JSON.parse(el.textContent) : null;
  }

  var initial = readChart(document);
  if (initial) draw(initial);

  var live = document.getElementById("live");
  if (!live) return;
  setInterval(function () {
    fetch(live.dataset.refresh, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("live");
        if (fresh) live.innerHTML = fresh.innerHTML;
        var data = readChart(doc);
        if (data) draw(data);
        live.classList.remove("stale");
      })
      .catch(function () { live.classList.add("stale"); });
  }, 3000);
})();
