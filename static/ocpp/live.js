/* Live updates from /ws/dashboard/ (viewers and operators). While the socket is closed
   (the server gone, a restart, the network) the page says it is disconnected
   and greys out what it shows (html[data-live]: "closed", then "refreshing"
   until fresh data came), reconnects by itself with back-off, and once
   (re)connected asks for fresh rows and counts so nothing missed stays. */
(function () {
  "use strict";
  var FIRST_DELAY = 1000;
  var MAX_DELAY = 30000;

  window.ocppLive = function (options) {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var url = proto + location.host + "/ws/dashboard/";
    var delay = FIRST_DELAY;
    var ws = null;
    var retryAt = 0;
    var countdown = null;
    var everOpen = false;
    var indicator = document.getElementById("live");
    var root = document.documentElement;

    // "connecting" (first load), "open", "closed", "refreshing" (open again,
    // fresh data not arrived yet).
    function setState(state, text) {
      root.dataset.live = state;
      if (!indicator) return;
      indicator.dataset.state = state;
      indicator.textContent = text;
      indicator.title = "live updates: " + state;
    }

    function showClosed() {
      var seconds = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
      setState("closed", "● disconnected · figures may be out of date · reconnecting" + (seconds ? " in " + seconds + " s" : "…"));
    }

    function open() {
      if (countdown) {
        clearInterval(countdown);
        countdown = null;
      }
      if (!everOpen) setState("connecting", "○ connecting…");
      ws = new WebSocket(url);
      ws.onmessage = function (event) {
        var message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        if (message.type === "hello") {
          delay = FIRST_DELAY;
          var ids = options.visibleIds ? options.visibleIds() : [];
          var request = { refresh: ids };
          if (options.only) request.only = options.only();
          if (options.followNew) request.follow_new = true;
          if (everOpen) {
            setState("refreshing", "◐ reconnected · refreshing…");
          } else {
            setState("open", "● live");
          }
          everOpen = true;
          ws.send(JSON.stringify(request));
        } else if (message.type === "update") {
          options.onUpdate(message);
          if (root.dataset.live === "refreshing") {
            setState("open", "● live");
            if (options.onReconnected) options.onReconnected();
          }
        }
      };
      ws.onclose = function () {
        ws = null;
        // Jittered, doubling up to MAX_DELAY: a restarted server is not met
        // by every open page at the same instant.
        var wait = delay * (0.75 + Math.random() * 0.5);
        delay = Math.min(delay * 2, MAX_DELAY);
        retryAt = Date.now() + wait;
        showClosed();
        countdown = setInterval(showClosed, 1000);
        setTimeout(open, wait);
      };
    }
    open();
    // Silence produces no event: re-read the shown rows now and then so a
    // charger that stopped talking turns "stale" without a reload.
    if (options.refreshEvery && options.visibleIds) {
      setInterval(function () {
        var ids = options.visibleIds();
        if (ws && ws.readyState === WebSocket.OPEN && ids.length) ws.send(JSON.stringify({ refresh: ids }));
      }, options.refreshEvery);
    }
  };
})();
