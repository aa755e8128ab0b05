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
      loadAudit(); // not awaited: the trail is no reason to hold the page back
      const job = state.integration.retention;
      if (job && job.state && job.state !== "done") watchRetentionJob(job.days);
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
    renderRedaction(false);
    renderRetention(false);
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
    renderChat();
    renderInstall();
  }

  // renderChat shows the Chat connection, how far the chat poll has read, and the
  // chats waiting for Sell's pace; the backlog watch redraws it alone.
  function renderChat() {
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
    renderBacklog();
    watchBacklog();
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
    let read = p.caughtUp ? "caught up" : Math.min(99, Math.floor(progress * 100)) + "% read, up to " + day(p.readUpTo || p.from);
    if (!p.caughtUp && p.leftEstimate != null) read += ", about " + Number(p.leftEstimate).toLocaleString() + " more to read";
    if (!p.caughtUp && p.heldBack) read += ". The rest is read as Sell takes the chats on their way";
    if (!p.caughtUp && p.eta) read += ". All in Sell in " + howLong(p.eta);
    $("chat-progress-text").textContent = "Past chats from " + day(p.from, true) + ": " + read + ".";
    $("chat-progress-bar").value = progress;
  }

  // renderBacklog draws the chats waiting for the account's Sell budget: Sell takes
  // 10 requests a second per token, so an import of past chats queues far more than
  // it takes at once, and the drain works through them at that pace.
  function renderBacklog() {
    const b = (state.integration.chat || {}).backlog;
    const box = $("chat-backlog");
    box.hidden = !b;
    if (!b) return;
    const total = Number(b.total) || 0;
    const done = Math.min(total, Number(b.done) || 0);
    const bar = $("chat-backlog-bar");
    bar.max = Math.max(1, total);
    bar.value = done;
    $("chat-backlog-text").textContent = "Chats on their way to Sell, at Sell's pace: " +
      done.toLocaleString() + " of " + total.toLocaleString() + " done" + timeLeft(b.eta) + ".";
  }

  // timeLeft says how long the backlog has to go, from the time the backend expects
  // it empty at the last measured pace; nothing before a drain has measured one.
  function timeLeft(eta) {
    return eta ? ", " + howLong(eta) + " left" : "";
  }

  // howLong says roughly how long it is until the time eta.
  function howLong(eta) {
    const minutes = Math.round((new Date(eta).getTime() - Date.now()) / 60000);
    if (minutes < 1) return "less than a minute";
    if (minutes < 90) return "about " + plural(minutes, "minute", "minutes");
    return "about " + plural(Math.round(minutes / 60), "hour", "hours");
  }

  // watchBacklog reloads the chat part of GET /integration every BACKLOG_WATCH ms
  // while there is progress to follow (chats waiting for Sell, or the poll reading
  // past chats), so the bars move without a reload; it stops once there is none, or
  // the session has ended.
  const BACKLOG_WATCH = 5000;
  let backlogTimer = 0;

  function watchBacklog() {
    if (backlogTimer || !token || !progressing()) return;
    backlogTimer = setTimeout(async () => {
      // A hidden tab asks nothing; it catches up on the next tick it is seen.
      if (!document.hidden) {
        try {
          const fresh = await api("GET", "/integration");
          // Only the chat part: a switch or an install saved meanwhile keeps its answer.
          state.integration = Object.assign({}, state.integration, { chat: fresh.chat });
        } catch (e) {
          // Keep the last known progress; the next tick tries again.
        }
      }
      backlogTimer = 0;
      renderChat();
    }, BACKLOG_WATCH);
  }

  function progressing() {
    const chat = state.integration.chat || {};
    const history = (state.integration.elements || {}).chat_history_in_sell || {};
    const reading = chat.connected && history.enabled && chat.poll && !chat.poll.caughtUp;
    return !!(chat.backlog || reading);
  }

  // ---- Agent Workspace notifications -----------------------------------------

  // renderAgentWorkspace shows the Support webhook and trigger that announce solved
  // chat tickets. They are made through the Zendesk connection, so without one the
  // page only says to sign in with Zendesk.
  // The messaging channels the trigger can name (their via channel names, as the
  // backend's zendesk.DefaultMessagingChannels); none chosen means all of them.
  const MESSAGING_CHANNELS = [
    ["native_messaging", "Web and mobile messaging"], ["whatsapp", "WhatsApp"], ["instagram_dm", "Instagram"],
    ["sunshine_conversations_facebook_messenger", "Messenger"], ["line", "LINE"], ["wechat", "WeChat"],
    ["telegram", "Telegram"], ["viber", "Viber"], ["twilio_sms", "SMS (Twilio)"], ["messagebird_sms", "SMS (MessageBird)"],
    ["apple_business_chat", "Apple Messages for Business"], ["google_business_messages", "Google Business Messages"],
    ["google_rcs", "RCS"], ["kakaotalk", "KakaoTalk"], ["sunshine_conversations_api", "Conversations API"],
    ["sunshine_conversations_twitter_dm", "X"],
  ];

  function renderChannels(chosen) {
    const list = $("aw-channel-list");
    if (!list.childElementCount) {
      for (const [name, label] of MESSAGING_CHANNELS) {
        const l = document.createElement("label");
        const box = document.createElement("input");
        box.type = "checkbox";
        box.value = name;
        box.id = "aw-ch-" + name;
        l.append(box, " " + label);
        list.append(l);
      }
    }
    const all = !chosen || chosen.length === 0;
    for (const box of list.querySelectorAll("input")) box.checked = all || chosen.includes(box.value);
  }

  function chosenChannels() {
    return Array.from($("aw-channel-list").querySelectorAll("input:checked"), (b) => b.value);
  }

  function renderAgentWorkspace() {
    const zd = state.integration.zendesk || {};
    const n = zd.notifications || { enabled: false };
    $("aw").hidden = !zd.connected;
    $("aw-hint").hidden = !!zd.connected;
    $("aw-dot").className = "dot" + (n.enabled ? " on" : "");
    const channels = n.messagingChannels && n.messagingChannels.length ? n.messagingChannels.length : MESSAGING_CHANNELS.length;
    $("aw-text").textContent = n.enabled
      ? "is on" + (n.setUpAt ? " (set up " + when(n.setUpAt) + ")" : "") + ": Zendesk tells sellchat when a chat ticket is solved" +
        (n.messagingTriggerId ? ", and when a messaging conversation of " + channels + (channels === 1 ? " channel" : " channels") + " is." : ".")
      : "is off: chats reach Sell through the chat poll, within minutes; messaging conversations do not reach Sell.";
    renderChannels(n.messagingChannels);
    // Conversations Zendesk would not give yet (its limits, an outage): nothing is
    // lost, the chat poll reads them once a minute.
    const wait = zd.messagingWaiting;
    $("aw-waiting").hidden = !wait;
    if (wait) {
      $("aw-waiting").textContent = wait.conversations + (wait.conversations === 1 ? " messaging conversation waits" : " messaging conversations wait") +
        " for Zendesk to let sellchat read " + (wait.conversations === 1 ? "it" : "them") + " (the oldest since " + when(wait.oldestSince) + ")" +
        (wait.heldUntil ? "; Zendesk asked to wait until " + when(wait.heldUntil) : "") + ". They are read once a minute and nothing is lost.";
    }
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
      if (method === "POST" && chosenChannels().length === 0) {
        throw new APIError(422, { error: { message: "Choose at least one messaging channel." } });
      }
      const n = await api(method, "/integration/zendesk/notifications",
        method === "POST" ? { messagingChannels: chosenChannels() } : undefined);
      noteChange();
      const zd = Object.assign({}, state.integration.zendesk, { notifications: n || { enabled: false } });
      state.integration = Object.assign({}, state.integration, { zendesk: zd });
      renderAgentWorkspace();
      // Remove hides itself: keep a keyboard user on the button left, now, not only
      // once GET /integration has answered.
      if (hadFocus && (!buttons.includes(document.activeElement) || document.activeElement.hidden)) $("aw-setup").focus();
      status("aw-status", "saved", method === "POST" ? "Set up: solved chat tickets and messaging conversations now reach Sell within seconds." : "Removed.");
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
      noteChange();
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
      noteChange();
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

  // onFail, when given, also sees a refusal or a conflict, to show it at the field it
  // names or to say what became of the edits.
  function patchSettings(patch, statusId, onFail) {
    status(statusId, "saving");
    const run = patchQueue.then(() => sendPatch(patch, statusId, onFail));
    patchQueue = run.catch(() => {});
    return run;
  }

  async function sendPatch(patch, statusId, onFail) {
    try {
      state.settings = await api("PATCH", "/settings", patch, { "If-Match": String(state.settings.version) });
      status(statusId, "saved");
      renderAccess();
      renderStatuses();
      renderSource();
      renderOwners();
      renderPools();
      renderRedaction(false);
      renderRetention(false);
      noteChange();
      return true;
    } catch (e) {
      if (e.status === 409 && e.code === "version_conflict") {
        banner("Someone else changed the settings meanwhile. The page now shows their version; make your change again.");
        await loadAll();
        status(statusId, "failed", "Not saved: the settings had changed");
        if (onFail) onFail(e);
        return false;
      }
      failed(statusId, e);
      if (onFail) onFail(e);
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
    $("aw-internal").checked = !!state.settings.messagingInternalNotes;
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
      noteChange();
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
      noteChange();
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
      noteChange();
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
      noteChange();
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

  // ---- privacy: redaction ----------------------------------------------------

  // The rules are edited on the page and saved together (the patterns replace the
  // whole list). While the admin has unsaved edits the page keeps them: a save
  // elsewhere, or a reload after a conflict, must not wipe them.
  let redactionDirty = false;
  let patternSeq = 0;

  // The Privacy section keeps unsaved edits across the reload a conflict causes.
  const KEPT_ON_CONFLICT = "Not saved: someone else changed the settings meanwhile. Your edits are still here: save again to apply them over theirs.";

  function savedRedaction() {
    const r = state.settings.redaction || {};
    return {
      cardNumbers: r.cardNumbers !== false,
      patterns: (r.patterns || []).map((p) => ({ name: String(p.name), pattern: String(p.pattern) })),
    };
  }

  function renderRedaction(force) {
    if (!state.settings || (redactionDirty && !force)) return;
    const r = savedRedaction();
    $("red-cards").checked = r.cardNumbers;
    const list = $("red-patterns");
    clear(list);
    for (const p of r.patterns) list.appendChild(patternRow(p));
    numberPatternRows();
    clearRedactionErrors();
    setRedactionDirty(false);
  }

  function setRedactionDirty(on) {
    redactionDirty = on;
    $("red-reset").hidden = !on;
  }

  // fieldInput is one labelled input of a pattern row with the line that shows the
  // backend's refusal of it.
  function fieldInput(cls, label, value, maxlength) {
    const id = "red-" + cls + "-" + (++patternSeq);
    const wrap = el("div", { class: "row" });
    const lab = el("label", { for: id });
    lab.appendChild(document.createTextNode(label));
    lab.appendChild(el("span", { class: "visually-hidden row-number" }));
    const input = el("input", { id: id, class: "p-" + cls, maxlength: String(maxlength), autocomplete: "off",
      spellcheck: "false", autocapitalize: "off", "aria-describedby": id + "-error" });
    input.value = value;
    wrap.appendChild(lab);
    wrap.appendChild(input);
    wrap.appendChild(el("p", { id: id + "-error", class: "field-error", hidden: "" }));
    return wrap;
  }

  function patternRow(p) {
    const li = el("li", { class: "pattern-row" });
    li.appendChild(fieldInput("name", "Name", p.name, 40));
    li.appendChild(fieldInput("pattern", "Pattern", p.pattern, 200));
    li.appendChild(el("button", { type: "button", class: "small", "data-action": "remove-pattern" }, "Remove"));
    return li;
  }

  // numberPatternRows names each row's controls by its place, so a screen reader
  // tells "Name of pattern 2" from the others.
  function numberPatternRows() {
    const rows = Array.from($("red-patterns").children);
    rows.forEach((li, i) => {
      for (const s of li.querySelectorAll(".row-number")) s.textContent = " of pattern " + (i + 1);
      const name = li.querySelector(".p-name").value.trim();
      li.querySelector('[data-action="remove-pattern"]').setAttribute("aria-label",
        "Remove pattern " + (i + 1) + (name ? " (" + name + ")" : ""));
    });
    $("red-patterns-empty").hidden = rows.length > 0;
  }

  // readRedaction is the rules as edited, and the row each sent pattern came from
  // (the backend names a refused pattern by its place in what was sent). A row left
  // empty is no rule. For the preview, a row without a pattern yet is left out and
  // one without a name gets a stand-in, so half-typed rules can be tried.
  function readRedaction(preview) {
    const patterns = [];
    const rows = [];
    for (const li of $("red-patterns").children) {
      const name = li.querySelector(".p-name").value.trim();
      const pattern = li.querySelector(".p-pattern").value;
      if (!name && !pattern) continue;
      if (preview && !pattern) continue;
      patterns.push({ name: name || (preview ? "pattern-" + (rows.length + 1) : ""), pattern: pattern });
      rows.push(li);
    }
    return { redaction: { cardNumbers: $("red-cards").checked, patterns: patterns }, rows: rows };
  }

  function setFieldError(input, message) {
    const err = $(input.id + "-error");
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    if (err) {
      err.textContent = message || "";
      err.hidden = !message;
    }
  }

  function clearRedactionErrors() {
    for (const i of $("red-patterns").querySelectorAll("input")) setFieldError(i, "");
    $("red-list-error").textContent = "";
    $("red-list-error").hidden = true;
  }

  // showRedactionError puts a refusal next to the input it names
  // (redaction.patterns[2].pattern) or under the list; focus moves there after a
  // save, not while the admin is typing elsewhere.
  function showRedactionError(err, rows, focus) {
    const m = /^redaction\.patterns\[(\d+)\]\.(name|pattern)$/.exec(err.field || "");
    const li = m && rows[Number(m[1])];
    if (li) {
      const input = li.querySelector(".p-" + m[2]);
      setFieldError(input, err.message);
      if (focus) input.focus();
      return true;
    }
    if (String(err.field || "").startsWith("redaction")) {
      $("red-list-error").textContent = err.message;
      $("red-list-error").hidden = false;
      if (focus) $("red-add").focus();
      return true;
    }
    return false;
  }

  function onRedactionEdit(ev) {
    if (ev.target.matches && ev.target.matches("#red-patterns input")) {
      setFieldError(ev.target, "");
      numberPatternRows();
    }
    setRedactionDirty(true);
    status("redaction-status", "", "");
    schedulePreview();
  }

  function addPattern() {
    const li = patternRow({ name: "", pattern: "" });
    $("red-patterns").appendChild(li);
    numberPatternRows();
    $("red-list-error").hidden = true;
    setRedactionDirty(true);
    li.querySelector(".p-name").focus();
  }

  // removePattern keeps the keyboard in the list: on the next row, else the one
  // before, else Add.
  function removePattern(li) {
    const next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    numberPatternRows();
    $("red-list-error").hidden = true;
    setRedactionDirty(true);
    status("redaction-status", "", "Removed; save to apply.");
    (next ? next.querySelector(".p-name") : $("red-add")).focus();
    schedulePreview();
  }

  async function saveRedaction() {
    const sent = readRedaction(false);
    clearRedactionErrors();
    const ok = await patchSettings({ redaction: sent.redaction }, "redaction-status", (e) => {
      if (e.code === "version_conflict") status("redaction-status", "failed", KEPT_ON_CONFLICT);
      else showRedactionError(e, sent.rows, true);
    });
    // Edits made while the save was on its way stay edits.
    if (ok && JSON.stringify(readRedaction(false).redaction) === JSON.stringify(sent.redaction)) {
      const hadFocus = $("red-patterns").contains(document.activeElement);
      renderRedaction(true);
      if (hadFocus) $("red-save").focus();
      status("redaction-status", "saved", "Saved: chats that arrive from now on are redacted with these rules.");
    }
  }

  function undoRedaction() {
    renderRedaction(true);
    status("redaction-status", "", "Back to the saved rules.");
    $("red-save").focus();
    schedulePreview();
  }

  // ---- privacy: try the rules --------------------------------------------------

  const PREVIEW_DELAY = 300; // ms after the last keystroke
  let previewTimer = 0;
  let previewSeq = 0;

  function schedulePreview() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(runPreview, PREVIEW_DELAY);
  }

  function ruleLabel(rule) {
    return rule === "card_number" ? "Card numbers" : rule;
  }

  // runPreview redacts the sample with the rules as edited; only the latest answer
  // is shown, whatever order answers arrive in.
  async function runPreview() {
    const seq = ++previewSeq;
    const text = $("try-text").value;
    if (!text) {
      $("try-out").hidden = true;
      status("try-status", "", "");
      return;
    }
    const sent = readRedaction(true);
    try {
      const res = await api("POST", "/redaction/preview", { text: text, redaction: sent.redaction });
      if (seq !== previewSeq) return;
      showPreview(res);
    } catch (e) {
      if (seq !== previewSeq) return;
      $("try-out").hidden = true;
      if (e.status === 422 && showRedactionError(e, sent.rows, false)) {
        status("try-status", "failed", "Fix the rule marked above to try it: " + e.message);
      } else {
        status("try-status", "failed", e.message);
      }
    }
  }

  function showPreview(res) {
    $("try-result").textContent = res.text;
    const list = $("try-counts");
    clear(list);
    const counts = res.counts || {};
    // The card rule first, then the admin's patterns by name.
    const rules = Object.keys(counts).sort((a, b) => (a === "card_number" ? -1 : b === "card_number" ? 1 : a.localeCompare(b)));
    let total = 0;
    for (const r of rules) {
      total += counts[r];
      list.appendChild(el("li", { "data-rule": r }, ruleLabel(r) + ": " + counts[r] + " masked"));
    }
    if (!rules.length) list.appendChild(el("li", {}, "Nothing masked."));
    $("try-out").hidden = false;
    status("try-status", "", total ? total + " match" + (total === 1 ? "" : "es") + " masked." : "Nothing masked.");
  }

  // ---- privacy: retention ------------------------------------------------------

  const MAX_RETENTION_DAYS = 3650;
  const DEFAULT_RETENTION_DAYS = 90; // offered when switching from forever
  let retentionDirty = false;

  function savedRetention() {
    const r = state.settings.retention || {};
    return { days: Math.max(0, Number(r.days) || 0), deleteSellNotes: !!r.deleteSellNotes };
  }

  function renderRetention(force) {
    if (!state.settings) return;
    if (!retentionDirty || force) {
      const r = savedRetention();
      $("ret-forever").checked = r.days === 0;
      $("ret-limited").checked = r.days > 0;
      $("ret-days").value = String(r.days || DEFAULT_RETENTION_DAYS);
      $("ret-notes").checked = r.deleteSellNotes;
      setFieldError($("ret-days"), "");
      retentionDirty = false;
    }
    syncRetention();
  }

  // readRetention is the setting as edited, or why it cannot be saved.
  function readRetention() {
    const notes = $("ret-notes").checked;
    if (!$("ret-limited").checked) return { value: { days: 0, deleteSellNotes: notes } };
    const raw = $("ret-days").value.trim();
    const days = Number(raw);
    if (!/^\d+$/.test(raw) || days < 1 || days > MAX_RETENTION_DAYS) {
      return { error: "Enter a whole number of days from 1 to " + MAX_RETENTION_DAYS + "." };
    }
    return { value: { days: days, deleteSellNotes: notes } };
  }

  // describeRetention says in words what a retention setting does.
  function describeRetention(r) {
    if (r.days <= 0) return "Keep forever: chats and their feed entries are never deleted for their age.";
    return "Chats and their feed entries are deleted " + r.days + " day" + (r.days === 1 ? "" : "s") +
      " after they arrive; the Sell notes sellchat created for them are " +
      (r.deleteSellNotes ? "deleted from Sell too." : "kept in Sell.");
  }

  function syncRetention() {
    const limited = $("ret-limited").checked;
    $("ret-days").disabled = !limited;
    // Notes go only with an expiring chat; forever keeps the choice for later.
    $("ret-notes").disabled = !limited;
    const r = readRetention();
    const saved = savedRetention();
    let text;
    if (r.error) text = r.error;
    else {
      text = describeRetention(r.value);
      const same = r.value.days === saved.days && (r.value.days === 0 || r.value.deleteSellNotes === saved.deleteSellNotes);
      if (!same) text = "Not saved yet. Once saved: " + text;
    }
    $("ret-explain").textContent = text;
    $("ret-effect").textContent = r.value ? retentionEffect(r.value, saved) : "";
    renderRetentionJob();
  }

  // retentionEffect says what a change of the days does to what is stored already:
  // the re-stamp job moves every stored chat's expiry, and what expired stays gone.
  function retentionEffect(next, saved) {
    if (next.days === saved.days) return "";
    const parts = [];
    if (next.days > 0) {
      parts.push("It applies to the chats already stored too: those that arrived more than " +
        plural(next.days, "day", "days") + " ago are deleted once it is saved.");
    }
    if (saved.days > 0 && (next.days === 0 || next.days > saved.days)) {
      parts.push("Chats deleted under the current setting do not come back.");
    }
    return parts.join(" ");
  }

  function onRetentionEdit(ev) {
    retentionDirty = true;
    if (ev && ev.target === $("ret-days")) setFieldError($("ret-days"), "");
    status("retention-status", "", "");
    syncRetention();
  }

  async function saveRetention() {
    const r = readRetention();
    if (r.error) {
      setFieldError($("ret-days"), r.error);
      status("retention-status", "failed", "Not saved: " + r.error);
      $("ret-days").focus();
      return;
    }
    const daysBefore = savedRetention().days;
    const ok = await patchSettings({ retention: r.value }, "retention-status", (e) => {
      if (e.code === "version_conflict") status("retention-status", "failed", KEPT_ON_CONFLICT);
      else if (String(e.field || "").startsWith("retention.days")) {
        setFieldError($("ret-days"), e.message);
        $("ret-days").focus();
      }
    });
    const now = readRetention();
    if (ok && now.value && JSON.stringify(now.value) === JSON.stringify(r.value)) {
      renderRetention(true);
      status("retention-status", "saved", "Saved. " + describeRetention(savedRetention()));
    }
    if (ok && savedRetention().days !== daysBefore) watchRetentionJob(savedRetention().days);
  }

  // renderRetentionJob shows the re-stamp job, which moves the expiry of what is
  // stored already when the days change: GET /integration's "retention" (state
  // running|done|failed, days, phase chats|entries, counts, error). The job has no
  // total to measure against, so the bar only says it is working.
  function renderRetentionJob() {
    const box = $("ret-job");
    const job = state.integration && state.integration.retention;
    box.hidden = !(job && job.state);
    if (box.hidden) return;
    box.setAttribute("data-state", job.state);
    const bar = $("ret-job-bar");
    bar.hidden = job.state !== "running";
    bar.removeAttribute("value"); // indeterminate
    const applied = Number(job.days) > 0 ? plural(Number(job.days), "day", "days") : "keep forever";
    const seen = plural(job.chats || 0, "chat", "chats") + " and " + plural(job.entries || 0, "feed entry", "feed entries") + " checked, " +
      plural(job.changed || 0, "expiry", "expiries") + " moved";
    let text;
    if (job.state === "running") {
      text = "Applying " + applied + " to what is stored (" + (job.phase === "entries" ? "feed entries" : "chats") + "): " + seen + " so far.";
    } else if (job.state === "failed") {
      text = "Applying " + applied + " to what is stored stopped" + (job.error ? ": " + job.error : "") + ". It resumes by itself: " + seen + " so far.";
    } else {
      text = "Applied " + applied + " to what was stored" + (job.updatedAt ? " " + when(job.updatedAt) : "") + ": " + seen + ".";
    }
    $("ret-job-text").textContent = text;
  }

  // watchRetentionJob follows the re-stamp job a change of the days starts, by
  // reloading GET /integration, until the job for those days is done (or, should
  // the backend not report one, for a while).
  const RETENTION_WATCH_FIRST = 1000;
  const RETENTION_WATCH_MAX = 5000;
  const RETENTION_WATCH_LIMIT = 120000; // ms without a finished job before giving up
  let retentionWatch = null;

  function watchRetentionJob(days) {
    if (retentionWatch) clearTimeout(retentionWatch.timer);
    const w = { days: days, wait: RETENTION_WATCH_FIRST, waited: 0, timer: 0 };
    retentionWatch = w;
    const tick = async () => {
      if (retentionWatch !== w) return;
      try {
        state.integration = await api("GET", "/integration");
      } catch (e) {
        // Keep the last known progress; the next tick tries again.
      }
      if (retentionWatch !== w) return;
      renderRetentionJob();
      const job = state.integration.retention;
      if (job && job.days === w.days && job.state === "done") return;
      w.waited += w.wait;
      if (w.waited >= RETENTION_WATCH_LIMIT) return;
      w.wait = Math.min(RETENTION_WATCH_MAX, Math.round(w.wait * 1.5));
      w.timer = setTimeout(tick, w.wait);
    };
    w.timer = setTimeout(tick, w.wait);
  }

  // ---- privacy: a visitor's data and its erasure ---------------------------------

  // visitor holds what "Show what we hold" read, page by page: the identifier asked
  // about, the pages merged, and the cursor to read on.
  let visitor = null;
  let downloadURL = "";

  function clearVisitorErrors() {
    setFieldError($("v-email"), "");
    setFieldError($("v-phone"), "");
  }

  // visitorQuery is the identifier the form names ({email} or {phone}), or null
  // after saying at the form what is missing.
  function visitorQuery() {
    clearVisitorErrors();
    const email = $("v-email").value.trim();
    const phone = $("v-phone").value.trim();
    if (!email && !phone) {
      setFieldError($("v-email"), "Enter the visitor's email or phone number.");
      $("v-email").focus();
      return null;
    }
    if (email && phone) {
      setFieldError($("v-phone"), "Fill in the email or the phone number, not both: each is looked up and erased on its own.");
      $("v-phone").focus();
      return null;
    }
    return email ? { email: email } : { phone: phone };
  }

  function describeQuery(q) {
    return q.email || q.phone;
  }

  function sameQuery(a, b) {
    return !!a && !!b && a.email === b.email && a.phone === b.phone;
  }

  // showVisitorError puts the backend's refusal at the field it names.
  function showVisitorError(e, statusId) {
    const input = e.field === "email" ? $("v-email") : e.field === "phone" ? $("v-phone") : null;
    if (e.status === 422 && input) {
      setFieldError(input, e.message);
      input.focus();
    }
    status(statusId, "failed", e.message);
  }

  // visitorName is the identifier as the backend normalised it (vera@example.com,
  // +14155550100), which is what it matched chats by.
  function visitorName() {
    return String(Object.values(visitor.data.visitor)[0] || describeQuery(visitor.query));
  }

  function recordLabel(r) {
    return String(r).replace(":", " ");
  }

  async function showVisitor(ev) {
    if (ev) ev.preventDefault();
    const q = visitorQuery();
    if (!q) return;
    status("visitor-status", "saving", "Looking for " + describeQuery(q) + "…");
    try {
      const page = await api("GET", "/privacy/visitors?" + new URLSearchParams(q).toString());
      visitor = { query: q, data: emptyVisitorData(page.visitor), cursor: "" };
      addVisitorPage(page);
      renderVisitor();
      status("visitor-status", "saved", visitorSummary());
    } catch (e) {
      showVisitorError(e, "visitor-status");
    }
  }

  async function readOn() {
    if (!visitor || !visitor.cursor) return;
    status("visitor-status", "saving", "Reading on…");
    try {
      const params = new URLSearchParams(visitor.query);
      params.set("cursor", visitor.cursor);
      const page = await api("GET", "/privacy/visitors?" + params.toString());
      addVisitorPage(page);
      renderVisitor();
      status("visitor-status", "saved", visitorSummary());
      if (!visitor.cursor) $("v-result-h").focus(); // Read on is gone
    } catch (e) {
      status("visitor-status", "failed", e.message);
    }
  }

  function emptyVisitorData(who) {
    return { visitor: who || {}, chats: [], entries: [], notes: [], leadCreations: [], scanned: 0, complete: false };
  }

  // addVisitorPage merges one answer into what was read; a record a page repeats
  // (the email's lead claim comes with every page) is kept once.
  function addVisitorPage(page) {
    const d = visitor.data;
    d.chats = d.chats.concat(page.chats || []);
    d.entries = d.entries.concat(page.entries || []);
    d.notes = d.notes.concat(page.notes || []);
    const seen = new Set(d.leadCreations.map((x) => JSON.stringify(x)));
    for (const lc of page.leadCreations || []) {
      const k = JSON.stringify(lc);
      if (!seen.has(k)) { seen.add(k); d.leadCreations.push(lc); }
    }
    d.scanned += Number(page.scanned) || 0;
    visitor.cursor = page.truncated ? page.cursor || "" : "";
    d.complete = !visitor.cursor;
  }

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many);
  }

  function visitorSummary() {
    const d = visitor.data;
    const found = plural(d.chats.length, "chat", "chats") + ", " + plural(d.entries.length, "feed entry", "feed entries") + ", " +
      plural(d.notes.length, "Sell note", "Sell notes") + ", " + plural(d.leadCreations.length, "lead record", "lead records");
    return "Found " + found + (d.complete ? "." : " so far: the account has more chats to read.");
  }

  function renderVisitor() {
    const d = visitor.data;
    $("v-result").hidden = false;
    $("v-result-h").textContent = "What sellchat holds about " + visitorName();
    const counts = $("v-counts");
    clear(counts);
    const records = new Set();
    for (const c of d.chats) for (const r of c.records || []) records.add(recordLabel(r));
    const lines = [
      ["chats", plural(d.chats.length, "stored chat", "stored chats")],
      ["entries", plural(d.entries.length, "feed entry", "feed entries") + " showing them in Sell" + (records.size ? " (" + Array.from(records).join(", ") + ")" : "")],
      ["notes", plural(d.notes.length, "Sell note", "Sell notes") + " sellchat created for them"],
      ["leadCreations", plural(d.leadCreations.length, "record", "records") + " kept about leads created from their chats"],
    ];
    for (const [k, text] of lines) counts.appendChild(el("li", { "data-count": k }, text));
    const list = $("v-chats");
    clear(list);
    for (const c of d.chats) {
      const where = (c.records || []).map(recordLabel).join(", ");
      list.appendChild(el("li", { "data-chat": c.id }, "Chat " + c.id + ", " + when(c.start) +
        (where ? ", in the feed of " + where : ", in no Sell feed") + (c.contentOmitted ? " (too large to include its text; it is erased all the same)" : "")));
    }
    $("v-scanned").textContent = "Read " + plural(d.scanned, "chat", "chats") + " of the account" +
      (d.complete ? ": all of them." : ". There are more: Read on looks through the next ones.");
    $("v-more").hidden = d.complete;
    offerDownload();
  }

  // offerDownload makes the merged answer a JSON file the admin can hand over.
  function offerDownload() {
    if (downloadURL) URL.revokeObjectURL(downloadURL);
    const blob = new Blob([JSON.stringify(visitor.data, null, 2)], { type: "application/json" });
    downloadURL = URL.createObjectURL(blob);
    const a = $("v-download");
    a.href = downloadURL;
    a.setAttribute("download", "sellchat-visitor-" + visitorName().replace(/[^A-Za-z0-9@._+-]/g, "_") + ".json");
    a.textContent = visitor.data.complete ? "Download the JSON" : "Download the JSON read so far";
  }

  let eraseQuery = null;

  function askToErase() {
    const q = visitorQuery();
    if (!q) return;
    eraseQuery = q;
    $("erase-who").textContent = describeQuery(q);
    const found = $("erase-found");
    if (visitor && sameQuery(visitor.query, q)) {
      found.textContent = visitorSummary() + " All of it is deleted" + (visitor.data.complete ? "." : ", with whatever the rest of the account's chats hold.");
      found.hidden = false;
    } else {
      found.hidden = true;
    }
    $("erase-dialog").showModal();
    $("erase-cancel").focus(); // the safe choice
  }

  function closeEraseDialog() {
    $("erase-dialog").close();
    $("v-erase").focus();
  }

  async function startErasure() {
    const q = eraseQuery;
    $("erase-dialog").close();
    if (!q) return;
    status("visitor-status", "saving", "Starting the erasure…");
    try {
      const job = await api("POST", "/privacy/erasures", q);
      status("visitor-status", "saved", "Erasure started.");
      noteChange();
      if (visitor && sameQuery(visitor.query, q)) {
        // What was shown is being deleted; keep no copy on the page.
        visitor = null;
        $("v-result").hidden = true;
        if (downloadURL) URL.revokeObjectURL(downloadURL);
        downloadURL = "";
      }
      followErasure(job, describeQuery(q));
      $("erasure-h").focus();
    } catch (e) {
      showVisitorError(e, "visitor-status");
      if (!(e.status === 422 && (e.field === "email" || e.field === "phone"))) $("v-erase").focus();
    }
  }

  // The erasure runs in the backend; the page asks how it is doing, more slowly the
  // longer it takes, until it is done. Only the latest followed erasure is polled.
  const ERASURE_POLL_FIRST = 800;
  const ERASURE_POLL_MAX = 5000;
  const ERASURE_POLL_FAILED = 10000;
  let erasurePoll = null;

  function followErasure(job, who) {
    if (erasurePoll) clearTimeout(erasurePoll.timer);
    erasurePoll = { id: job.id, who: who, wait: ERASURE_POLL_FIRST, timer: 0 };
    renderErasure(job, who);
    if (job.state !== "done") erasurePoll.timer = setTimeout(pollErasure, erasurePoll.wait);
  }

  async function pollErasure() {
    const p = erasurePoll;
    if (!p) return;
    try {
      const job = await api("GET", "/privacy/erasures/" + encodeURIComponent(p.id));
      if (erasurePoll !== p) return;
      renderErasure(job, p.who);
      if (job.state === "done") return;
      p.wait = job.state === "failed" ? ERASURE_POLL_FAILED : Math.min(ERASURE_POLL_MAX, Math.round(p.wait * 1.5));
    } catch (e) {
      if (erasurePoll !== p) return;
      erasureState("failed", "The erasure's progress could not be read: " + e.message + (e.status >= 400 && e.status < 500 ? "" : " Trying again…"));
      if (e.status >= 400 && e.status < 500) return;
      p.wait = ERASURE_POLL_FAILED;
    }
    p.timer = setTimeout(pollErasure, p.wait);
  }

  function erasureState(st, text) {
    const line = $("erasure-state");
    line.setAttribute("data-state", st);
    if (line.textContent !== text) line.textContent = text; // an unchanged line is not announced again
  }

  function renderErasure(job, who) {
    $("erasure").hidden = false;
    $("erasure").setAttribute("data-id", job.id);
    $("erasure-h").textContent = who ? "Erasure of " + who : "Erasure " + job.id + " (by " + (job.identifierKind || "identifier") + ")";
    const r = job.report || {};
    const texts = {
      pending: "Waiting to start…",
      running: "Erasing…",
      failed: "The last attempt failed" + (job.error ? ": " + job.error : "") + ". It is tried again by itself; this page keeps checking.",
      done: "Done" + (job.finishedAt ? " " + when(job.finishedAt) : "") + ": everything sellchat held about the visitor is deleted.",
    };
    erasureState(job.state, texts[job.state] || job.state);
    const done = job.state === "done";
    const report = $("erasure-report");
    clear(report);
    const verb = done ? "" : " so far";
    const lines = [
      ["chatsDeleted", plural(r.chatsDeleted || 0, "chat", "chats") + " deleted" + verb],
      ["entriesDeleted", plural(r.entriesDeleted || 0, "feed entry", "feed entries") + " deleted" + verb],
      ["notesDeleted", plural(r.notesDeleted || 0, "Sell note", "Sell notes") + " deleted from Sell" + verb],
      ["idempotencyRecordsCleared", plural(r.idempotencyRecordsCleared || 0, "record", "records") + " about lead creations cleared" + verb],
    ];
    for (const [k, text] of lines) report.appendChild(el("li", { "data-count": k, "data-value": String(r[k] || 0) }, text));
    const recs = (r.records || []).map(recordLabel);
    $("erasure-records").hidden = recs.length === 0;
    $("erasure-records").textContent = "The chats were in the Sell feeds of " + recs.join(", ") + ".";
    const keptBox = $("erasure-kept-box");
    keptBox.hidden = !done;
    const kept = $("erasure-kept");
    clear(kept);
    const sell = r.sellRecords || [];
    for (const s of sell) kept.appendChild(el("li", { "data-record": s.kind + ":" + s.id }, s.kind + " " + s.id));
    if (!sell.length) kept.appendChild(el("li", {}, "No Sell lead or contact matches the visitor."));
    $("erasure-kept-note").textContent = sell.length
      ? "These are your company's CRM records. If the request covers them, update or delete them in Sell."
      : "";
    $("erasure-tombstone").textContent = job.tombstoneUntil
      ? "Until " + when(job.tombstoneUntil) + ", chats from this visitor that arrive again are not stored."
      : "";
  }

  async function openErasure(id) {
    status("audit-status", "saving", "Loading the erasure…");
    try {
      const job = await api("GET", "/privacy/erasures/" + encodeURIComponent(id));
      status("audit-status", "", "");
      followErasure(job, null);
      $("erasure-h").focus();
    } catch (e) {
      status("audit-status", "failed", e.message);
    }
  }

  // ---- privacy: the audit trail ------------------------------------------------

  const AUDIT_PAGE = 20;
  const audit = { ids: new Set(), next: "", loaded: false };

  const ACTIONS = {
    "settings.update": "Changed the settings",
    "redaction.update": "Changed the redaction rules",
    "element.switch": "Switched an integration element",
    "webhook_secret.set": "Set the chat webhook's secret",
    "pool.mark": "Marked a pool",
    "pool.unmark": "Unmarked a pool",
    "widget.draft": "Edited a field display draft",
    "widget.publish": "Published a field display",
    "connection.sell": "Connected Sell",
    "connection.zendesk": "Connected Zendesk",
    "connection.chat": "Connected Chat",
    "integration.install": "Installed the integration",
    "integration.uninstall": "Uninstalled the integration",
    "notifications.set_up": "Set up Agent Workspace notifications",
    "notifications.remove": "Removed Agent Workspace notifications",
    "erasure.start": "Started erasing a visitor's data",
  };

  const FIELDS = {
    access: "Access",
    leadStatus: "Lead status",
    leadSourceId: "Lead source",
    owners: "Owners",
    allowAgentsAssignAnyOwner: "Agents may assign any owner",
    messagingInternalNotes: "Internal notes in messaging transcripts",
    redaction: "Redaction",
    retention: "Retention",
    enabled: "On",
    signInOnLoad: "Sign reps into Chat",
    pastChatsFrom: "Past chats from",
    identifierKind: "Visitor named by",
    identifierHash: "Visitor (keyed hash)",
  };

  // formatValue words one recorded value; the settings the Privacy section edits
  // read as sentences rather than JSON.
  function formatValue(field, v) {
    if (v === null || v === undefined) return "none";
    if (typeof v === "boolean") return field === "enabled" ? (v ? "on" : "off") : (v ? "yes" : "no");
    if (field === "redaction" && typeof v === "object") {
      const pats = (v.patterns || []).map((p) => p.name + " (" + p.pattern + ")");
      return (v.cardNumbers === false ? "card numbers not masked" : "card numbers masked") + "; " +
        (pats.length ? "patterns " + pats.join(", ") : "no patterns");
    }
    if (field === "retention" && typeof v === "object") {
      return v.days > 0 ? v.days + " days, Sell notes " + (v.deleteSellNotes ? "deleted" : "kept") : "forever";
    }
    if (field === "owners" && Array.isArray(v)) {
      return v.length ? v.map((o) => o.type + " " + o.id).join(", ") : "none";
    }
    const s = typeof v === "string" ? v : JSON.stringify(v);
    return s.length > 300 ? s.slice(0, 300) + "…" : s;
  }

  function auditItem(e) {
    const li = el("li", { tabindex: "-1", "data-id": e.id, "data-action": e.action });
    const head = el("p", { class: "head" });
    head.appendChild(el("span", { class: "what" }, ACTIONS[e.action] || e.action));
    if (e.target) head.appendChild(el("span", { class: "target" }, " · " + e.target));
    li.appendChild(head);
    const meta = el("p", { class: "meta" });
    const t = el("time", { datetime: e.at }, when(e.at));
    meta.appendChild(t);
    const a = e.actor || {};
    meta.appendChild(document.createTextNode(" · by " + (a.email || "user " + a.userId) + (a.role ? " (" + a.role + ")" : "") +
      (e.requestId ? " · request " + e.requestId : "")));
    li.appendChild(meta);
    const keys = Object.keys(e.changes || {}).sort();
    if (keys.length && e.action !== "erasure.start") {
      const ul = el("ul", { class: "changes" });
      for (const k of keys) {
        const c = e.changes[k] || {};
        const label = FIELDS[k] || k;
        const to = formatValue(k, c.to);
        const text = c.from === null || c.from === undefined ? label + ": " + to : label + ": " + formatValue(k, c.from) + " → " + to;
        ul.appendChild(el("li", { "data-field": k }, text));
      }
      li.appendChild(ul);
    }
    if (e.action === "erasure.start" && e.target) {
      const kind = e.changes && e.changes.identifierKind && e.changes.identifierKind.to;
      if (kind) meta.appendChild(document.createTextNode(" · visitor named by " + kind));
      const b = el("button", { type: "button", class: "small", "data-erasure": e.target }, "Show its report");
      b.addEventListener("click", () => openErasure(e.target));
      li.appendChild(b);
    }
    return li;
  }

  function renderAuditMore() {
    $("audit-more").hidden = !audit.next;
    $("audit-empty").hidden = audit.ids.size > 0;
  }

  // loadAudit (re)loads the first page.
  async function loadAudit() {
    status("audit-status", "saving", "Loading…");
    try {
      const page = await api("GET", "/audit?limit=" + AUDIT_PAGE);
      const list = $("audit-list");
      clear(list);
      audit.ids = new Set();
      for (const e of page.items) {
        audit.ids.add(e.id);
        list.appendChild(auditItem(e));
      }
      audit.next = page.nextCursor || "";
      audit.loaded = true;
      renderAuditMore();
      status("audit-status", "", "");
    } catch (e) {
      status("audit-status", "failed", "The audit trail could not be loaded: " + e.message);
    }
  }

  // loadMoreAudit appends the next page and puts the keyboard on its first entry.
  async function loadMoreAudit() {
    if (!audit.next) return;
    status("audit-status", "saving", "Loading…");
    try {
      const page = await api("GET", "/audit?limit=" + AUDIT_PAGE + "&cursor=" + encodeURIComponent(audit.next));
      let first = null;
      for (const e of page.items) {
        if (audit.ids.has(e.id)) continue;
        audit.ids.add(e.id);
        const li = auditItem(e);
        $("audit-list").appendChild(li);
        first = first || li;
      }
      audit.next = page.nextCursor || "";
      renderAuditMore();
      status("audit-status", "", page.items.length + " more");
      if (first) first.focus();
      else if (!audit.next) $("audit-refresh").focus();
    } catch (e) {
      status("audit-status", "failed", e.message);
    }
  }

  // refreshAudit puts entries made since the list was loaded at its top, keeping
  // the pages the admin loaded; when it cannot tell where the new ones end, it loads
  // the list afresh.
  async function refreshAudit() {
    if (!audit.loaded) return loadAudit();
    try {
      const page = await api("GET", "/audit?limit=" + AUDIT_PAGE);
      const wasEmpty = audit.ids.size === 0;
      const fresh = [];
      let joined = false;
      for (const e of page.items) {
        if (audit.ids.has(e.id)) { joined = true; break; }
        fresh.push(e);
      }
      if (!joined && !wasEmpty && page.nextCursor) return loadAudit();
      const list = $("audit-list");
      for (let i = fresh.length - 1; i >= 0; i--) {
        audit.ids.add(fresh[i].id);
        list.insertBefore(auditItem(fresh[i]), list.firstChild);
      }
      if (wasEmpty) audit.next = page.nextCursor || "";
      renderAuditMore();
    } catch (e) {
      status("audit-status", "failed", "The audit trail could not be refreshed: " + e.message);
    }
  }

  // noteChange refreshes the trail shortly after the page changed something, once
  // for a burst of changes.
  let auditTimer = 0;
  function noteChange() {
    clearTimeout(auditTimer);
    auditTimer = setTimeout(refreshAudit, 400);
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
    $("aw-internal").addEventListener("change", (ev) => patchSettings({ messagingInternalNotes: ev.target.checked }, "aw-status"));
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

    $("red-cards").addEventListener("change", onRedactionEdit);
    $("red-patterns").addEventListener("input", onRedactionEdit);
    $("red-patterns").addEventListener("click", (ev) => {
      const b = ev.target.closest('button[data-action="remove-pattern"]');
      if (b) removePattern(b.closest("li"));
    });
    $("red-add").addEventListener("click", addPattern);
    $("red-save").addEventListener("click", saveRedaction);
    $("red-reset").addEventListener("click", undoRedaction);
    $("try-text").addEventListener("input", schedulePreview);

    for (const id of ["ret-forever", "ret-limited", "ret-notes"]) $(id).addEventListener("change", onRetentionEdit);
    $("ret-days").addEventListener("input", onRetentionEdit);
    $("ret-save").addEventListener("click", saveRetention);

    $("visitor-form").addEventListener("submit", showVisitor);
    for (const id of ["v-email", "v-phone"]) $(id).addEventListener("input", (ev) => setFieldError(ev.target, ""));
    $("v-more").addEventListener("click", readOn);
    $("v-download").addEventListener("click", (ev) => { if (!downloadURL) ev.preventDefault(); });
    $("v-erase").addEventListener("click", askToErase);
    $("erase-confirm").addEventListener("click", startErasure);
    $("erase-cancel").addEventListener("click", closeEraseDialog);
    $("erase-dialog").addEventListener("cancel", () => setTimeout(() => $("v-erase").focus(), 0));

    $("audit-more").addEventListener("click", loadMoreAudit);
    $("audit-refresh").addEventListener("click", loadAudit);
  }

  wire();
  token = takeToken();
  if (token) start();
  else showSignIn("");
})();
