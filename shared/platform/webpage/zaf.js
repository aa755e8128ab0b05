// zaf.js: the Zendesk apps framework's SDK, loaded only when Zendesk opened the page.
// Served with every page by shared/platform/webpage; a page includes it (defer) before
// its own script and waits on window.sellchatZAF, a promise of the ZAFClient client,
// or of null when there is none.
//
// Zendesk opens an app's iframe with ?origin=&app_guid= (the signed entry keeps both
// through its redirect), and ZAFClient.init() reads them to find its parent frame.
// Without them there is no parent to talk to: the page works on its own (query string,
// local sign-in) and nothing is loaded.
//
// Where the SDK comes from: Zendesk's CDN, the URL its docs give (webpage.ZAFSDKURL;
// the CSP allows that host beside 'self'). A page served from the loopback address is
// the local stack (make run, the browser tests), which has no way to the CDN: it takes
// the pinned copy its gateway serves (webpage.LocalZAFSDKPath, infra/zafsdk).
(function () {
  "use strict";

  var CDN = "https://static.zdassets.com/zendesk_app_framework_sdk/2.0/zaf_sdk.min.js";
  var LOCAL = "/vendor/zaf_sdk.js";
  var q = new URLSearchParams(window.location.search);

  window.sellchatZAF = new Promise(function (resolve) {
    if (!q.get("origin") || !q.get("app_guid")) { resolve(null); return; }
    var local = /^(127\.0\.0\.1|localhost|\[::1\])$/.test(window.location.hostname);
    var s = document.createElement("script");
    s.src = local ? LOCAL : CDN;
    s.onload = function () {
      var client = null;
      try {
        // init starts the handshake with the parent; it answers false without origin.
        client = (window.ZAFClient && window.ZAFClient.init()) || null;
      } catch (e) {
        client = null;
      }
      resolve(client);
    };
    s.onerror = function () { resolve(null); };
    document.head.appendChild(s);
  });
})();
