/* The driver's page (public): asks the page's own address for its figures
   as JSON every few seconds (data-poll-ms) and redraws the charger's state,
   each connector's status and fault, and the session in progress (energy,
   power, elapsed time, the masked card). Nothing else is fetched: the page
   shows no session but the one in progress, and once it ends the energy
   the charger finally counted for it (the figures carry it briefly; shown
   only in place of the session this page was showing). While the server cannot be
   reached the page says so and greys its figures; it asks nothing while
   the page is hidden, and at once when it is shown again. */
(function () {
  "use strict";
  var root = document.getElementById("driver");
  if (!root || !window.fetch) return;
  var every = parseInt(root.dataset.pollMs, 10) || 3000;
  var note = document.getElementById("live-note");
  var timer = null;
  // connector id -> the session shown: {energyText, startedAt, base (elapsed s), at (when base was true)}
  var shown = {};

  function setText(el, value) {
    if (el && el.textContent !== value) el.textContent = value;
  }

  function field(card, name) {
    return card.querySelector('[data-field="' + name + '"]');
  }

  function pad(n) {
    return (n < 10 ? "0" : "") + n;
  }

  function elapsedText(seconds) {
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    return h ? h + " h " + pad(m) + " min" : m + " min " + pad(seconds % 60) + " s";
  }

  function tick() {
    Object.keys(shown).forEach(function (id) {
      var s = shown[id];
      var card = root.querySelector('[data-connector-card="' + id + '"]');
      if (!card) return;
      setText(field(card, "elapsed"), elapsedText(s.base + Math.floor((Date.now() - s.at) / 1000)));
    });
  }

  function drawConnector(card, c) {
    var badge = card.querySelector("[data-connector]");
    badge.className = "connector " + c.status_class + " live-figure";
    setText(badge, c.status_text);
    card.classList.toggle("faulted", c.fault);
    var fault = field(card, "fault_text");
    fault.hidden = !c.fault;
    setText(fault, c.fault_text);
    var session = field(card, "session");
    var ended = field(card, "ended");
    var before = shown[c.id];
    if (c.session) {
      session.hidden = false;
      ended.hidden = true;
      setText(field(card, "energy_text"), c.session.energy_text);
      setText(field(card, "power_text"), c.session.power_text);
      setText(field(card, "card"), c.session.card);
      shown[c.id] = {
        energyText: c.session.energy_text,
        startedAt: c.session.started_at,
        base: c.session.elapsed_s,
        at: Date.now(),
      };
    } else {
      session.hidden = true;
      if (before) {
        // The final energy of the session this page showed, as the charger
        // counted it; what the page showed last when the server no longer
        // says (the session ended a while ago, or its stop was never sent).
        var finalText = c.ended && c.ended.started_at === before.startedAt ? c.ended.energy_text : before.energyText;
        ended.hidden = false;
        setText(ended, "Session ended · " + finalText);
        delete shown[c.id];
      }
    }
  }

  function draw(data) {
    root.dataset.state = data.charger.state;
    var state = document.getElementById("charger-state");
    state.className = "pill conn-" + data.charger.state;
    setText(state, data.charger.state_text);
    var notice = document.getElementById("charger-notice");
    notice.hidden = !data.charger.notice;
    setText(notice, data.charger.notice);
    var fault = document.getElementById("charger-fault");
    fault.hidden = !data.charger.fault;
    setText(fault, data.charger.fault);
    data.connectors.forEach(function (c) {
      var card = root.querySelector('[data-connector-card="' + c.id + '"]');
      if (card) drawConnector(card, c);
    });
    tick();
  }

  function reachable(ok) {
    document.documentElement.dataset.live = ok ? "open" : "closed";
    note.hidden = ok;
    if (!ok) setText(note, "cannot reach the server · figures may be out of date");
  }

  function poll() {
    clearTimeout(timer);
    if (document.hidden) return;
    fetch(location.pathname, { headers: { Accept: "application/json" }, cache: "no-store", credentials: "omit" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        draw(data);
        reachable(true);
      })
      .catch(function () {
        reachable(false);
      })
      .then(function () {
        timer = setTimeout(poll, every);
      });
  }

  root.querySelectorAll("[data-connector-card]").forEach(function (card) {
    var elapsed = field(card, "elapsed");
    if (!field(card, "session").hidden) {
      shown[card.dataset.connectorCard] = {
        energyText: field(card, "energy_text").textContent,
        startedAt: field(card, "session").dataset.startedAt,
        base: parseInt(elapsed.dataset.elapsedS, 10) || 0,
        at: Date.now(),
      };
    }
  });
  tick();
  setInterval(tick, 1000);
  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) poll();
  });
  timer = setTimeout(poll, every);
})();
