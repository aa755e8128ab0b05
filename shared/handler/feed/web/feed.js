// The Chat app in Sell: shows one record's chat history. Sell loads this page in an
// iframe on a record's card; the page asks the apps framework which record that is
// (recordFromZendesk) and falls back to ?resourceType=&resourceId= (make run, tests, a
// host that builds the iframe URL itself). The JWT comes in the fragment (#token=…),
// which never reaches a server log; the token is kept in sessionStorage for this tab
// only. Chat text is untrusted: it is only ever set with textContent.
"use strict";

(function () {
  const KEY = "sellchat.token";
  const params = new URLSearchParams(location.search);
  let resourceType = params.get("resourceType") || "";
  let resourceId = params.get("resourceId") || "";
  const $ = (id) => document.getElementById(id);
  const status = (text) => { $("status").textContent = text; };
  let cursor = "";

  function takeToken() {
    const frag = new URLSearchParams(location.hash.slice(1));
    const t = frag.get("token");
    if (t) {
      sessionStorage.setItem(KEY, t);
      history.replaceState(null, "", location.pathname + location.search);
    }
    return sessionStorage.getItem(KEY) || "";
  }

  function fmtTime(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return isNaN(d) ? "" : d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  function fmtDuration(s) {
    if (!s) return "";
    const m = Math.floor(s / 60), r = s % 60;
    return m ? m + " min " + r + " s" : r + " s";
  }

  function fact(dl, label, value) {
    if (!value) return;
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    dd.textContent = value;
    dl.append(dt, dd);
  }

  function renderMessage(m) {
    const li = document.createElement("li");
    const at = document.createElement("time");
    at.dateTime = m.at;
    at.textContent = m.at ? new Date(m.at).toLocaleTimeString(undefined, { timeStyle: "short" }) : "";
    const from = document.createElement("span");
    from.className = "from";
    from.textContent = m.from + ":";
    const text = document.createElement("span");
    text.className = "text";
    text.textContent = m.text;
    li.append(at, from, text);
    if (m.textTruncated) {
      const cut = document.createElement("span");
      cut.className = "cut muted";
      cut.textContent = " (message shortened)";
      li.append(cut);
    }
    return li;
  }

  // fetchJSON calls the API with the agent's token: {ok, status, body, message}.
  async function fetchJSON(url) {
    const token = sessionStorage.getItem(KEY);
    let res;
    try {
      res = await fetch(url, { headers: { Authorization: "Bearer " + token } });
    } catch (e) {
      return { ok: false, status: 0, body: {}, message: "Could not reach sellchat. Try again later." };
    }
    const body = await res.json().catch(() => ({}));
    return { ok: res.ok, status: res.status, body, message: body.error && body.error.message };
  }

  function render(item) {
    const node = $("chat-template").content.firstElementChild.cloneNode(true);
    node.dataset.chatId = item.chatId;
    const title = node.querySelector(".title");
    title.textContent = item.visitor.name || item.visitor.email || "Visitor";
    const badge = document.createElement("span");
    badge.className = "badge" + (item.type === "offline_msg" ? " offline" : "") + (item.channel ? " messaging" : "");
    badge.textContent = item.channel ? (item.channelLabel || item.channel) : item.type === "offline_msg" ? "Offline message" : "Chat";
    if (item.channel) badge.dataset.channel = item.channel;
    title.append(badge);
    const when = node.querySelector(".when");
    const t = document.createElement("time");
    t.dateTime = item.start;
    t.textContent = fmtTime(item.start);
    when.append(t);
    if (item.durationSeconds) when.append(" · " + fmtDuration(item.durationSeconds));
    const dl = node.querySelector(".facts");
    fact(dl, "Email", item.visitor.email);
    fact(dl, "Phone", item.visitor.phone);
    fact(dl, "Agents", (item.agents || []).join(", "));
    fact(dl, "Department", item.department);
    fact(dl, "Rating", [item.rating, item.comment].filter(Boolean).join(": "));
    fact(dl, "Tags", (item.tags || []).join(", "));
    const ol = node.querySelector(".messages");
    for (const m of item.messages || []) ol.append(renderMessage(m));
    if (item.truncated && item.messagesCursor) {
      const more = node.querySelector(".rest");
      let cursor = item.messagesCursor;
      const left = () => (item.messageCount || 0) - ol.children.length;
      const label = () => { more.textContent = "Show the rest (" + left() + " more " + (left() === 1 ? "message" : "messages") + ")"; };
      label();
      more.hidden = false;
      more.addEventListener("click", async () => {
        more.disabled = true;
        const note = node.querySelector(".rest-status");
        note.textContent = "Loading…";
        // Page after page until the transcript ends: each answer is bounded in size.
        while (cursor) {
          const page = await fetchJSON("/feed/chats/" + encodeURIComponent(item.chatId) + "/messages?" +
            new URLSearchParams({ resourceType, resourceId, cursor }));
          if (!page.ok) {
            note.textContent = page.message || "The rest of this chat could not be loaded.";
            more.disabled = false;
            return;
          }
          if (!page.body.historyVisible) {
            note.textContent = "Chat history in Sell is turned off.";
            more.hidden = true;
            return;
          }
          for (const m of page.body.messages || []) ol.append(renderMessage(m));
          cursor = page.body.nextCursor || "";
          label();
        }
        note.textContent = "";
        more.hidden = true;
      });
    }
    return node;
  }

  async function load() {
    const token = sessionStorage.getItem(KEY);
    if (!token) return showSignIn();
    const q = new URLSearchParams({ resourceType, resourceId });
    if (cursor) q.set("cursor", cursor);
    status("Loading…");
    let res;
    try {
      res = await fetch("/feed?" + q, { headers: { Authorization: "Bearer " + token } });
    } catch (e) {
      return status("Could not reach sellchat. Try again later.");
    }
    const body = await res.json().catch(() => ({}));
    if (res.status === 401) {
      sessionStorage.removeItem(KEY);
      return showSignIn();
    }
    if (!res.ok) {
      return status((body.error && body.error.message) || "The chat history could not be loaded.");
    }
    if (!body.historyVisible) {
      $("more").hidden = true;
      return status("Chat history in Sell is turned off. An admin can turn it on in the integration's settings.");
    }
    for (const item of body.items) $("chats").append(render(item));
    cursor = body.nextCursor || "";
    $("more").hidden = !cursor;
    status($("chats").children.length ? "" : "No chats with this record yet.");
  }

  function showSignIn() {
    status("Sign in to see this record's chats.");
    $("signin").hidden = false;
  }

  async function signIn(ev) {
    ev.preventDefault();
    const form = ev.target;
    const res = await fetch("/dev/token", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ account: form.account.value.trim(), userId: "local", name: form.name.value.trim(), role: "agent" }),
    }).catch(() => null);
    const body = res ? await res.json().catch(() => ({})) : {};
    if (!res || !res.ok || !body.token) {
      return status("Local sign-in is only on the local stack; open this page from the Chat app in Sell.");
    }
    sessionStorage.setItem(KEY, body.token);
    form.hidden = true;
    load();
  }

  // The Sell card's record, by the path its location exposes: lead.id on a lead card,
  // contact.id on a person or company card (a company is a contact in Sell), deal.id
  // on a deal card. ASSUMED (shared/reference/zendesk-surface.md §2, 🟡): deal.id is
  // what Zendesk's own Sell sample apps read; lead.id and contact.id follow from the
  // lead and contact objects the lead_card and person_card docs name, by analogy,
  // unconfirmed against Sell. One bulk get asks for all three: it answers the paths
  // the card has and lists the others under errors, so the card decides.
  const recordPaths = [["lead", "lead.id"], ["contact", "contact.id"], ["deal", "deal.id"]];

  async function recordFromZendesk(client) {
    const got = await client.get(recordPaths.map(([, path]) => path)).catch(() => null);
    for (const [type, path] of recordPaths) {
      const id = got && got[path];
      if (id != null && id !== "") return { type, id: String(id) };
    }
    return null;
  }

  document.addEventListener("DOMContentLoaded", async () => {
    $("signin").addEventListener("submit", signIn);
    $("more").addEventListener("click", load);
    takeToken();
    // zaf.js settles with the ZAFClient when Zendesk opened the page, else null.
    const client = await (window.sellchatZAF || Promise.resolve(null));
    const record = client && await recordFromZendesk(client);
    if (record) ({ type: resourceType, id: resourceId } = record);
    $("record").textContent = resourceType && resourceId ? "Sell " + resourceType + " " + resourceId : "";
    if (!/^(lead|contact|deal)$/.test(resourceType) || !/^[0-9]+$/.test(resourceId)) {
      return status("This page needs a Sell record: open it on a Sell card, or give ?resourceType=lead|contact|deal&resourceId=….");
    }
    load();
  });
})();
