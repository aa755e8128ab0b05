// The settings page. It talks to the settings function's JSON routes with the admin's
// token and saves every change at once. Data from the API is only ever inserted with
// textContent, never as HTML.
"use strict";

(function () {
  const TOKEN_KEY = "sellchat.token";
  const $ = (id) => document.getElementById(id);

  // ---- the token -------------------------------------------------------------

  // The apps framework hands the token over in the fragment (#token=…), which never
  // reaches a server or a Referer; keep it for the tab only and drop it from the URL.
  function takeToken() {
    const m = /(?:^|[#&])token=([^&]+)/.exec(location.hash);
    if (m) {
      sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
      history.replaceState(null, "", location.pathname + location.search);
    }
    return sessionStorage.getItem(TOKEN_KEY);
  }

  function claims(token) {
    try {
      const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(atob(part));
    } catch (e) {
      return {};
    }
  }

  // The account is the issuer's Zendesk subdomain, as the backend reads it.
  function accountOf(c) {
    const iss = String(c.iss || "");
    const host = iss.replace(/^https?:\/\//, "").split("/")[0];
    return host.split(".")[0];
  }

  let token = null;

  // ---- calling the API -------------------------------------------------------

  class APIError extends Error {
    constructor(status, body) {
      const e = (body && body.error) || {};
      super(e.message || "The request failed (" + status + ").");
      this.status = status;
      this.code = e.code || "";
      this.field = e.field || "";
      this.details = e.details;
    }
  }

  async function api(method, path, body, headers) {
    const h = Object.assign({ Accept: "application/json" }, headers || {});
    if (token) h.Authorization = "Bearer " + token;
    const opts = { method: method, headers: h };
    if (body !== undefined) {
      h["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(path, opts);
    } catch (e) {
      throw new APIError(0, { error: { message: "The network is unreachable. Check the connection and try again." } });
    }
    let data = null;
    const text = await res.text();
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = null; }
    }
    if (!res.ok) {
      if (res.status === 401) showSignIn("Your sign-in has expired or is not valid. Sign in again.");
      throw new APIError(res.status, data);
    }
    return data;
  }

  // ---- small view helpers ----------------------------------------------------

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) {
      if (k === "class") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  // status shows what happened to a change near its control.
  function status(id, state, message) {
    const s = $(id);
    if (!s) return;
    s.className = "status " + state;
    s.textContent = message || { saving: "Saving…", saved: "Saved", failed: "Not saved" }[state] || "";
  }

  function failed(id, err) {
    status(id, "failed", "Not saved: " + err.message);
  }

  function banner(message, kind) {
    const b = $("banner");
    b.className = "banner" + (kind === "info" ? " info" : "");
    b.textContent = message;
    b.hidden = !message;
  }

  function when(iso) {
    if (!iso) return "never";
    const d = new Date(iso);
    return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  // ---- state -----------------------------------------------------------------

  const state = {
    integration: null,
    settings: null,
    users: [],
    statuses: [],
    sources: [],
    pools: [],
    widgets: {},
    widget: "lead",
  };

  function connected() {
    return !!(state.integration && state.integration.sellConnected);
  }

  // installed is true once POST /integration/install passed; until then the backend
  // refuses to switch any element on.
  function installed() {
    return !!(state.integration && state.integration.installed);
  }

  // ---- sign-in ---------------------------------------------------------------

  function showSignIn(message) {
    sessionStorage.removeItem(TOKEN_KEY);
    token = null;
    $("app").hidden = true;
    $("signin").hidden = false;
    if (message) banner(message);
  }

  async function localSignIn(ev) {
    ev.preventDefault();
    status("signin-status", "saving", "Signing in…");
    const body = {
      account: $("si-account").value.trim(),
      userId: $("si-user").value.trim(),
      name: $("si-name").value.trim(),
      email: $("si-email").value.trim(),
      role: $("si-role").value,
    };
    try {
      const res = await fetch("/dev/token", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
      const data = await res.json().catch(() => null);
      if (res.status === 404 || res.status === 405) {
        status("signin-status", "failed", "Local sign-in exists only on a local stack. Open this page from Zendesk.");
        return;
      }
      if (!res.ok || !data || !data.token) {
        status("signin-status", "failed", (data && data.error && data.error.message) || "Sign-in failed.");
        return;
      }
      sessionStorage.setItem(TOKEN_KEY, data.token);
      token = data.token;
      status("signin-status", "saved", "Signed in");
      banner("");
      await start();
    } catch (e) {
      status("signin-status", "failed", "The server could not be reached.");
    }
  }

  // ---- loading ---------------------------------------------------------------

  async function loadAll() {
    const [integration, settings, pools] = await Promise.all([
      api("GET", "/integration"),
      api("GET", "/settings"),
      api("GET", "/pools"),
    ]);
    state.integration = integration;
    state.settings = settings;
    state.pools = pools.pools;
    if (connected()) {
      try {
        const [users, statuses, sources] = await Promise.all([
          api("GET", "/sell/users"),
          api("GET", "/sell/lead-statuses"),
          api("GET", "/sell/lead-sources"),
        ]);
        state.users = users.users;
        state.statuses = statuses.leadStatuses;
        state.sources = sources.leadSources;
      } catch (e) {
        banner("Sell data could not be loaded: " + e.message);
      }
    }
    await loadWidget(state.widget);
    renderAll();
  }

  async function start() {
    const c = claims(token);
    $("whoami").textContent = "Signed in as " + (c.name || c.email || c.sub || "unknown") + " · account " + accountOf(c);
    $("signin").hidden = true;
    try {
      await loadAll();
      $("app").hidden = false;
      const q = new URLSearchParams(location.search);
      if (q.get("zendesk") === "connected") {
        banner("Zendesk is connected.", "info");
        history.replaceState(null, "", location.pathname);
      }
      if (q.get("chat") === "connected") {
        banner("Chat is connected.", "info");
        history.replaceState(null, "", location.pathname);
      }
      if (q.get("connected") === "1") {
        banner("Sell is connected.", "info");
        history.replaceState(null, "", location.pathname);
        // Back from Sell's sign-in: the install checks are the next step, so run them
        // once now (the query is gone, so a reload does not run them again).
        if (connected() && !installed()) await runInstall();
      }
    } catch (e) {
      if (e.status === 403) {
        showSignIn("Only Zendesk admins and owners can change the integration's settings.");
      } else if (e.status !== 401) {
        banner("The settings could not be loaded: " + e.message);
      }
    }
  }

  function renderAll() {
    // Sell-backed controls first follow the connection; the renders below then set
    // their own limits (the Unmark button of a pool that is one of the owners, say),
    // which a re-enable after them would undo. Controls they create while Sell is
    // not connected are switched off at the end.
    const sellCards = document.querySelectorAll(".needs-sell");
    for (const s of sellCards) {
      s.classList.toggle("disabled", !connected());
      for (const c of s.querySelectorAll("input, select, button")) c.disabled = !connected();
    }
    renderConnection();
    renderElements();
    renderAccess();
    renderStatuses();
    renderSource();
    renderOwners();
    renderPools();
    renderWidget();
    if (!connected()) {
      for (const s of sellCards) {
        for (const c of s.querySelectorAll("input, select, button")) c.disabled = true;
      }
    }
  }

  // ---- connection ------------------------------------------------------------

  function renderConnection() {
    const on = connected();
    $("conn-dot").className = "dot" + (on ? " on" : "");
    $("conn-text").textContent = on ? "Sell is connected." : "Sell is not connected. Connect it to choose statuses, sources, owners and custom fields.";
    const sm = state.integration.superiorManager;
    $("conn-manager").textContent = sm ? "Connected by " + sm.name + ", the superior manager." : "";
    $("connect-sell").textContent = on ? "Connect Sell again" : "Connect Sell";
    const zd = state.integration.zendesk || { connected: false, apps: [] };
    $("zd-dot").className = "dot" + (zd.connected ? " on" : "");
    $("zd-text").textContent = !zd.connected
      ? "Zendesk is not connected: agents cannot open the apps from Zendesk until an admin signs in with Zendesk."
      : zd.apps.length === 0
        ? "Zendesk is connected, but no installed sellchat app points at this backend yet. Install the app packages with backend_url set to this site, then connect again."
        : "Zendesk is connected; " + zd.apps.length + " installed sellchat app" + (zd.apps.length === 1 ? "" : "s") + " found.";
    $("zd-reconnect").textContent = zd.connected ? "Connect Zendesk again" : "Sign in with Zendesk";
    renderAgentWorkspace();
    const chat = state.integration.chat || { connected: false };
    $("chat-dot").className = "dot" + (chat.connected ? " on" : "");
    $("chat-text").textContent = chat.connected
      ? "Chat is connected: finished chats are read from the Chat API every minute while chat history is on."
      : "Chat is not connected: finished chats cannot be read from Zendesk Chat until a Chat admin connects it.";
    if (chat.connected && chat.poll) {
      const p = chat.poll;
      let line = " Chats read up to " + (p.readUpTo ? new Date(p.readUpTo).toLocaleString() : "the start") + "; " + p.stored + " stored.";
      if (p.lastError) line += " The last read stopped: " + p.lastError;
      $("chat-text").textContent += line;
    }
    $("connect-chat").textContent = chat.connected ? "Connect Chat again" : "Connect Chat";
    renderPastChats();
    renderInstall();
  }

  // day shows a date as people write it (2 Nov 2026 or Nov 2, 2026, by locale).
  // The start of past chats is shown in UTC: it is the day the admin picked, which
  // the backend reads as 00:00 UTC.
  function day(iso, utc) {
    const opts = { day: "numeric", month: "short", year: "numeric" };
    if (utc) opts.timeZone = "UTC";
    return new Date(iso).toLocaleDateString(undefined, opts);
  }

  // renderPastChats shows, while chat history is on, where past chats start and how
  // far the poll has read them.
  function renderPastChats() {
    const p = (state.integration.chat || {}).poll;
    const history = (state.integration.elements || {}).chat_history_in_sell || {};
    const box = $("chat-progress");
    box.hidden = !(p && p.from && history.enabled);
    if (box.hidden) return;
    const progress = p.caughtUp ? 1 : Number(p.progress) || 0;
    // Floored: 100% only once the poll says it caught up.
    const read = p.caughtUp ? "caught up" : Math.min(99, Math.floor(progress * 100)) + "% read, up to " + day(p.readUpTo || p.from);
    $("chat-progress-text").textContent = "Past chats from " + day(p.from, true) + ": " + read + ".";
    $("chat-progress-bar").value = progress;
  }

  // ---- Agent Workspace notifications -----------------------------------------

  // renderAgentWorkspace shows the Support webhook and trigger that announce solved
  // chat tickets. They are made through the Zendesk connection, so without one the
  // page only says to sign in with Zendesk.
  function renderAgentWorkspace() {
    const zd = state.integration.zendesk || {};
    const n = zd.notifications || { enabled: false };
    $("aw").hidden = !zd.connected;
    $("aw-hint").hidden = !!zd.connected;
    $("aw-dot").className = "dot" + (n.enabled ? " on" : "");
    $("aw-text").textContent = n.enabled
      ? "is on" + (n.setUpAt ? " (set up " + when(n.setUpAt) + ")" : "") + ": Zendesk tells sellchat when a chat ticket is solved."
      : "is off: chats reach Sell through the chat poll, within minutes.";
    // Running the set-up again remakes whatever was deleted in Zendesk.
    $("aw-setup").textContent = n.enabled ? "Repair" : "Set up";
    $("aw-remove").hidden = !n.enabled;
  }

  let notifying = false;

  // notifications sets the notifications up (POST) or removes them (DELETE) and
  // shows the answer, or the backend's reason when it refused.
  async function notifications(method) {
    if (notifying) return;
    notifying = true;
    const buttons = [$("aw-setup"), $("aw-remove")];
    const hadFocus = buttons.includes(document.activeElement);
    // aria-disabled, not disabled: a disabled button would drop the keyboard focus.
    for (const b of buttons) b.setAttribute("aria-disabled", "true");
    status("aw-status", "saving", method === "POST" ? "Setting up in Zendesk…" : "Removing from Zendesk…");
    try {
      const n = await api(method, "/integration/zendesk/notifications");
      const zd = Object.assign({}, state.integration.zendesk, { notifications: n || { enabled: false } });
      state.integration = Object.assign({}, state.integration, { zendesk: zd });
      renderAgentWorkspace();
      status("aw-status", "saved", method === "POST" ? "Set up: solved chat tickets now reach Sell within seconds." : "Removed.");
      // The answer has the ids; GET /integration also says when it was set up.
      await refreshIntegration();
    } catch (e) {
      status("aw-status", "failed", e.message);
      if (e.status === 409 && (e.code === "zendesk_not_connected" || e.code === "zendesk_reconnect")) await refreshIntegration();
    } finally {
      notifying = false;
      for (const b of buttons) b.removeAttribute("aria-disabled");
      // Remove hides itself once done; keep a keyboard user on the button left.
      if (hadFocus && !buttons.includes(document.activeElement)) $("aw-setup").focus();
    }
  }

  // ---- install ---------------------------------------------------------------

  function renderInstall() {
    const done = installed();
    const canRun = connected() && !done;
    $("install-dot").className = "dot" + (done ? " on" : "");
    $("install-text").textContent = done ? "Installed." : connected()
      ? "Not installed yet. Run the install checks: once every check passes, the integration is installed and the Chat app in Sell and the Sell app in Chat switch on."
      : "Not installed. Connect Sell first, then run the install checks.";
    $("run-install").hidden = !canRun;
    $("phase-row").hidden = !canRun;
    // The next step is the primary action: connecting, then installing.
    $("connect-sell").classList.toggle("primary", !connected());
    $("run-install").classList.toggle("primary", canRun);
    if (!canRun) showFailures([]);
  }

  // showFailures lists the failed install checks, each with what to do, and ties
  // them to the button as its description so a screen reader hears why to retry.
  function showFailures(checks) {
    const list = $("install-checks");
    clear(list);
    for (const c of checks) {
      const code = String((c && c.code) || "");
      const message = String((c && c.message) || code || "A check failed.");
      const li = el("li", { "data-code": code }, message);
      const from = c && Object.hasOwn(SOURCES, c.source) ? SOURCES[c.source] : "";
      if (from) {
        li.setAttribute("data-source", c.source);
        li.appendChild(el("span", { class: "source" }, " (" + from + ")"));
      }
      list.appendChild(li);
    }
    $("install-failures-h").textContent = checks.length === 1
      ? "One install check failed. Fix it, then run the checks again:"
      : checks.length + " install checks failed. Fix them, then run the checks again:";
    $("install-failures").hidden = checks.length === 0;
    if (checks.length) $("run-install").setAttribute("aria-describedby", "install-failures");
    else $("run-install").removeAttribute("aria-describedby");
  }

  // SOURCES word where a failed check's fact came from (the install answer's source).
  const SOURCES = {
    stated: "this rests on the Chat phase you stated",
    zendesk_api: "read from Zendesk",
  };

  // showStated says which facts the last install checks took on the admin's word,
  // because Zendesk's API does not expose them: stated is the install answer's (or a
  // failed check's) "stated", null when nothing was stated.
  function showStated(stated, failedChecks) {
    const phase = stated && Number(stated.chatPhase);
    const p = $("install-stated");
    p.hidden = !phase;
    if (!phase) return;
    p.textContent = "Chat phase " + phase + " \u2014 stated by you, Zendesk's API does not expose it." +
      (failedChecks ? " If it is wrong, choose the right phase below and run the checks again." : "");
  }

  // statedOfChecks is the stated facts a failed check rests on, if any does.
  function statedOfChecks(checks) {
    for (const c of checks) if (c && c.stated) return c.stated;
    return null;
  }

  // refreshIntegration reloads GET /integration after something changed it behind
  // the page's back (an install, an uninstall elsewhere).
  async function refreshIntegration() {
    const wasConnected = connected();
    try {
      state.integration = await api("GET", "/integration");
    } catch (e) {
      // Keep what the page knows; the caller has already said what happened.
    }
    if (connected() !== wasConnected) {
      renderAll();
    } else {
      renderConnection();
      renderElements();
      renderOwners();
    }
  }

  let installing = false;

  async function runInstall() {
    if (installing) return;
    installing = true;
    const button = $("run-install");
    const hadFocus = document.activeElement === button;
    // Not disabled: a disabled button loses the focus, and a keyboard user retrying
    // after a failure would be thrown back to the top of the page.
    button.setAttribute("aria-disabled", "true");
    status("install-status", "saving", "Running the install checks…");
    try {
      const phase = $("chat-phase").value;
      const res = (await api("POST", "/integration/install", phase ? { chatPhase: Number(phase) } : undefined)) || {};
      // Show the install from its own answer at once, then reload the rest (the
      // elements it switched on, the superior manager).
      state.integration = Object.assign({}, state.integration, {
        installed: true,
        sellConnected: true,
        elements: res.elements || state.integration.elements,
        superiorManager: res.superiorManager || state.integration.superiorManager,
      });
      showFailures([]);
      showStated(res.stated, false);
      await refreshIntegration();
      status("install-status", "saved", "Installed: every check passed.");
      // The button is gone now; keep keyboard users where the outcome is.
      if (hadFocus) $("install-state").focus();
    } catch (e) {
      if (e.status === 422 && e.code === "prerequisites_failed" && Array.isArray(e.details)) {
        showFailures(e.details);
        showStated(statedOfChecks(e.details), true);
        status("install-status", "failed", "Not installed: " + e.message);
      } else {
        showFailures([]);
        showStated(null);
        status("install-status", "failed", "Not installed: " + e.message);
        if (e.status === 409) await refreshIntegration(); // e.g. Sell no longer connected
      }
    } finally {
      installing = false;
      button.removeAttribute("aria-disabled");
    }
  }

  // Sign in with Zendesk: the authorize URL comes as JSON and is followed by script,
  // since the page's CSP (form-action 'self') would stop a form's redirect to Zendesk.
  async function zendeskSignIn(account, statusId) {
    status(statusId, "saving", "Opening Zendesk…");
    try {
      const res = await fetch("/oauth/start?purpose=zendesk&account=" + encodeURIComponent(account), { headers: { Accept: "application/json" } });
      const data = await res.json().catch(() => null);
      if (!res.ok || !data || !data.authorizeUrl) {
        status(statusId, "failed", (data && data.error && data.error.message) || "Zendesk sign-in could not start.");
        return;
      }
      location.assign(data.authorizeUrl);
    } catch (e) {
      status(statusId, "failed", "The server could not be reached.");
    }
  }

  // connect starts an OAuth round trip of the signed-in admin (purpose install for
  // Sell, chat for Chat): the authorize URL comes as JSON and the page goes there.
  async function connect(purpose, opening) {
    status("connect-status", "saving", opening);
    try {
      const acct = accountOf(claims(token));
      const res = await api("GET", "/oauth/start?account=" + encodeURIComponent(acct) + "&purpose=" + purpose);
      if (!res || !res.authorizeUrl) throw new APIError(502, null);
      location.assign(res.authorizeUrl);
    } catch (e) {
      failed("connect-status", e);
    }
  }

  // ---- elements --------------------------------------------------------------

  const ELEMENTS = ["chat_app_in_sell", "sell_app_in_chat", "chat_history_in_sell"];

  function renderElements() {
    const els = state.integration.elements || {};
    const ready = installed();
    $("elements-note").hidden = ready;
    for (const name of ELEMENTS) {
      const st = els[name] || { enabled: false };
      const input = $("el-" + name);
      input.checked = !!st.enabled;
      // Before the install only switching off is possible (should one be on).
      input.disabled = !ready && !st.enabled;
      if (ready) input.removeAttribute("aria-describedby");
      else input.setAttribute("aria-describedby", "elements-note");
      input.closest("li").classList.toggle("disabled", input.disabled);
      $("dot-" + name).className = "dot" + (st.enabled ? " on" : "");
    }
    const chatApp = els.chat_app_in_sell || {};
    $("el-signInOnLoad").checked = !!chatApp.signInOnLoad;
    // Its change re-sends "enabled": true, which waits for the install too.
    $("el-signInOnLoad").disabled = !chatApp.enabled || !ready;
  }

  async function putElement(name, body) {
    const sid = "status-" + name;
    status(sid, "saving");
    try {
      state.integration = await api("PUT", "/integration/elements/" + name, body);
      renderElements();
      renderPastChats();
      status(sid, "saved", body.enabled ? "Saved: on" : "Saved: off");
    } catch (e) {
      if (e.status === 409 && e.code === "not_installed") {
        // Someone uninstalled meanwhile (or the page was stale): show it as it is.
        state.integration.installed = false;
        await refreshIntegration();
      }
      renderElements();
      failed(sid, e);
    }
  }

  let historyReturnFocus = null;

  function onElementToggle(ev) {
    const input = ev.target;
    const name = input.dataset.element;
    if (name === "chat_history_in_sell" && input.checked) {
      input.checked = false; // nothing changes until the admin confirms
      historyReturnFocus = input;
      offerPastChatsFrom();
      $("history-dialog").showModal();
      $("history-cancel").focus();
      return;
    }
    const body = { enabled: input.checked };
    if (name === "chat_app_in_sell") body.signInOnLoad = $("el-signInOnLoad").checked;
    putElement(name, body);
  }

  // isoDay is a Date as a date input's value: the admin's local day, or UTC's.
  function isoDay(d, utc) {
    if (utc) return d.toISOString().slice(0, 10);
    const pad = (n) => String(n).padStart(2, "0");
    return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate());
  }

  // offerPastChatsFrom fills the dialog's date: the start picked before when there is
  // one (switching on again then goes on where the poll stopped), else 30 days ago.
  function offerPastChatsFrom() {
    const input = $("history-from");
    const now = new Date();
    input.max = isoDay(now);
    const p = (state.integration.chat || {}).poll;
    const kept = p && p.from ? isoDay(new Date(p.from), true) : "";
    input.value = kept || isoDay(new Date(now.getTime() - 30 * 24 * 3600 * 1000));
    input.dataset.kept = kept;
  }

  // historyOn switches chat history on with the date the admin left in the dialog.
  // The kept start is not sent again: it may be a time of day (the default one is),
  // which the day alone would move, and a moved start reads everything again.
  function historyOn() {
    const input = $("history-from");
    const body = { enabled: true, confirm: true };
    if (input.value && input.value !== input.dataset.kept) body.pastChatsFrom = input.value;
    putElement("chat_history_in_sell", body);
  }

  function closeHistoryDialog() {
    $("history-dialog").close();
    if (historyReturnFocus) historyReturnFocus.focus();
  }

  // ---- settings (PATCH with the version we loaded) ---------------------------

  // Changes are sent one at a time, each with the version the previous one returned:
  // two quick clicks would otherwise race and the second would look like someone
  // else's change.
  let patchQueue = Promise.resolve();

  function patchSettings(patch, statusId) {
    status(statusId, "saving");
    const run = patchQueue.then(() => sendPatch(patch, statusId));
    patchQueue = run.catch(() => {});
    return run;
  }

  async function sendPatch(patch, statusId) {
    try {
      state.settings = await api("PATCH", "/settings", patch, { "If-Match": String(state.settings.version) });
      status(statusId, "saved");
      renderAccess();
      renderStatuses();
      renderSource();
      renderOwners();
      renderPools();
      return true;
    } catch (e) {
      if (e.status === 409 && e.code === "version_conflict") {
        banner("Someone else changed the settings meanwhile. The page now shows their version; make your change again.");
        await loadAll();
        status(statusId, "failed", "Not saved: the settings had changed");
        return false;
      }
      failed(statusId, e);
      renderAccess();
      renderStatuses();
      renderSource();
      renderOwners();
      return false;
    }
  }

  function renderAccess() {
    const a = state.settings.access;
    $("access-sell_users").checked = a === "sell_users";
    $("access-all_agents").checked = a === "all_agents";
  }

  function renderStatuses() {
    const sel = $("lead-status-select");
    clear(sel);
    const names = state.statuses.map((s) => s.name);
    if (!names.includes(state.settings.leadStatus)) names.unshift(state.settings.leadStatus);
    for (const n of names) {
      const o = el("option", { value: n }, n);
      if (n === state.settings.leadStatus) o.selected = true;
      sel.appendChild(o);
    }
  }

  // ---- lead source combobox --------------------------------------------------

  const combo = { options: [], active: -1 };

  function currentSourceName() {
    const id = state.settings.leadSourceId;
    if (id == null) return "";
    const s = state.sources.find((x) => x.id === id);
    return s ? s.name : "#" + id;
  }

  function renderSource() {
    const input = $("source-input");
    if (document.activeElement !== input) input.value = currentSourceName();
  }

  function sameName(a, b) {
    return a.trim().toLowerCase() === b.trim().toLowerCase();
  }

  function openSourceList() {
    const input = $("source-input");
    const list = $("source-list");
    const q = input.value.trim();
    const lower = q.toLowerCase();
    combo.options = state.sources
      .filter((s) => !lower || s.name.toLowerCase().includes(lower))
      .map((s) => ({ kind: "pick", source: s, label: s.name }));
    if (q && !state.sources.some((s) => sameName(s.name, q))) {
      combo.options.push({ kind: "create", name: q.replace(/\s+/g, " "), label: "Create \u201c" + q.replace(/\s+/g, " ") + "\u201d" });
    }
    clear(list);
    combo.options.forEach((o, i) => {
      const li = el("li", { role: "option", id: "source-opt-" + i, "aria-selected": "false", class: o.kind === "create" ? "create" : "" }, o.label);
      li.addEventListener("mousedown", (ev) => { ev.preventDefault(); chooseSource(i); });
      list.appendChild(li);
    });
    combo.active = -1;
    list.hidden = combo.options.length === 0;
    input.setAttribute("aria-expanded", String(!list.hidden));
    input.removeAttribute("aria-activedescendant");
  }

  function closeSourceList() {
    $("source-list").hidden = true;
    $("source-input").setAttribute("aria-expanded", "false");
    $("source-input").removeAttribute("aria-activedescendant");
    combo.active = -1;
  }

  function moveActive(delta) {
    if ($("source-list").hidden) openSourceList();
    const n = combo.options.length;
    if (!n) return;
    combo.active = (combo.active + delta + n) % n;
    combo.options.forEach((_, i) => $("source-opt-" + i).setAttribute("aria-selected", String(i === combo.active)));
    const active = $("source-opt-" + combo.active);
    $("source-input").setAttribute("aria-activedescendant", active.id);
    active.scrollIntoView({ block: "nearest" });
  }

  async function chooseSource(i) {
    const o = combo.options[i];
    closeSourceList();
    if (!o) return;
    let source = o.source;
    if (o.kind === "create") {
      status("lead-source-status", "saving", "Creating the source in Sell…");
      try {
        source = await api("POST", "/sell/lead-sources", { name: o.name });
      } catch (e) {
        failed("lead-source-status", e);
        return;
      }
      if (!state.sources.some((s) => s.id === source.id)) state.sources.push(source);
      state.sources.sort((a, b) => a.name.localeCompare(b.name));
    }
    $("source-input").value = source.name;
    await patchSettings({ leadSourceId: source.id }, "lead-source-status");
  }

  function onSourceKey(ev) {
    switch (ev.key) {
      case "ArrowDown": ev.preventDefault(); moveActive(1); break;
      case "ArrowUp": ev.preventDefault(); moveActive(-1); break;
      case "Enter":
        ev.preventDefault();
        if (combo.active >= 0) chooseSource(combo.active);
        else if (combo.options.length === 1) chooseSource(0);
        else {
          const q = $("source-input").value.trim();
          const idx = combo.options.findIndex((o) => (o.kind === "pick" && sameName(o.source.name, q)) || o.kind === "create");
          if (idx >= 0) chooseSource(idx);
        }
        break;
      case "Escape":
        closeSourceList();
        $("source-input").value = currentSourceName();
        break;
    }
  }

  // ---- owners ----------------------------------------------------------------

  function poolIDs() {
    return new Set(state.pools.map((p) => p.sellUserId));
  }

  function renderOwners() {
    const sm = state.integration.superiorManager;
    $("superior-manager").textContent = sm ? sm.name : "not set (connect Sell)";
    const owners = state.settings.owners || [];
    const chosen = new Set(owners.map((o) => o.type + ":" + o.id));
    const pools = poolIDs();
    const users = $("owner-users");
    clear(users);
    for (const u of state.users) {
      if (!u.active || pools.has(u.id)) continue;
      users.appendChild(ownerItem("user", u.id, u.name, chosen));
    }
    const pl = $("owner-pools");
    clear(pl);
    for (const p of state.pools) pl.appendChild(ownerItem("pool", p.sellUserId, p.name, chosen));
    $("owner-pools-empty").hidden = state.pools.length > 0;
    $("allow-any").checked = !!state.settings.allowAgentsAssignAnyOwner;
    let explain;
    if (owners.length) explain = "Agents must choose one of the " + owners.length + " owner(s) ticked above.";
    else if (state.settings.allowAgentsAssignAnyOwner) explain = "Agents may choose any Sell user or pool.";
    else if (state.settings.access === "all_agents") explain = "With nothing ticked, the superior manager owns every new lead.";
    else explain = "With nothing ticked, the agent's own Sell user owns the lead.";
    $("owners-explain").textContent = explain;
  }

  function ownerItem(type, id, name, chosen) {
    const li = el("li");
    const label = el("label", { class: "choice" });
    const box = el("input", { type: "checkbox", "data-type": type, "data-id": String(id) });
    box.checked = chosen.has(type + ":" + id);
    box.disabled = !connected();
    box.addEventListener("change", onOwnerToggle);
    label.appendChild(box);
    label.appendChild(el("span", {}, name));
    li.appendChild(label);
    return li;
  }

  // Owner changes are queued as "add" or "remove" and turned into a list only when
  // sent, so a quick second click builds on the first instead of undoing it.
  let ownerQueue = Promise.resolve();

  function onOwnerToggle(ev) {
    const box = ev.target;
    const o = { type: box.dataset.type, id: Number(box.dataset.id) };
    const add = box.checked;
    status("owners-status", "saving");
    ownerQueue = ownerQueue.then(() => {
      let owners = (state.settings.owners || []).filter((x) => !(x.type === o.type && x.id === o.id));
      if (add) owners = owners.concat([o]); // keep the order in which owners were added
      return patchSettings({ owners: owners }, "owners-status");
    }).catch(() => {});
  }

  // ---- pools -----------------------------------------------------------------

  function userName(id) {
    const u = state.users.find((x) => x.id === id);
    return u ? u.name + " (" + u.email + ")" : "Sell user " + id;
  }

  function renderPools() {
    const rows = $("pool-rows");
    clear(rows);
    const owners = state.settings.owners || [];
    for (const p of state.pools) {
      const inUse = owners.some((o) => o.type === "pool" && o.id === p.sellUserId);
      const tr = el("tr");
      tr.appendChild(el("td", {}, userName(p.sellUserId)));
      const nameCell = el("td");
      const nameInput = el("input", { "aria-label": "Name of the pool " + p.name, maxlength: "100" });
      nameInput.value = p.name;
      nameInput.addEventListener("change", () => markPool(p.sellUserId, nameInput.value));
      nameCell.appendChild(nameInput);
      tr.appendChild(nameCell);
      const act = el("td");
      const unmark = el("button", { type: "button", class: "small" }, "Unmark");
      unmark.setAttribute("aria-label", "Unmark " + p.name + " as a pool");
      if (inUse) {
        unmark.disabled = true;
        unmark.title = "This pool is one of the owners; remove it from Owners first.";
      }
      unmark.addEventListener("click", () => unmarkPool(p.sellUserId));
      act.appendChild(unmark);
      tr.appendChild(act);
      rows.appendChild(tr);
    }
    $("pools-empty").hidden = state.pools.length > 0;
    const sel = $("pool-user");
    clear(sel);
    const marked = poolIDs();
    sel.appendChild(el("option", { value: "" }, "Choose a Sell user…"));
    for (const u of state.users) {
      if (marked.has(u.id) || !u.active) continue;
      sel.appendChild(el("option", { value: String(u.id) }, u.name + " (" + u.email + ")"));
    }
  }

  async function reloadPoolsAndUsers() {
    const [pools, users] = await Promise.all([api("GET", "/pools"), api("GET", "/sell/users")]);
    state.pools = pools.pools;
    state.users = users.users;
    renderPools();
    renderOwners();
  }

  async function markPool(id, name) {
    status("pools-status", "saving");
    try {
      await api("PUT", "/pools/" + id, { name: name });
      await reloadPoolsAndUsers();
      status("pools-status", "saved");
      return true;
    } catch (e) {
      failed("pools-status", e);
      return false;
    }
  }

  async function unmarkPool(id) {
    status("pools-status", "saving");
    try {
      await api("DELETE", "/pools/" + id);
      await reloadPoolsAndUsers();
      status("pools-status", "saved", "Unmarked");
      $("pool-user").focus();
    } catch (e) {
      failed("pools-status", e);
    }
  }

  async function onPoolSubmit(ev) {
    ev.preventDefault();
    const id = $("pool-user").value;
    const name = $("pool-name").value;
    if (!id) { status("pools-status", "failed", "Choose the Sell user that stands for the pool."); return; }
    if (await markPool(id, name)) $("pool-name").value = "";
  }

  // ---- field display ---------------------------------------------------------

  async function loadWidget(name) {
    state.widgets[name] = await api("GET", "/widgets/" + name);
  }

  function catalogueByKey(w) {
    const m = new Map();
    for (const f of w.fields) m.set(f.key, f);
    return m;
  }

  // focusAfter names the control to focus once a re-render has replaced the lists,
  // so keyboard users keep their place.
  let focusAfter = null;

  function renderWidget() {
    const w = state.widgets[state.widget];
    if (!w) return;
    const byKey = catalogueByKey(w);
    $("widget-dates").textContent = "Last modified: " + when(w.modifiedAt) + " · Published: " + when(w.publishedAt) +
      (w.unpublished ? " · The draft has unpublished changes." : "");
    $("widget-custom-note").hidden = w.customFieldsAvailable;

    const q = $("field-search").value.trim().toLowerCase();
    const chosen = new Set(w.draft);
    const avail = $("available");
    clear(avail);
    for (const f of w.fields) {
      if (chosen.has(f.key)) continue;
      if (q && !f.label.toLowerCase().includes(q) && !f.key.toLowerCase().includes(q)) continue;
      const li = el("li", { class: "addable", "data-key": f.key });
      li.appendChild(el("span", { class: "name" }, f.label));
      li.appendChild(el("span", { class: "type" }, f.custom ? "custom · " + f.type : f.type));
      const add = el("button", { type: "button", class: "small", "aria-label": "Add " + f.label, "data-action": "add", "data-key": f.key }, "+");
      li.appendChild(add);
      li.addEventListener("click", (ev) => { if (ev.target === li || ev.target.tagName === "SPAN") addField(f.key); });
      avail.appendChild(li);
    }
    if (!avail.firstChild) avail.appendChild(el("li", { class: "hint" }, q ? "No field matches." : "Every field is shown."));

    const ol = $("chosen");
    clear(ol);
    w.draft.forEach((key, i) => {
      const f = byKey.get(key);
      const label = f ? f.label : key.replace(/^custom:/, "") + " (no longer in Sell)";
      const li = el("li", { draggable: "true", "data-key": key, "data-index": String(i), class: f ? "" : "missing" });
      li.appendChild(el("span", { class: "name" }, label));
      const up = el("button", { type: "button", class: "small", "aria-label": "Move " + label + " up", "data-action": "up", "data-key": key }, "Up");
      up.disabled = i === 0;
      const down = el("button", { type: "button", class: "small", "aria-label": "Move " + label + " down", "data-action": "down", "data-key": key }, "Down");
      down.disabled = i === w.draft.length - 1;
      const rm = el("button", { type: "button", class: "small", "aria-label": "Remove " + label, "data-action": "remove", "data-key": key }, "Remove");
      li.appendChild(up);
      li.appendChild(down);
      li.appendChild(rm);
      li.addEventListener("dragstart", onDragStart);
      li.addEventListener("dragover", onDragOver);
      li.addEventListener("dragleave", () => li.classList.remove("drop-target"));
      li.addEventListener("drop", onDrop);
      li.addEventListener("dragend", () => li.classList.remove("dragging"));
      ol.appendChild(li);
    });
    $("chosen-empty").hidden = w.draft.length > 0;

    if (focusAfter) {
      const target = document.querySelector(focusAfter.selector) || document.querySelector(focusAfter.fallback || "#field-search");
      if (target && !target.disabled) target.focus();
      else if (target) {
        const other = target.parentElement && target.parentElement.querySelector("button:not([disabled])");
        if (other) other.focus();
      }
      focusAfter = null;
    }
  }

  // Draft edits are queued, and each computes its list from the draft the previous
  // edit saved, so quick clicks never undo one another.
  let draftQueue = Promise.resolve();

  function editDraft(change, focus) {
    const name = state.widget;
    status("widget-status", "saving");
    draftQueue = draftQueue.then(() => {
      const fields = change(state.widgets[name].draft.slice());
      if (!fields) { status("widget-status", "", ""); return; }
      return saveDraft(name, fields, focus);
    }).catch(() => {});
  }

  async function saveDraft(name, fields, focus) {
    try {
      state.widgets[name] = await api("PUT", "/widgets/" + name + "/draft", { fields: fields });
      focusAfter = focus || null;
      if (name === state.widget) renderWidget();
      status("widget-status", "saved", "Draft saved");
      $("preview").hidden = true;
    } catch (e) {
      failed("widget-status", e);
    }
  }

  function addField(key) {
    editDraft((draft) => (draft.includes(key) ? null : draft.concat([key])),
      { selector: '#chosen button[data-action="remove"][data-key="' + CSS.escape(key) + '"]', fallback: "#field-search" });
  }

  function moveField(key, delta) {
    const action = delta < 0 ? "up" : "down";
    editDraft((draft) => {
      const i = draft.indexOf(key);
      const j = i + delta;
      if (i < 0 || j < 0 || j >= draft.length) return null;
      draft.splice(i, 1);
      draft.splice(j, 0, key);
      return draft;
    }, { selector: '#chosen button[data-action="' + action + '"][data-key="' + CSS.escape(key) + '"]' });
  }

  function removeField(key) {
    const draft = state.widgets[state.widget].draft;
    const i = draft.indexOf(key);
    const next = draft[i + 1] || draft[i - 1];
    editDraft((d) => d.filter((k) => k !== key), {
      selector: next ? '#chosen button[data-action="remove"][data-key="' + CSS.escape(next) + '"]' : "#field-search",
    });
  }

  let dragKey = null;

  function onDragStart(ev) {
    dragKey = ev.currentTarget.dataset.key;
    ev.currentTarget.classList.add("dragging");
    ev.dataTransfer.effectAllowed = "move";
    ev.dataTransfer.setData("text/plain", dragKey);
  }

  function onDragOver(ev) {
    ev.preventDefault();
    ev.dataTransfer.dropEffect = "move";
    ev.currentTarget.classList.add("drop-target");
  }

  function onDrop(ev) {
    ev.preventDefault();
    const target = ev.currentTarget;
    target.classList.remove("drop-target");
    const key = dragKey || ev.dataTransfer.getData("text/plain");
    dragKey = null;
    const to = Number(target.dataset.index);
    editDraft((draft) => {
      const from = draft.indexOf(key);
      if (from < 0 || from === to) return null;
      draft.splice(from, 1);
      draft.splice(to, 0, key);
      return draft;
    });
  }

  function onListClick(ev) {
    const b = ev.target.closest("button[data-action]");
    if (!b) return;
    const key = b.dataset.key;
    switch (b.dataset.action) {
      case "add": addField(key); break;
      case "up": moveField(key, -1); break;
      case "down": moveField(key, 1); break;
      case "remove": removeField(key); break;
    }
  }

  async function review() {
    status("widget-status", "saving", "Loading the preview…");
    await draftQueue; // review what was just saved, not the draft before it
    try {
      const p = await api("GET", "/widgets/" + state.widget + "/preview");
      const dl = $("preview-list");
      clear(dl);
      for (const f of p.fields) {
        dl.appendChild(el("dt", {}, f.label));
        dl.appendChild(el("dd", {}, f.value));
      }
      if (!p.fields.length) dl.appendChild(el("dd", {}, "No fields."));
      $("preview").hidden = false;
      status("widget-status", "saved", "Preview below (sample data)");
    } catch (e) {
      failed("widget-status", e);
    }
  }

  async function publish() {
    status("widget-status", "saving", "Publishing…");
    await draftQueue; // publish the last edit too
    try {
      state.widgets[state.widget] = await api("POST", "/widgets/" + state.widget + "/publish");
      renderWidget();
      status("widget-status", "saved", "Published: agents see it on their next lookup");
    } catch (e) {
      failed("widget-status", e);
    }
  }

  async function selectTab(name, focus) {
    for (const t of document.querySelectorAll('[role="tab"]')) {
      const on = t.dataset.widget === name;
      t.setAttribute("aria-selected", String(on));
      t.tabIndex = on ? 0 : -1;
      if (on && focus) t.focus();
    }
    $("widget-panel").setAttribute("aria-labelledby", "tab-" + name);
    state.widget = name;
    $("preview").hidden = true;
    status("widget-status", "", "");
    try {
      if (!state.widgets[name]) await loadWidget(name);
      renderWidget();
    } catch (e) {
      failed("widget-status", e);
    }
  }

  function onTabKey(ev) {
    const tabs = Array.from(document.querySelectorAll('[role="tab"]'));
    const i = tabs.indexOf(ev.target);
    if (i < 0) return;
    let j = -1;
    if (ev.key === "ArrowRight") j = (i + 1) % tabs.length;
    else if (ev.key === "ArrowLeft") j = (i - 1 + tabs.length) % tabs.length;
    else if (ev.key === "Home") j = 0;
    else if (ev.key === "End") j = tabs.length - 1;
    if (j >= 0) {
      ev.preventDefault();
      selectTab(tabs[j].dataset.widget, true);
    }
  }

  // ---- wiring ----------------------------------------------------------------

  function wire() {
    $("signin-form").addEventListener("submit", localSignIn);
    $("zendesk-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      zendeskSignIn($("zd-account").value.trim(), "zendesk-status");
    });
    $("zd-reconnect").addEventListener("click", (ev) => {
      ev.preventDefault();
      zendeskSignIn(accountOf(claims(token)), "connect-status");
    });
    $("connect-sell").addEventListener("click", () => connect("install", "Opening Sell…"));
    $("connect-chat").addEventListener("click", () => connect("chat", "Opening Zendesk Chat…"));
    $("aw-setup").addEventListener("click", () => notifications("POST"));
    $("aw-remove").addEventListener("click", () => notifications("DELETE"));
    $("run-install").addEventListener("click", runInstall);
    for (const name of ELEMENTS) $("el-" + name).addEventListener("change", onElementToggle);
    $("el-signInOnLoad").addEventListener("change", (ev) =>
      putElement("chat_app_in_sell", { enabled: $("el-chat_app_in_sell").checked, signInOnLoad: ev.target.checked }));
    $("history-confirm").addEventListener("click", () => {
      closeHistoryDialog();
      historyOn();
    });
    $("history-cancel").addEventListener("click", closeHistoryDialog);
    $("history-dialog").addEventListener("cancel", () => { if (historyReturnFocus) setTimeout(() => historyReturnFocus.focus(), 0); });

    for (const r of document.querySelectorAll('input[name="access"]')) {
      r.addEventListener("change", (ev) => patchSettings({ access: ev.target.value }, "access-status"));
    }
    $("lead-status-select").addEventListener("change", (ev) => patchSettings({ leadStatus: ev.target.value }, "lead-status-status"));

    const si = $("source-input");
    si.addEventListener("input", openSourceList);
    si.addEventListener("focus", openSourceList);
    si.addEventListener("keydown", onSourceKey);
    si.addEventListener("blur", () => { closeSourceList(); renderSource(); });

    $("allow-any").addEventListener("change", (ev) => patchSettings({ allowAgentsAssignAnyOwner: ev.target.checked }, "owners-status"));
    $("pool-form").addEventListener("submit", onPoolSubmit);

    $("field-search").addEventListener("input", renderWidget);
    $("available").addEventListener("click", onListClick);
    $("chosen").addEventListener("click", onListClick);
    $("review").addEventListener("click", review);
    $("publish").addEventListener("click", publish);
    for (const t of document.querySelectorAll('[role="tab"]')) {
      t.addEventListener("click", () => selectTab(t.dataset.widget, false));
      t.addEventListener("keydown", onTabKey);
    }
  }

  wire();
  token = takeToken();
  if (token) start();
  else showSignIn("");
})();
