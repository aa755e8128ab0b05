// The Zendesk sandbox's host page (host.go): the apps framework's side of the ZAF SDK's
// postMessage protocol, for one app iframe. Read from the SDK's lib/client.js: the
// iframe posts JSON strings {key, message, appGuid, instanceGuid} (iframe.handshake,
// iframe.on:<event>, …) and requests {id, request, params, appGuid, instanceGuid}; it
// accepts from its parent frame (event.source) at origin (event.origin) only,
// {key:"zaf.<event>", message} as an event and {id, result} or {id, error} as the
// answer to request id.
(function () {
  "use strict";

  var cfg = JSON.parse(document.body.dataset.host);
  var appOrigin = new URL(cfg.app).origin;
  var frame = document.getElementById("app");
  var data = cfg.data; // what get answers, by path

  function log(text) {
    var li = document.createElement("li");
    li.textContent = text;
    document.getElementById("log").appendChild(li);
  }

  function send(msg) {
    frame.contentWindow.postMessage(JSON.stringify(msg), appOrigin);
  }

  function get(paths) {
    var result = { errors: {} };
    (paths || []).forEach(function (p) {
      if (Object.prototype.hasOwnProperty.call(data, p)) {
        result[p] = data[p];
      } else {
        result.errors[p] = { name: "InvalidPath", message: "is not available in " + cfg.registered.context.location, path: p };
      }
    });
    return result;
  }

  window.addEventListener("message", function (ev) {
    // Only the app, from its own origin: another frame or origin is not ours to answer.
    if (ev.source !== frame.contentWindow || ev.origin !== appOrigin) { return; }
    var m;
    try { m = typeof ev.data === "string" ? JSON.parse(ev.data) : ev.data; } catch (e) { return; }
    if (!m || typeof m !== "object") { return; }
    if (m.request === "get") {
      log("get " + (m.params || []).join(", "));
      send({ id: m.id, result: get(m.params) });
      return;
    }
    if (m.request) {
      log(m.request + " (not supported here)");
      send({ id: m.id, error: { name: "NotSupported", message: "the sandbox host answers get only" } });
      return;
    }
    var key = typeof m.key === "string" ? m.key : "";
    if (key === "iframe.handshake") {
      log("handshake (SDK " + ((m.message && m.message.version) || "?") + ")");
      send({ key: "zaf.app.registered", message: cfg.registered });
      document.body.dataset.registered = "true";
    } else if (key.indexOf("iframe.on:") === 0) {
      log("on " + key.slice("iframe.on:".length));
    } else if (key && key !== "__track__") {
      log(key);
    }
  });

  // The agent edits the visitor in Chat: the host's data changes, then the events fire.
  var visitorForm = document.getElementById("visitor-form");
  if (visitorForm && data["ticket.requester"]) {
    // Support's ticket sidebar: the agent changes the ticket's requester.
    visitorForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var r = data["ticket.requester"];
      r.name = document.getElementById("visitor-name").value.trim();
      r.email = document.getElementById("visitor-email").value.trim();
      r.id = r.id + 1;
      send({ key: "zaf.ticket.requester.id.changed", message: r.id });
      log("fired ticket.requester.id.changed");
    });
  } else if (visitorForm) {
    visitorForm.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var v = data.visitor;
      [["display_name", "visitor-name"], ["email", "visitor-email"], ["phone", "visitor-phone"]].forEach(function (f) {
        var value = document.getElementById(f[1]).value.trim();
        if (value === v[f[0]]) { return; }
        v[f[0]] = value;
        send({ key: "zaf.visitor." + f[0] + ".changed", message: value });
        log("fired visitor." + f[0] + ".changed");
      });
    });
  }

  // Load the app as Zendesk does: the signed token, posted once into the frame.
  document.getElementById("launch").submit();
})();
