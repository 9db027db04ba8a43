/* Live updates from /ws/dashboard/ (staff only): reconnects with back-off and,
   once (re)connected, asks for fresh rows of what the page shows so nothing
   missed while disconnected stays stale. */
(function () {
  "use strict";
  window.ocppLive = function (options) {
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var url = proto + location.host + "/ws/dashboard/";
    var delay = 1000;
    var ws = null;
    var indicator = document.getElementById("live");
    function setState(state) {
      if (indicator) {
        indicator.dataset.state = state;
        indicator.title = "live updates: " + state;
      }
    }
    function open() {
      setState("connecting");
      ws = new WebSocket(url);
      ws.onmessage = function (event) {
        var message;
        try { message = JSON.parse(event.data); } catch (e) { return; }
        if (message.type === "hello") {
          delay = 1000;
          setState("open");
          var ids = options.visibleIds ? options.visibleIds() : [];
          var message = {};
          if (options.only) message.only = options.only();
          if (options.followNew) message.follow_new = true;
          if (ids.length) message.refresh = ids;
          if (message.only || message.refresh) ws.send(JSON.stringify(message));
        } else if (message.type === "update") {
          options.onUpdate(message);
        }
      };
      ws.onclose = function () {
        setState("closed");
        setTimeout(open, delay);
        delay = Math.min(delay * 2, 30000);
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
