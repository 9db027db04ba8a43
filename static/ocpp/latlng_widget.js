/* The admin's latitude/longitude map (django-leaflet callback). */
(function () {
  "use strict";
  window.ocppLatLngMapInit = function (map) {
    var el = map.getContainer();
    var lat = document.getElementById(el.dataset.latInput);
    var lng = document.getElementById(el.dataset.lngInput);
    var marker = null;

    function current() {
      var a = parseFloat(lat.value);
      var b = parseFloat(lng.value);
      return isFinite(a) && isFinite(b) ? L.latLng(a, b) : null;
    }
    function write(ll) {
      ll = ll.wrap();
      lat.value = ll.lat.toFixed(6);
      lng.value = ll.lng.toFixed(6);
      lat.dispatchEvent(new Event("change", { bubbles: true }));
      lng.dispatchEvent(new Event("change", { bubbles: true }));
    }
    function put(ll) {
      if (!marker) {
        marker = L.marker(ll, { draggable: true, title: "Charger position (drag me)" }).addTo(map);
        marker.on("dragend", function () { write(marker.getLatLng()); });
      } else {
        marker.setLatLng(ll);
      }
    }

    var start = current();
    if (start) {
      put(start);
      map.setView(start, 15);
    } else {
      map.setView([parseFloat(el.dataset.centerLat), parseFloat(el.dataset.centerLng)], parseInt(el.dataset.zoom, 10) || 12);
    }
    map.on("click", function (event) {
      put(event.latlng);
      write(event.latlng);
    });
    [lat, lng].forEach(function (input) {
      input.addEventListener("input", function () {
        var ll = current();
        if (ll) {
          put(ll);
          map.panTo(ll);
        }
      });
    });
    window.ocppLatLngMap = { map: map, marker: function () { return marker; } };
    el.dataset.ready = "1";
  };
})();
