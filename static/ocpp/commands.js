/* Charger page: the command forms (templates/ocpp/_charger_commands.html).
   Each form posts one OCPP CALL to the REST command endpoint
   (POST .../action/, docs/api.md) and writes the charger's answer under
   itself in words: the status and what it changed, or why there is none (a
   field refused before sending, not connected, no answer in time, a
   CALLERROR). The parts of the page an answer changed are taken again from
   the page itself (the form's data-refresh ids), drawn by the same template
   as on a reload. The certificate card (charger.js) answers with the same
   words: window.ocppCommands. Text from chargers goes in as text, never as
   markup. */
(function () {
  "use strict";
  var page = document.getElementById("charger-page");
  if (!page) return;
  var card = document.getElementById("commands");
  var token = (card && card.querySelector("input[name=csrfmiddlewaretoken]")) ||
    document.querySelector("input[name=csrfmiddlewaretoken]");
  var csrf = token ? token.value : "";
  var recordUrl = card ? card.dataset.commandUrl : "";

  // -- talking to the API ------------------------------------------------------
  // POST with the session's CSRF token; resolves to {status, body}.
  function post(url, body) {
    var headers = { "X-CSRFToken": csrf, Accept: "application/json" };
    if (body !== undefined && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(body);
    }
    return fetch(url, { method: "POST", credentials: "same-origin", headers: headers, body: body })
      .then(function (response) {
        return response.text().then(function (text) {
          var parsed;
          try { parsed = JSON.parse(text); } catch (e) { parsed = text; }
          return { status: response.status, body: parsed };
        });
      });
  }

  function command(action, payload) {
    return post(page.dataset.actionUrl, { action: action, payload: payload });
  }

  // -- the answer in words -----------------------------------------------------
  var OK_STATUSES = ["Accepted", "Unlocked", "Scheduled", "RebootRequired", "AcceptedCanceled"];
  var HTTP_WORDS = {
    400: "not sent", 401: "not logged in", 403: "not allowed", 404: "not found", 409: "not sent",
    502: "the charger answered with an error", 503: "not delivered", 504: "no answer in time",
  };

  function connectorWords(n) {
    return n === 0 || n === "0" ? "the whole charger" : "connector " + n;
  }
  function capital(text) { return text.charAt(0).toUpperCase() + text.slice(1); }
  function utc(iso) {
    return iso ? String(iso).slice(0, 16).replace("T", " ") + " UTC" : "";
  }
  function plural(n, word) { return n + " " + word + (n === 1 ? "" : "s"); }

  // What each status of each action means, from the request sent and the
  // charger's answer. Only the statuses the protocol defines are named; any
  // other is said as the charger said it.
  var SAY = {
    RemoteStartTransaction: function (r, q, body) {
      var said = r.status === "Accepted"
        ? ["The charger will start a session on " + connectorWords(q.connectorId || 1) + " for " + q.idTag + "."]
        : ["The charger refused to start a session."];
      if ("transaction_id" in body && r.status === "Accepted") {
        said.push(body.transaction_id == null
          ? "The charger accepted, but no session started within the time-out."
          : "The session started: transaction " + body.transaction_id + ".");
      }
      return said;
    },
    RemoteStopTransaction: function (r, q) {
      return [r.status === "Accepted" ? "The charger will stop transaction " + q.transactionId + "."
        : "The charger refused to stop transaction " + q.transactionId + "."];
    },
    Reset: function (r, q) {
      return [r.status === "Accepted" ? "The charger will reset (" + q.type + ")." : "The charger refused to reset."];
    },
    UnlockConnector: function (r, q) {
      return [{ Unlocked: "Connector " + q.connectorId + " is unlocked.",
        UnlockFailed: "The charger could not unlock connector " + q.connectorId + ".",
        NotSupported: "The charger cannot unlock connectors." }[r.status]];
    },
    ChangeAvailability: function (r, q) {
      var what = connectorWords(q.connectorId);
      return [{ Accepted: capital(what) + " is now " + q.type + ".",
        Scheduled: capital(what) + " becomes " + q.type + " once the session in progress ends.",
        Rejected: "The charger refused: " + what + " stays as it was." }[r.status]];
    },
    ChangeConfiguration: function (r, q) {
      var value = q.value === "" || q.value == null ? "empty" : q.value;
      return [{ Accepted: q.key + " is now " + value + ".",
        RebootRequired: q.key + " is set to " + value + "; it takes effect after a reboot.",
        Rejected: "The charger refused: " + q.key + " keeps its value.",
        NotSupported: "The charger does not know the key " + q.key + "." }[r.status]];
    },
    ClearCache: function (r) {
      return [r.status === "Accepted" ? "The charger cleared its authorization cache." : "The charger refused to clear its cache."];
    },
    GetLocalListVersion: function (r) {
      var v = r.listVersion;
      return [v > 0 ? "The charger's local list is at version " + v + "."
        : "The charger's local list is empty or not in use (version " + v + ")."];
    },
    SendLocalList: function (r, q) {
      var sent = (q.localAuthorizationList || []).length;
      return [{ Accepted: "The charger's local list is now version " + q.listVersion + " (" +
          (q.updateType === "Full" ? "exactly the " + plural(sent, "tag") + " sent" : plural(sent, "change")) + ").",
        Failed: "The charger could not update its list; it keeps its version.",
        VersionMismatch: "The charger's list version does not follow: Get version asks which it holds, or send a Full list.",
        NotSupported: "The charger has no local list." }[r.status]];
    },
    ReserveNow: function (r, q) {
      var where = connectorWords(q.connectorId).replace("the whole charger", "any connector");
      return [{ Accepted: "Reservation " + q.reservationId + " holds " + where + " for " + q.idTag + " until " + utc(q.expiryDate) + ".",
        Occupied: "Not reserved: " + where + " is occupied.",
        Faulted: "Not reserved: " + where + " is faulted.",
        Unavailable: "Not reserved: " + where + " is unavailable.",
        Rejected: "The charger refused the reservation." }[r.status]];
    },
    CancelReservation: function (r, q) {
      return [r.status === "Accepted" ? "Reservation " + q.reservationId + " is cancelled."
        : "The charger holds no reservation " + q.reservationId + "."];
    },
    SetChargingProfile: function (r, q) {
      var p = q.csChargingProfiles || {};
      var what = "profile " + p.chargingProfileId + " (" + p.chargingProfilePurpose + ", stack level " + p.stackLevel + ")";
      return [{ Accepted: "The charger applies " + what + " on " + connectorWords(q.connectorId) + ".",
        Rejected: "The charger refused " + what + ".",
        NotSupported: "The charger does not support smart charging." }[r.status]];
    },
    ClearChargingProfile: function (r) {
      return [r.status === "Accepted" ? "The charger cleared the matching profiles." : "No profile on the charger matched."];
    },
    GetCompositeSchedule: function (r, q) {
      return [r.status === "Accepted" ? "What the charger will apply on " + connectorWords(q.connectorId) + ":"
        : "The charger could not give a schedule."];
    },
    TriggerMessage: function (r, q) {
      return [{ Accepted: "The charger will send " + q.requestedMessage + ".",
        Rejected: "The charger will not send " + q.requestedMessage + ".",
        NotImplemented: "The charger cannot send " + q.requestedMessage + " on request." }[r.status]];
    },
    UpdateFirmware: function (r, q) {
      return ["The charger will download the firmware from " + q.location + " from " + utc(q.retrieveDate) +
        "; its progress comes as firmware status notifications (Firmware, above)."];
    },
    SignedUpdateFirmware: function (r, q) {
      var id = q.requestId != null ? " (request " + q.requestId + ")" : "";
      return [{ Accepted: "The charger will download and check the signed firmware" + id + "; its progress comes as signed firmware status notifications.",
        AcceptedCanceled: "The charger accepted" + id + " and cancelled the update it was running.",
        Rejected: "The charger refused the signed firmware update.",
        InvalidCertificate: "The charger does not trust the firmware signing certificate.",
        RevokedCertificate: "The firmware signing certificate is revoked for the charger." }[r.status]];
    },
    GetDiagnostics: function (r, q) {
      return [r.fileName ? "The charger will upload " + r.fileName + " to " + q.location + "; its progress comes as diagnostics status notifications."
        : "The charger has no diagnostics to upload."];
    },
    GetLog: function (r, q) {
      var file = r.filename ? " " + r.filename : " its log";
      return [{ Accepted: "The charger will upload" + file + " (request " + q.requestId + ") to " + (q.log || {}).remoteLocation + ".",
        AcceptedCanceled: "The charger will upload" + file + " and cancelled the upload it was running.",
        Rejected: "The charger refused to upload its log." }[r.status]];
    },
    DataTransfer: function (r, q) {
      var said = [{ Accepted: "The charger accepted the data.",
        Rejected: "The charger refused the data.",
        UnknownMessageId: "The charger does not know the message id " + q.messageId + ".",
        UnknownVendorId: "The charger does not know the vendor id " + q.vendorId + "." }[r.status]];
      if (r.data != null && r.data !== "") said.push("The charger's data: " + r.data);
      return said;
    },
  };
  SAY.ExtendedTriggerMessage = SAY.TriggerMessage;
  SAY.GetConfiguration = function (r) {
    var unknown = (r.unknownKey || []).length;
    return ["The charger reported " + plural((r.configurationKey || []).length, "key") +
      (unknown ? " and did not know " + unknown : "") + "; Configuration keys below shows what is stored."];
  };
  SAY.InstallCertificate = function (r, q) {
    return [{ Accepted: "The charger installed the " + q.certificateType + ".",
      Rejected: "The charger refused the certificate.",
      Failed: "The charger could not install the certificate." }[r.status]];
  };
  SAY.DeleteCertificate = function (r) {
    return [{ Accepted: "The charger deleted the certificate.",
      Failed: "The charger could not delete the certificate.",
      NotFound: "The charger does not hold that certificate." }[r.status]];
  };
  SAY.GetInstalledCertificateIds = function (r, q) {
    return [r.status === "Accepted" ? "The charger reported " + plural((r.certificateHashData || []).length, "certificate") + " of type " + q.certificateType + "."
      : "The charger holds no " + q.certificateType + "."];
  };

  // "field: message" as the API names a refused field (the protocol's
  // schema, our own rules, or the request's own fields).
  var FIELD = /^([A-Za-z][\w.\[\]\/]*): ([\s\S]+)$/;
  // The field a refusal names: the schema's path, or the rule's "field: ...".
  function refusedField(body) {
    if (!body || typeof body !== "object" || typeof body.detail !== "string") return "";
    var named = FIELD.exec(body.detail);
    return (body.error_details && body.error_details.field) || (named ? named[1] : "");
  }
  function refusedFields(body) {
    if (!body || typeof body !== "object") return ["The server refused the request."];
    if (typeof body.detail === "string") {
      // The schema check reads decimals exactly; say the number as typed.
      var detail = body.detail.replace(/Decimal\('([^']*)'\)/g, "$1");
      var field = refusedField(body);
      if (field && detail.indexOf(field + ": ") === 0) return ["Field " + field + ": " + detail.slice(field.length + 2)];
      return [detail];
    }
    var lines = [];
    (function walk(value, path) {
      if (Array.isArray(value) && value.every(function (v) { return typeof v === "string"; })) {
        lines.push("Field " + path + ": " + value.join(" "));
      } else if (value && typeof value === "object") {
        Object.keys(value).forEach(function (k) { walk(value[k], path ? path + "." + k : k); });
      } else if (value != null) lines.push("Field " + path + ": " + value);
    })(body, "");
    return lines.length ? lines : ["The server refused the request."];
  }

  function detailOf(body, fallback) {
    return body && typeof body === "object" && typeof body.detail === "string" ? body.detail : fallback;
  }

  // A command's HTTP answer as {kind, lines, nodes, commandId}: kind "ok"
  // for an accepting answer, "refused" for the charger's refusal, "error"
  // when there is no answer. `label` heads the text (the action, or the
  // action and what it was about); `action` picks the words.
  function describe(label, result, request, action) {
    action = action || String(label).split(" ")[0];
    var body = result.body;
    var status = result.status;
    if (status === 200 && body && typeof body === "object") {
      var reply = body.response || {};
      var q = request || body.request || {};
      var said = SAY[action] ? SAY[action](reply, q, body) : [];
      said = said.filter(function (line) { return line; });
      if (!said.length && reply.status) said = ["The charger answered " + reply.status + "."];
      var accepting = !reply.status || OK_STATUSES.indexOf(reply.status) !== -1;
      return {
        kind: accepting ? "ok" : "refused",
        lines: [label + " → " + (reply.status || "answered")].concat(said),
        nodes: [],
        commandId: body.command_id,
        response: reply,
      };
    }
    var lines = [label + ": HTTP " + status + " " + (HTTP_WORDS[status] || "failed")];
    if (status === 400) lines = lines.concat(refusedFields(body));
    else if (status === 409) lines.push("The charger is not connected: nothing was sent.");
    else if (status === 504) lines.push("The charger did not answer in time. It may still act on the command; an answer that comes later is kept in the command's record.");
    else if (status === 502 && body && body.status === "invalid_response") {
      lines.push("The charger's answer does not follow the OCPP schema: " + (body.error_description || body.detail || ""));
    } else if (status === 502) {
      var code = (body && body.error_code) || "an error";
      var why = body && body.error_description ? ": " + body.error_description : "";
      lines.push("The charger answered CALLERROR " + code + why + ".");
    } else if (status === 401) lines.push("Log in again to send commands.");
    else if (status === 403) lines.push(detailOf(body, "Your role may not send commands."));
    else if (status === 404) lines.push(detailOf(body, "This charger is no longer known."));
    else if (status === 503) lines.push(detailOf(body, "The server cannot reach the charger's node now; try again."));
    else lines.push(detailOf(body, "The server could not handle the request."));
    return { kind: "error", lines: lines, nodes: [], commandId: body && body.command_id, field: status === 400 ? refusedField(body) : "" };
  }

  function recordLink(id) {
    if (!id || !recordUrl) return null;
    var a = document.createElement("a");
    a.href = recordUrl.replace("/0/", "/" + encodeURIComponent(id) + "/");
    a.textContent = "command " + id + " on record";
    a.className = "record-link";
    return a;
  }

  // Writes described answers (one or more) into `box`.
  function render(box, described) {
    var list = Array.isArray(described) ? described : [described];
    box.hidden = false;
    box.textContent = "";
    var kinds = list.map(function (d) { return d.kind; });
    var kind = kinds.indexOf("error") !== -1 ? "error" : kinds.indexOf("refused") !== -1 ? "refused" : kinds.indexOf("") !== -1 ? "" : "ok";
    list.forEach(function (d) {
      var part = document.createElement("div");
      part.className = "said";
      d.lines.forEach(function (line, i) {
        var el = document.createElement("div");
        if (i === 0) el.className = "said-head";
        el.textContent = line;
        part.appendChild(el);
      });
      (d.nodes || []).forEach(function (node) { part.appendChild(node); });
      var link = recordLink(d.commandId);
      if (link) part.appendChild(link);
      box.appendChild(part);
    });
    box.className = "answer" + (kind ? " " + kind : "");
  }

  function waiting(label) {
    return { kind: "", lines: [label + ": waiting for the charger…"], nodes: [] };
  }

  window.ocppCommands = { post: post, command: command, describe: describe, render: render, waiting: waiting };

  if (!card) return;

  // -- tables the answers carry ---------------------------------------------------
  function table(headers, rows, className) {
    var t = document.createElement("table");
    t.className = "grid " + (className || "");
    var head = t.createTHead().insertRow();
    headers.forEach(function (text) {
      var th = document.createElement("th");
      th.textContent = text;
      head.appendChild(th);
    });
    var tbody = t.createTBody();
    rows.forEach(function (cells) {
      var row = tbody.insertRow();
      cells.forEach(function (text) { row.insertCell().textContent = text == null ? "" : String(text); });
    });
    var wrap = document.createElement("div");
    wrap.className = "table-wrap";
    wrap.appendChild(t);
    return wrap;
  }

  // A GetConfiguration answer: key, value, read-only, and the unknown keys.
  function configurationNodes(reply) {
    var keys = reply.configurationKey || [];
    var unknown = reply.unknownKey || [];
    var nodes = [];
    if (keys.length) {
      var wrap = table(["Key", "Value", "Read-only"], keys.map(function (item) {
        return [item.key, item.value == null ? "" : item.value, item.readonly ? "yes" : "no"];
      }), "config-table");
      Array.prototype.forEach.call(wrap.querySelectorAll("tbody tr"), function (row, i) {
        row.dataset.key = keys[i].key;
        row.cells[0].className = "config-key";
        row.cells[1].className = "config-value";
      });
      nodes.push(wrap);
    }
    if (unknown.length) {
      var note = document.createElement("div");
      note.className = "unknown-keys";
      note.textContent = "Unknown to the charger: " + unknown.join(", ");
      nodes.push(note);
    }
    return nodes;
  }

  // A GetCompositeSchedule answer: one row per period, from and until when
  // (UTC, when the charger gave its start), the limit and the phases.
  function scheduleNodes(reply) {
    var schedule = reply.chargingSchedule;
    if (!schedule) return [];
    var unit = schedule.chargingRateUnit;
    var start = reply.scheduleStart || schedule.startSchedule;
    var t0 = start ? Date.parse(start) : NaN;
    var periods = (schedule.chargingSchedulePeriod || []).slice().sort(function (a, b) { return a.startPeriod - b.startPeriod; });
    function at(seconds) {
      if (seconds == null) return schedule.duration == null ? "open-ended" : "";
      if (isNaN(t0)) return "+" + seconds + " s";
      return utc(new Date(t0 + seconds * 1000).toISOString());
    }
    var rows = periods.map(function (p, i) {
      var next = i + 1 < periods.length ? periods[i + 1].startPeriod : schedule.duration;
      return [at(p.startPeriod), next == null ? "open-ended" : at(next), p.limit + " " + unit, p.numberPhases == null ? "—" : p.numberPhases];
    });
    var nodes = [table(["From", "Until", "Limit", "Phases"], rows, "schedule-table")];
    var facts = [];
    if (start) facts.push("Starts " + utc(start));
    if (schedule.duration != null) facts.push("lasts " + schedule.duration + " s");
    if (schedule.minChargingRate != null) facts.push("minimum rate " + schedule.minChargingRate + " " + unit);
    if (facts.length) {
      var note = document.createElement("div");
      note.textContent = facts.join(" · ") + ".";
      nodes.unshift(note);
    }
    return nodes;
  }

  var NODES = { GetConfiguration: configurationNodes, GetCompositeSchedule: scheduleNodes };

  // -- refreshing what an answer changed --------------------------------------------
  // The elements of `ids` again from the page, unless the operator is in one.
  function refreshFromPage(ids) {
    if (!ids.length) return Promise.resolve();
    return fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(new Error("HTTP " + r.status)); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        ids.forEach(function (id) {
          var old = document.getElementById(id);
          var now = fresh.getElementById(id);
          if (!old || !now) return;
          if (old !== document.activeElement && old.contains(document.activeElement)) return;
          if (old === document.activeElement) return;
          old.replaceWith(document.importNode(now, true));
        });
      })
      .catch(function () {});
  }

  // -- reading a form ---------------------------------------------------------------
  function setPath(target, path, value) {
    var keys = path.split(".");
    var last = keys.pop();
    keys.forEach(function (key) {
      if (!target[key] || typeof target[key] !== "object") target[key] = {};
      target = target[key];
    });
    target[last] = value;
  }

  // The UTC time typed in a datetime-local field, as the wire writes it.
  function wireTime(value) {
    return (value.length === 16 ? value + ":00" : value) + "Z";
  }

  function valueOf(el) {
    var type = el.dataset.type || el.type;
    if (type === "int" || type === "number") return parseInt(el.value, 10);
    if (type === "decimal") return parseFloat(el.value);
    if (type === "datetime-local") return wireTime(el.value);
    if (type === "list") return el.value.split(",").map(function (k) { return k.trim(); }).filter(Boolean);
    return el.value;
  }

  // The form's payload, and the element behind each wire path (for naming a
  // refused field on the form itself).
  function readForm(form) {
    var payload = {};
    var fields = {};
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.disabled || el.type === "file" || el.type === "search") return;
      var value;
      if (el.multiple) {
        value = Array.prototype.filter.call(el.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
        if (!value.length) return;
      } else {
        if (el.value === "") return;
        value = valueOf(el);
      }
      if (Array.isArray(value) && Array.isArray(payload[el.name])) value = payload[el.name].concat(value);
      if (Array.isArray(value) && !value.length) return;
      setPath(payload, el.name, value);
      fields[el.name.replace(/\./g, "/")] = el;
    });
    return { payload: payload, fields: fields };
  }

  // Forms whose payload is more than their named fields.
  var BUILD = {
    SetChargingProfile: function (form, read) {
      var periods = [];
      Array.prototype.forEach.call(form.querySelectorAll("tr.period"), function (row, i) {
        var period = {};
        Array.prototype.forEach.call(row.querySelectorAll("input[data-period]"), function (el) {
          if (el.value === "") return;
          var key = el.dataset.period;
          period[key] = key === "limit" ? parseFloat(el.value) : parseInt(el.value, 10);
          read.fields["csChargingProfiles/chargingSchedule/chargingSchedulePeriod/" + i + "/" + key] = el;
        });
        periods.push(period);
      });
      setPath(read.payload, "csChargingProfiles.chargingSchedule.chargingSchedulePeriod", periods);
    },
    SendLocalList: function (form, read) {
      var differential = read.payload.updateType === "Differential";
      var list = [];
      Array.prototype.forEach.call(form.querySelectorAll("tr[data-id-tag]"), function (row) {
        var send = row.querySelector(".send-tag");
        var remove = row.querySelector(".remove-tag");
        if (differential && remove && remove.checked) {
          list.push({ idTag: row.dataset.idTag });
        } else if (send && send.checked && !send.disabled) {
          var info = { status: row.dataset.status || "Accepted" };
          if (row.dataset.expiry) info.expiryDate = row.dataset.expiry;
          if (row.dataset.parent) info.parentIdTag = row.dataset.parent;
          list.push({ idTag: row.dataset.idTag, idTagInfo: info });
        }
      });
      read.payload.localAuthorizationList = list;
    },
  };

  // Which fields a choice shows: data-when="name=value" (data-when-not: all
  // but that value). A hidden field is disabled, so it is not sent.
  function applyConditions(form) {
    Array.prototype.forEach.call(form.querySelectorAll("[data-when], [data-when-not]"), function (holder) {
      var rule = (holder.dataset.when || holder.dataset.whenNot).split("=");
      var control = form.elements[rule[0]];
      var matches = control && control.value === rule[1];
      var shown = holder.dataset.when ? matches : !matches;
      holder.hidden = !shown;
      Array.prototype.forEach.call(holder.querySelectorAll("input, select, textarea"), function (el) { el.disabled = !shown; });
    });
    if (form.dataset.action === "SendLocalList") {
      form.classList.toggle("differential", form.elements.updateType.value === "Differential");
      countList(form);
    }
  }

  function countList(form) {
    var note = form.querySelector(".list-count");
    if (!note) return;
    var differential = form.elements.updateType.value === "Differential";
    var sent = form.querySelectorAll("tr[data-id-tag] .send-tag:checked:not(:disabled)").length;
    var removed = differential ? form.querySelectorAll("tr[data-id-tag] .remove-tag:checked").length : 0;
    note.textContent = differential
      ? plural(sent, "tag") + " to add or update, " + removed + " to remove."
      : (sent ? "The charger's list becomes these " + plural(sent, "tag") + "." : "No tag ticked: the charger's list is emptied.");
  }

  function markField(form, read, field) {
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (el) { el.removeAttribute("aria-invalid"); });
    var el = field && read.fields[field];
    if (el) {
      el.setAttribute("aria-invalid", "true");
      el.focus();
    }
  }

  // The box under a form; the latest one written is #command-answer.
  function answerBox(form) {
    var box = form.querySelector(".answer");
    var previous = document.getElementById("command-answer");
    if (previous && previous !== box) previous.removeAttribute("id");
    box.id = "command-answer";
    return box;
  }

  // -- SignedUpdateFirmware: a new file is uploaded (the API signs and hosts
  // it), a hosted one is sent again by its name.
  function sendSignedFirmware(form, read) {
    var file = form.elements.file && form.elements.file.files[0];
    var p = read.payload;
    if (file) {
      var data = new FormData();
      data.append("file", file);
      [["retrieveDateTime", "retrieve_date_time"], ["installDateTime", "install_date_time"], ["retries", "retries"], ["retryInterval", "retry_interval"]]
        .forEach(function (pair) { if (p[pair[0]] != null) data.append(pair[1], p[pair[0]]); });
      return post(form.dataset.uploadUrl, data);
    }
    if (!p.firmware) return Promise.resolve({ status: 400, body: { detail: "file: choose a firmware file to upload, or a hosted one" } });
    return command("signed_firmware", p);
  }

  function submit(form) {
    var action = form.dataset.action;
    var read = readForm(form);
    if (BUILD[action]) BUILD[action](form, read);
    var box = answerBox(form);
    var button = form.querySelector("button:not([type=button])");
    button.disabled = true;
    render(box, waiting(action));
    var sent = action === "SignedUpdateFirmware" ? sendSignedFirmware(form, read) : command(action, read.payload);
    return sent
      .then(function (result) {
        var request = result.body && result.body.request ? result.body.request : read.payload;
        var said = describe(action, result, request);
        if (result.status === 200 && NODES[action]) said.nodes = NODES[action](said.response || {});
        render(box, said);
        if (action === "GetConfiguration" && said.nodes.length) box.classList.add("config-answer");
        // A table of keys takes the card's whole width, not the form's column.
        if (action === "GetConfiguration") form.classList.toggle("wide", said.nodes.length > 0);
        markField(form, read, said.field);
        if (result.status !== 200) return;
        var ids = (form.dataset.refresh || "").split(/\s+/).filter(Boolean);
        return refreshFromPage(ids).then(function () {
          if (action === "ChangeConfiguration") {
            var row = document.querySelector('#configuration tr[data-key="' + CSS.escape(request.key || "") + '"]');
            if (row) row.classList.add("flash");
          }
        });
      })
      .catch(function (err) { render(box, { kind: "error", lines: [action + ": the request failed (" + err + ")"], nodes: [] }); })
      .finally(function () {
        button.disabled = false;
        settleButtons();
      });
  }

  // A form with a required choice that offers nothing (Cancel reservation
  // with no reservation held) cannot be sent: its button is disabled.
  function settleButtons() {
    Array.prototype.forEach.call(card.querySelectorAll("form.cmd"), function (form) {
      var button = form.querySelector("button:not([type=button])");
      var empty = Array.prototype.some.call(form.querySelectorAll("select[required]:not(:disabled)"), function (select) {
        return !Array.prototype.some.call(select.options, function (o) { return o.value !== ""; });
      });
      if (button && (empty || button.dataset.empty)) {
        button.disabled = empty;
        if (empty) button.dataset.empty = "1";
        else delete button.dataset.empty;
      }
    });
  }

  // A submit the browser's validation blocked: the answer of an earlier
  // submit no longer stands under the form; it says what was not sent and why.
  function blocked(form) {
    var action = form.dataset.action;
    var lines = [action + ": not sent"];
    Array.prototype.forEach.call(form.querySelectorAll(":invalid"), function (el) {
      if (!el.name || el.tagName === "FIELDSET") return;
      var name = el.getAttribute("aria-label") || el.name;
      lines.push(capital(name) + ": " + (el.validationMessage || "not valid").replace(/\.$/, "") + ".");
    });
    render(answerBox(form), { kind: "error", lines: lines, nodes: [] });
  }

  Array.prototype.forEach.call(card.querySelectorAll("form.cmd"), function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      submit(form);
    });
    // "invalid" does not bubble: listened for on the way down.
    form.addEventListener("invalid", function () { blocked(form); }, true);
    form.addEventListener("change", function (event) {
      if (event.target.classList.contains("remove-tag") && event.target.checked) {
        var send = event.target.closest("tr").querySelector(".send-tag");
        if (send) send.checked = false;
      } else if (event.target.classList.contains("send-tag") && event.target.checked) {
        var remove = event.target.closest("tr").querySelector(".remove-tag");
        if (remove) remove.checked = false;
      }
      applyConditions(form);
    });
    form.addEventListener("click", function (event) {
      var target = event.target;
      if (target.classList.contains("add-period")) {
        var rows = form.querySelectorAll("tr.period");
        var last = rows[rows.length - 1];
        var row = last.cloneNode(true);
        var start = row.querySelector('[data-period="startPeriod"]');
        start.value = String((parseInt(last.querySelector('[data-period="startPeriod"]').value, 10) || 0) + 3600);
        last.parentNode.appendChild(row);
        start.focus();
      } else if (target.classList.contains("remove-period")) {
        if (form.querySelectorAll("tr.period").length > 1) target.closest("tr").remove();
      } else if (target.dataset.tick) {
        Array.prototype.forEach.call(form.querySelectorAll("tr[data-id-tag]:not([hidden]) .send-tag:not(:disabled)"), function (box) {
          box.checked = target.dataset.tick === "all";
        });
        countList(form);
      }
    });
    applyConditions(form);
  });
  settleButtons();

  // Finding id tags in a long RFID table.
  Array.prototype.forEach.call(card.querySelectorAll(".list-filter"), function (input) {
    input.addEventListener("input", function () {
      var text = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(input.form.querySelectorAll("tr[data-id-tag]"), function (row) {
        row.hidden = text !== "" && row.textContent.toLowerCase().indexOf(text) === -1;
      });
    });
  });

  // ChangeConfiguration: a stored key picked or typed brings its value (as
  // the key changes, not when it loses focus), unless the operator typed a
  // value of their own; the value brought is selected when the Value field
  // is entered, so typing replaces it.
  var change = card.querySelector('form[data-action="ChangeConfiguration"]');
  if (change) {
    var key = change.querySelector("[name=key]");
    var value = change.querySelector("[name=value]");
    var selectOnMouseUp = false;
    function storedValue() {
      var option = Array.prototype.find.call(document.querySelectorAll("#cmd-writable-keys option"), function (o) {
        return o.value === key.value;
      });
      return option ? option.dataset.value || "" : null;
    }
    function bringStoredValue() {
      if (value.dataset.typed) return;
      var stored = storedValue();
      value.value = stored == null ? "" : stored;
      if (stored == null) delete value.dataset.filled;
      else value.dataset.filled = "1";
      if (document.activeElement === value) value.select();
    }
    key.addEventListener("input", bringStoredValue);
    key.addEventListener("change", bringStoredValue);
    value.addEventListener("focus", function () {
      if (!value.dataset.filled || value.dataset.typed) return;
      value.select();
      selectOnMouseUp = true;
    });
    // A click's mouseup would put the caret where it landed and undo the selection.
    value.addEventListener("mouseup", function (event) {
      if (!selectOnMouseUp) return;
      selectOnMouseUp = false;
      event.preventDefault();
      value.select();
    });
    value.addEventListener("blur", function () { selectOnMouseUp = false; });
    value.addEventListener("input", function () {
      delete value.dataset.filled;
      if (value.value === "") delete value.dataset.typed;
      else value.dataset.typed = "1";
    });
  }
})();
