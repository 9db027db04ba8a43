/* Dashboard: rows, counts and map markers replaced live from the socket. */
(function () {
  "use strict";
  var tbody = document.querySelector("#chargers tbody");
  var form = document.getElementById("filters");
  var empty = document.getElementById("no-chargers");
  var COLOURS = { online: "#16a34a", charging: "#2563eb", stale: "#d97706", faulted: "#dc2626", offline: "#6b7280" };

  function rowOf(id) {
    return tbody.querySelector('tr[data-charger-id="' + CSS.escape(id) + '"]');
  }

  function matches(row) {
    var q = (form.elements.q.value || "").trim().toLowerCase();
    var state = form.elements.state.value;
    var status = form.elements.status.value;
    var vendor = form.elements.vendor.value;
    if (q && row.dataset.search.indexOf(q) === -1) return false;
    if (state && row.dataset.state !== state) return false;
    if (status && (" " + row.dataset.statuses + " ").toLowerCase().indexOf(" " + status.toLowerCase() + " ") === -1) return false;
    if (vendor && row.dataset.vendor.toLowerCase() !== vendor.toLowerCase()) return false;
    return true;
  }

  function place(row) {
    var id = row.dataset.chargerId;
    var rows = tbody.querySelectorAll("tr[data-charger-id]");
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].dataset.chargerId > id) {
        tbody.insertBefore(row, rows[i]);
        return;
      }
    }
    tbody.appendChild(row);
  }

  // -- map ---------------------------------------------------------------
  var mapEl = document.getElementById("charger-map");
  var markers = {};
  var map = null;
  if (mapEl && window.L) {
    var centre = [parseFloat(mapEl.dataset.centerLat), parseFloat(mapEl.dataset.centerLng)];
    map = L.map(mapEl).setView(centre, 11);
    // Tiles come from the internet; without it the markers still work.
    L.tileLayer("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", {
      maxZoom: 19,
      attribution: "&copy; OpenStreetMap contributors",
    }).addTo(map);
    var points = JSON.parse(document.getElementById("map-points").textContent);
    points.forEach(setMarker);
    if (points.length) {
      map.fitBounds(L.latLngBounds(points.map(function (p) { return [p.lat, p.lng]; })).pad(0.2), { maxZoom: 14 });
    }
  }

  function setMarker(point) {
    if (!map || !point) return;
    var colour = COLOURS[point.colour] || COLOURS.offline;
    var marker = markers[point.id];
    if (!marker) {
      marker = L.circleMarker([point.lat, point.lng], { radius: 9, weight: 2, color: "#111827", fillOpacity: 0.9 });
      marker.addTo(map);
      markers[point.id] = marker;
    }
    marker.setLatLng([point.lat, point.lng]);
    marker.setStyle({ fillColor: colour });
    marker.options.ocppColour = point.colour;
    if (marker.getElement()) marker.getElement().setAttribute("data-colour", point.colour);
    // Ids come from chargers: text, never markup (Leaflet tooltips take HTML).
    var label = document.createElement("span");
    label.textContent = point.id + (point.name ? " · " + point.name : "") + " · " + point.colour;
    marker.bindTooltip(label);
    marker.off("click");
    marker.on("click", function () {
      location.href = "chargers/" + encodeURIComponent(point.id) + "/view/";
    });
  }

  // -- live updates --------------------------------------------------------
  function apply(update) {
    update.chargers.forEach(function (c) {
      var template = document.createElement("template");
      template.innerHTML = c.html.trim();
      var fresh = template.content.firstElementChild;
      var old = rowOf(c.charger_id);
      setMarker(c.point);
      if (!matches(fresh)) {
        if (old) old.remove();
        return;
      }
      if (old && old.outerHTML === fresh.outerHTML) return;  // nothing new to show
      if (old) old.replaceWith(fresh);
      else place(fresh);
      fresh.classList.add("flash");
      setTimeout(function () { fresh.classList.remove("flash"); }, 1200);
    });
    (update.points || []).forEach(setMarker);
    (update.removed || []).forEach(function (id) {
      var row = rowOf(id);
      if (row) row.remove();
      if (markers[id]) {
        markers[id].remove();
        delete markers[id];
      }
    });
    document.getElementById("counts").innerHTML = update.counts_html;
    empty.hidden = tbody.querySelector("tr[data-charger-id]") !== null;
  }

  function visibleIds() {
    return Array.prototype.map.call(tbody.querySelectorAll("tr[data-charger-id]"), function (r) {
      return r.dataset.chargerId;
    });
  }
  // Rows for the chargers shown and for new ones; markers and counts for all.
  window.ocppLive({ onUpdate: apply, visibleIds: visibleIds, only: visibleIds, followNew: true, refreshEvery: 30000 });
  window.ocppDashboard = { markers: markers, map: map };
})();
