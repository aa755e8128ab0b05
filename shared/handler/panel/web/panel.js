// The Sell app in Chat: the panel beside a live chat. It looks the visitor up in Sell
// (GET /panel), shows the matching leads, people and companies with their deals, and
// creates a lead from the chat (POST /leads).
//
// Where things come from:
//   - the visitor: the apps framework (ZAFClient, which zaf.js loads when Zendesk
//     opened the page) or the query string ?email=&phone=&name=&chatId= (make run,
//     tests, a host that builds the iframe URL itself);
//   - the agent's JWT: the URL fragment #token=… (a fragment never reaches a server or
//     a log), then sessionStorage so a reload keeps it; on the local stack, when there
//     is none, POST /dev/token through the "Local sign-in" form.
//
// Everything the API returns is put on the page with textContent, never as HTML.
(function () {
  "use strict";

  var TOKEN_KEY = "sellchat.panel.token";

  var state = {
    token: "",
    visitor: { email: "", phone: "", name: "" },
    chatId: "",
    owners: null,
    // pending is the submission being tried: its Idempotency-Key is reused when the
    // same body is sent again after a failure that left its fate unknown.
    pending: null,
    lookupSeq: 0,
    signingIn: false, // a Sell sign-in window was opened
    awayForSignIn: false
  };

  function $(id) { return document.getElementById(id); }

  function show(el, on) { el.hidden = !on; }

  function text(tag, value, className) {
    var el = document.createElement(tag);
    if (className) { el.className = className; }
    el.textContent = value == null ? "" : String(value);
    return el;
  }

  // uuid returns a random v4 UUID; crypto.randomUUID needs a secure context, which
  // http://127.0.0.1 is but a plain-http LAN address is not.
  function uuid() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  // ---- token -------------------------------------------------------------------

  function storage() {
    // Third-party iframes may have storage blocked; the page then works per load.
    try { return window.sessionStorage; } catch (e) { return null; }
  }

  function readToken() {
    var m = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
    if (m) {
      state.token = decodeURIComponent(m[1]);
      var s = storage();
      if (s) { s.setItem(TOKEN_KEY, state.token); }
      // Keep the token out of the address bar, history and any copied link.
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
      return;
    }
    var st = storage();
    state.token = (st && st.getItem(TOKEN_KEY)) || "";
  }

  function setToken(tok) {
    state.token = tok;
    var s = storage();
    if (s) {
      if (tok) { s.setItem(TOKEN_KEY, tok); } else { s.removeItem(TOKEN_KEY); }
    }
  }

  // ---- API ---------------------------------------------------------------------

  // api calls a JSON route and resolves to {status, body}; a network failure
  // resolves to status 0 so callers handle every outcome in one place.
  function api(method, path, body, headers) {
    var h = { "Accept": "application/json" };
    if (state.token) { h["Authorization"] = "Bearer " + state.token; }
    if (body !== undefined) { h["Content-Type"] = "application/json"; }
    Object.keys(headers || {}).forEach(function (k) { h[k] = headers[k]; });
    return fetch(path, {
      method: method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "omit",
      cache: "no-store"
    }).then(function (res) {
      return res.text().then(function (t) {
        var parsed = null;
        try { parsed = t ? JSON.parse(t) : null; } catch (e) { parsed = null; }
        return { status: res.status, body: parsed };
      });
    }, function () {
      return { status: 0, body: null };
    });
  }

  function errorOf(res) {
    var e = res.body && res.body.error;
    if (e && typeof e === "object") { return e; }
    if (res.status === 0) {
      return { code: "network", message: "The Sell app could not reach its server. Check your connection and try again." };
    }
    return { code: "http_" + res.status, message: "Something went wrong (HTTP " + res.status + "). Try again in a moment." };
  }

  // ---- visitor -----------------------------------------------------------------

  function readQueryVisitor() {
    var q = new URLSearchParams(window.location.search);
    state.visitor = {
      email: (q.get("email") || "").trim(),
      phone: (q.get("phone") || "").trim(),
      name: (q.get("name") || "").trim()
    };
    state.chatId = (q.get("chatId") || "").trim();
    state.ticketId = (q.get("ticketId") || "").trim();
  }

  // useAppsFramework reads the visitor from the Zendesk apps framework (client is
  // ZAFClient's, see zaf.js) and follows the visitor as the agent edits their details
  // in Chat. The paths are Chat's chat_sidebar as far as Zendesk documents it
  // (shared/reference/zendesk-surface.md §2): the visitor.*.changed events are
  // documented; the "visitor" object (display_name, email, phone) is implied by them
  // and "chat.id" is seen in a public app, both unconfirmed. A bulk get answers what
  // it can and lists the rest under errors, so a missing chat.id costs nothing.
  // In Support's ticket_sidebar (a chat answered in Agent Workspace is a ticket) the
  // visitor is the ticket's requester: "ticket.requester" is a user (id, name, email),
  // as public apps read it; it changes with ticket.requester.id.changed. The page also
  // names the ticket (ticket.id), and the backend reads its requester from Zendesk
  // itself (GET /panel?ticketId=…; answered with visitorFrom "ticket"): what the
  // browser says of the requester is only shown until then. A messaging conversation
  // going on (ticket.conversation.changed) may bring the requester's details.
  function useAppsFramework(client) {
    function refresh() {
      setStatus("Reading the chat from Zendesk…");
      client.get(["visitor", "chat.id", "ticket.requester", "ticket.id"]).then(function (d) {
        var v = (d && (d.visitor || d["ticket.requester"])) || {};
        state.visitor = { email: v.email || "", phone: v.phone || "", name: v.name || v.display_name || "" };
        state.chatId = (d && d["chat.id"] != null) ? String(d["chat.id"]) : state.chatId;
        state.ticketId = (d && d["ticket.id"] != null) ? String(d["ticket.id"]) : state.ticketId;
        prefilled = false; // another visitor (or new details): fill the form again
        start();
      }, function () {
        // Zendesk did not answer (the SDK times out): go on with what the URL gave.
        start();
      });
    }
    ["visitor.email.changed", "visitor.phone.changed", "visitor.display_name.changed", "ticket.requester.id.changed", "ticket.conversation.changed"].forEach(function (ev) {
      client.on(ev, refresh);
    });
    refresh();
  }

  function showVisitor() {
    var v = state.visitor;
    var parts = [v.name, v.email, v.phone].filter(function (x) { return x; });
    $("visitor").textContent = parts.length ? parts.join(" · ") : "No visitor details yet";
  }

  // ---- states ------------------------------------------------------------------

  function setStatus(msg) {
    $("status").textContent = msg;
    show($("status"), !!msg);
  }

  function hideAll() {
    ["problem", "dev-signin", "results", "create", "created"].forEach(function (id) { show($(id), false); });
    show($("sell-signin"), false);
    show($("retry"), false);
  }

  var titles = {
    no_sell_access: "No access to Sell data",
    app_disabled: "The Sell app is switched off",
    sell_not_connected: "Sell is not connected",
    unauthenticated: "Your session has expired",
    visitor_unidentified: "Nothing to look up yet"
  };

  // Codes that describe the set-up rather than a failure: shown as a notice, not an
  // alarm, because nothing is broken and retrying will not change them.
  var notices = { no_sell_access: true, app_disabled: true, sell_not_connected: true, unauthenticated: true, visitor_unidentified: true };

  function problem(err, opts) {
    setStatus("");
    $("problem").dataset.code = err.code || "";
    $("problem").className = "card problem" + (notices[err.code] ? " notice" : "");
    $("problem-title").textContent = titles[err.code] || "Something went wrong";
    $("problem-message").textContent = err.message || "";
    show($("sell-signin"), !!(opts && opts.signIn));
    show($("retry"), !!(opts && opts.retry));
    show($("problem"), true);
  }

  // ---- lookup ------------------------------------------------------------------

  function lookup() {
    var seq = ++state.lookupSeq;
    var v = state.visitor;
    var q = new URLSearchParams();
    if (v.email) { q.set("email", v.email); }
    if (v.phone) { q.set("phone", v.phone); }
    if (v.name) { q.set("name", v.name); }
    if (state.ticketId) { q.set("ticketId", state.ticketId); }
    setStatus("Looking up the visitor in Sell…");
    document.body.setAttribute("aria-busy", "true");
    return api("GET", "/panel?" + q.toString()).then(function (res) {
      if (seq !== state.lookupSeq) { return; } // a newer lookup has started
      document.body.removeAttribute("aria-busy");
      show($("problem"), false);
      var err = res.status === 200 ? null : errorOf(res);
      if (res.status === 200 && res.body) {
        setStatus("");
        if (res.body.visitorFrom === "ticket" && res.body.visitor) {
          // The requester as Zendesk has them: shown, and what a new lead starts from.
          var rv = res.body.visitor;
          state.visitor = { email: rv.email || "", phone: rv.phone || "", name: rv.name || "" };
          prefilled = false;
          showVisitor();
        }
        renderMatches(res.body);
        offerCreate(res.body.matches.length === 0);
        return;
      }
      show($("results"), false);
      switch (err.code) {
        case "no_sell_access":
          problem(err, { signIn: true, retry: true });
          return;
        case "app_disabled":
        case "sell_not_connected":
          show($("create"), false);
          problem(err, { retry: true });
          return;
        case "unauthenticated":
          setToken("");
          show($("create"), false);
          problem(err, {});
          offerDevSignIn();
          return;
        case "visitor_unidentified":
          // Nothing to search for, but a lead can still be written down by hand.
          problem(err, {});
          offerCreate(true);
          return;
        default:
          problem(err, { retry: true });
      }
    });
  }

  var typeLabels = { lead: ["Lead", "Leads"], person: ["Person", "People"], company: ["Company", "Companies"] };

  function renderMatches(data) {
    var groups = $("groups");
    groups.textContent = "";
    var matches = data.matches || [];
    show($("no-match"), matches.length === 0);
    $("no-match").textContent = data.noMatch || "";
    ["lead", "person", "company"].forEach(function (type) {
      var of = matches.filter(function (m) { return m.type === type; });
      if (!of.length) { return; }
      var group = document.createElement("section");
      group.className = "group group-" + type;
      group.dataset.type = type;
      group.appendChild(text("h3", typeLabels[type][1] + " (" + of.length + ")", "group-title"));
      var list = document.createElement("ul");
      list.className = "matches";
      of.forEach(function (m) { list.appendChild(renderMatch(m)); });
      group.appendChild(list);
      groups.appendChild(group);
    });
    // The answer is bounded in size; the backend counts the matches it left out.
    if (data.omitted > 0) {
      groups.appendChild(text("p", data.omitted + (data.omitted === 1 ? " more match is" : " more matches are") +
        " not shown here. Search Sell for the rest.", "omitted"));
    }
    show($("results"), true);
  }

  function renderMatch(m) {
    var li = document.createElement("li");
    li.className = "card match match-" + m.type;
    li.dataset.type = m.type;
    li.dataset.id = String(m.id);
    var head = document.createElement("div");
    head.className = "match-head";
    head.appendChild(text("span", typeLabels[m.type] ? typeLabels[m.type][0] : m.type, "badge badge-" + m.type));
    head.appendChild(text("h4", m.name, "match-name"));
    li.appendChild(head);
    if (m.fields && m.fields.length) {
      var dl = document.createElement("dl");
      dl.className = "fields";
      m.fields.forEach(function (f) {
        var row = document.createElement("div");
        row.className = "field-row";
        row.dataset.key = f.key;
        row.appendChild(text("dt", f.label));
        row.appendChild(text("dd", f.value === "" || f.value == null ? "—" : f.value, f.value ? "" : "empty-value"));
        dl.appendChild(row);
      });
      li.appendChild(dl);
    }
    if (m.deals && m.deals.length) {
      li.appendChild(text("h5", "Deals", "deals-title"));
      var ul = document.createElement("ul");
      ul.className = "deals";
      m.deals.forEach(function (d) {
        var di = document.createElement("li");
        di.className = "deal";
        di.dataset.id = String(d.id);
        var top = document.createElement("div");
        top.className = "deal-top";
        top.appendChild(text("span", d.name, "deal-name"));
        if (d.value) { top.appendChild(text("span", d.value, "deal-value")); }
        di.appendChild(top);
        var meta = [];
        if (d.estimatedCloseDate) { meta.push("Closes " + d.estimatedCloseDate); }
        if (meta.length || d.hot) {
          var line = document.createElement("div");
          line.className = "deal-meta";
          if (d.hot) { line.appendChild(text("span", "Hot", "badge badge-hot")); }
          if (meta.length) { line.appendChild(text("span", meta.join(" · "))); }
          di.appendChild(line);
        }
        ul.appendChild(di);
      });
      li.appendChild(ul);
    }
    return li;
  }

  // ---- create lead ---------------------------------------------------------------

  var leadFields = ["firstName", "lastName", "email", "phone", "organizationName", "description"];

  // splitName turns "Vera van Visitor" into ["Vera", "van Visitor"]: Sell needs a last
  // name (or an organization), so a single word becomes the last name.
  function splitName(name) {
    var parts = name.trim().split(/\s+/).filter(function (x) { return x; });
    if (parts.length === 0) { return ["", ""]; }
    if (parts.length === 1) { return ["", parts[0]]; }
    return [parts[0], parts.slice(1).join(" ")];
  }

  var prefilled = false;

  function prefill() {
    // Only once per visitor: the agent's own edits must survive a lookup refresh.
    if (prefilled) { return; }
    prefilled = true;
    var n = splitName(state.visitor.name);
    $("lead-firstName").value = n[0];
    $("lead-lastName").value = n[1];
    $("lead-email").value = state.visitor.email;
    $("lead-phone").value = state.visitor.phone;
  }

  function offerCreate(open) {
    prefill();
    show($("create"), true);
    if (open) { $("create").open = true; }
    loadOwners();
  }

  function loadOwners() {
    if (state.owners) { return; }
    var sel = $("lead-owner");
    $("lead-owner-note").textContent = "Loading owners…";
    api("GET", "/panel/owners").then(function (res) {
      if (res.status !== 200 || !res.body) {
        // The lead can still be sent: the server applies the owner rule itself.
        $("lead-owner-note").textContent = errorOf(res).message;
        show(sel, false);
        return;
      }
      state.owners = res.body;
      var o = res.body;
      sel.textContent = "";
      var choices = o.choices || [];
      if (choices.length) {
        var first = document.createElement("option");
        first.value = "";
        first.textContent = o.mustChoose ? "Choose an owner…" : "Default owner";
        sel.appendChild(first);
        choices.forEach(function (c) {
          var opt = document.createElement("option");
          opt.value = c.type + ":" + c.id;
          opt.textContent = c.type === "pool" ? c.name + " (pool)" : c.name;
          sel.appendChild(opt);
        });
      }
      sel.required = !!o.mustChoose;
      show(sel, choices.length > 0);
      $("lead-owner-note").textContent = o.explanation || "";
    });
  }

  function selectedOwner() {
    var v = $("lead-owner").value;
    if (!v || $("lead-owner").hidden) { return null; }
    var i = v.indexOf(":");
    return { type: v.slice(0, i), id: Number(v.slice(i + 1)) };
  }

  function clearFieldErrors() {
    leadFields.concat(["owner"]).forEach(function (f) {
      var e = $("lead-" + f + "-error");
      e.textContent = "";
      show(e, false);
      var input = $("lead-" + f);
      input.removeAttribute("aria-invalid");
    });
    $("lead-message").textContent = "";
    show($("lead-message"), false);
    $("lead-message").className = "form-message";
  }

  function fieldError(field, msg) {
    var e = $("lead-" + field + "-error");
    if (!e) { return false; }
    e.textContent = msg;
    show(e, true);
    $("lead-" + field).setAttribute("aria-invalid", "true");
    $("lead-" + field).focus();
    return true;
  }

  function formMessage(msg, kind) {
    var m = $("lead-message");
    m.textContent = "";
    if (typeof msg === "string") { m.textContent = msg; } else { m.appendChild(msg); }
    m.className = "form-message" + (kind ? " " + kind : "");
    show(m, true);
  }

  function leadBody(createAnyway) {
    var b = {};
    leadFields.forEach(function (f) { b[f] = $("lead-" + f).value.trim(); });
    b.owner = selectedOwner();
    b.chatId = state.chatId;
    b.createAnyway = !!createAnyway;
    return b;
  }

  function submitLead(createAnyway) {
    clearFieldErrors();
    show($("created"), false); // a new submission: the last success is old news
    show($("lead-anyway"), false);
    var owners = state.owners;
    var body = leadBody(createAnyway);
    if (owners && owners.mustChoose && !body.owner) {
      fieldError("owner", "Choose an owner for the lead.");
      return;
    }
    if (!body.lastName && !body.organizationName) {
      fieldError("lastName", "Give a last name or an organization: Sell needs one of them.");
      return;
    }
    var raw = JSON.stringify(body);
    // A retry of the very same submission reuses its key, so a request that did
    // reach the server the first time returns that lead instead of a second one.
    if (!state.pending || state.pending.raw !== raw) {
      state.pending = { raw: raw, key: uuid() };
    }
    var key = state.pending.key;
    var button = $("lead-submit");
    button.disabled = true;
    $("lead-anyway").disabled = true;
    button.textContent = "Creating…";
    api("POST", "/leads", body, { "Idempotency-Key": key }).then(function (res) {
      button.disabled = false;
      $("lead-anyway").disabled = false;
      button.textContent = "Create lead";
      if (res.status === 0 || res.status === 429 || res.status >= 500) {
        // The outcome is unknown or temporary: keep the key for the retry, which
        // must send the same body (createAnyway included) to reuse it.
        formMessage(errorOf(res).message + (createAnyway ? " Press Create anyway to retry." : " Press Create lead to retry."), "error");
        show($("lead-anyway"), !!createAnyway);
        return;
      }
      state.pending = null;
      if (res.status === 201 || res.status === 200) {
        leadCreated((res.body && res.body.lead) || {});
        return;
      }
      var err = errorOf(res);
      if (res.status === 409 && err.code === "already_exists") {
        formMessage(existing(err), "warning");
        show($("lead-anyway"), true);
        return;
      }
      if (res.status === 422 && err.field && fieldError(err.field, err.message)) {
        return;
      }
      if (err.code === "unauthenticated") { setToken(""); }
      formMessage(err.message, "error");
    });
  }

  function existing(err) {
    var wrap = document.createElement("div");
    wrap.appendChild(text("p", err.message || "This visitor is already in Sell."));
    var matches = (err.details && err.details.matches) || [];
    if (matches.length) {
      var ul = document.createElement("ul");
      ul.className = "existing";
      matches.forEach(function (m) {
        var label = typeLabels[m.type] ? typeLabels[m.type][0] : (m.type || "Record");
        ul.appendChild(text("li", label + ": " + (m.name || ("#" + m.id))));
      });
      wrap.appendChild(ul);
    }
    wrap.appendChild(text("p", "Create a new lead anyway?"));
    return wrap;
  }

  function leadCreated(lead) {
    var msg = (lead.name || "The lead") + " is in Sell";
    if (lead.ownerName) { msg += ", owned by " + lead.ownerName; }
    if (lead.status) { msg += " (status " + lead.status + ")"; }
    $("created-message").textContent = msg + ".";
    $("created").dataset.id = lead.id == null ? "" : String(lead.id);
    show($("created"), true);
    $("create").open = false;
    ["description"].forEach(function (f) { $("lead-" + f).value = ""; });
    // Look again so the new lead shows among the matches.
    lookup();
  }

  // ---- local sign-in (make run only) -------------------------------------------

  function offerDevSignIn() {
    // POST /dev/token exists only on the local stack; an empty body tells us without
    // minting anything (422 there, 404 or 403 behind API Gateway).
    api("POST", "/dev/token", {}).then(function (res) {
      if (res.status === 422 || res.status === 400) {
        show($("dev-signin"), true);
        $("dev-userId").focus();
      }
    });
  }

  function devSignIn(ev) {
    ev.preventDefault();
    var body = {
      account: $("dev-account").value.trim(),
      userId: $("dev-userId").value.trim(),
      email: $("dev-email").value.trim(),
      name: $("dev-name").value.trim(),
      role: "agent"
    };
    api("POST", "/dev/token", body).then(function (res) {
      if (res.status === 200 && res.body && res.body.token) {
        setToken(res.body.token);
        show($("dev-signin"), false);
        start();
        return;
      }
      $("dev-message").textContent = errorOf(res).message;
      show($("dev-message"), true);
    });
  }

  // ---- Sell sign-in for the agent ------------------------------------------------

  function sellSignIn() {
    // Open the window now, inside the click, so popup blockers let it through; it is
    // pointed at Sell once the API has answered.
    var win = window.open("", "_blank");
    state.signingIn = true;
    api("GET", "/oauth/start?purpose=agent").then(function (res) {
      var url = res.status === 200 && res.body && res.body.authorizeUrl;
      if (!url || !/^https?:\/\//.test(url)) {
        if (win) { win.close(); }
        problem(errorOf(res), { retry: true });
        return;
      }
      if (win) {
        // The new window must not be able to reach back into the panel.
        win.opener = null;
        win.location.href = url;
      } else {
        window.open(url, "_blank", "noopener");
      }
      $("problem-message").textContent = "Finish signing in with Sell in the new window, then come back here.";
    });
  }

  // ---- start ---------------------------------------------------------------------

  function start() {
    hideAll();
    showVisitor();
    if (!state.token) {
      setStatus("");
      problem({ code: "unauthenticated", message: "Open this panel from Zendesk Chat: it needs the apps framework's sign-in token." }, {});
      $("problem-title").textContent = "Not signed in";
      offerDevSignIn();
      return;
    }
    lookup();
  }

  function init() {
    readToken();
    readQueryVisitor();
    $("retry").addEventListener("click", lookup);
    $("sell-signin").addEventListener("click", sellSignIn);
    $("dev-signin").addEventListener("submit", devSignIn);
    $("lead-form").addEventListener("submit", function (ev) { ev.preventDefault(); submitLead(false); });
    // "Create anyway" is a new decision, not a retry of the refused one: its body
    // differs (createAnyway), so submitLead gives it a key of its own.
    $("lead-anyway").addEventListener("click", function () { submitLead(true); });
    // Coming back from the Sell sign-in window: look again without a click. Only
    // after a blur, so the click that opened the window does not count as a return.
    window.addEventListener("blur", function () { state.awayForSignIn = state.signingIn; });
    window.addEventListener("focus", function () {
      if (state.awayForSignIn && $("problem").dataset.code === "no_sell_access" && !$("problem").hidden) {
        state.awayForSignIn = false;
        lookup();
      }
    });
    // Opened by Zendesk, the visitor comes from the apps framework; otherwise at once
    // from the URL. zaf.js always settles its promise (null without the SDK).
    (window.sellchatZAF || Promise.resolve(null)).then(function (client) {
      if (client) { useAppsFramework(client); } else { start(); }
    });
  }

  init();
})();
