/* The return page: poll the payment status, show access the moment it is granted, report ui-ack.

   It never stops at a verdict that may still change: a declined card can be followed by a successful retry
   on the same card page (SUCCESS after FAILURE), and access can be revoked or restored by an operator. So it
   keeps checking in every state (quickly while waiting, at least every 5 s for the first minutes after a
   failure, every 10 s once access is shown) for up to 30 minutes. */
(function () {
  "use strict";
  var root = document.getElementById("payment-state");
  if (!root) { return; }
  var statusUrl = root.getAttribute("data-status-url");
  var ackUrl = root.getAttribute("data-ack-url");
  var started = Date.now();
  var delay = 300;
  var acked = false;
  var lastReceipt = null;

  function stateOf(data) {
    if (data.payment_status === "succeeded" && data.enrollment_status === "active") { return "granted"; }
    if (data.payment_status === "succeeded" && data.enrollment_status === "revoked") { return "revoked"; }
    if (data.payment_status === "failed" || data.payment_status === "manual_review") { return data.payment_status; }
    return null;  // no verdict yet: keep what the page shows (confirming, or the gateway's cancel/failure hint)
  }

  function fillReceipt() {
    if (!lastReceipt) { return; }
    var fields = root.querySelectorAll("[data-receipt]");
    for (var i = 0; i < fields.length; i += 1) {
      var value = lastReceipt[fields[i].getAttribute("data-receipt")];
      if (value) { fields[i].textContent = value; }
    }
  }

  // The receipt (amount, reference, date in the business's zone) is rendered by the server: once access
  // appears, read it from this page's own HTML rather than format a date here.
  function loadReceipt() {
    if (lastReceipt) { fillReceipt(); return; }
    fetch(window.location.pathname, {cache: "no-store", credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) { return; }
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("payment-state");
        if (!fresh || fresh.getAttribute("data-state") !== "granted") { return; }
        lastReceipt = {};
        var fields = fresh.querySelectorAll("[data-receipt]");
        for (var i = 0; i < fields.length; i += 1) {
          lastReceipt[fields[i].getAttribute("data-receipt")] = fields[i].textContent;
        }
        fillReceipt();
      })
      .catch(function () { return null; });
  }

  function show(state) {
    if (root.getAttribute("data-state") === state) { return; }
    var template = document.getElementById("state-" + state);
    if (!template) { return; }
    root.replaceChildren(template.content.cloneNode(true));
    root.setAttribute("data-state", state);
    if (state === "granted") { loadReceipt(); }
    document.getElementById("slow-note").hidden = true;
  }

  function acknowledge(triesLeft) {
    if (acked) { return; }
    acked = true;
    fetch(ackUrl, {method: "POST", headers: {"Accept": "application/json"}, keepalive: true, credentials: "same-origin"})
      .then(function (response) {
        if (!response.ok && response.status >= 500 && triesLeft > 0) {
          acked = false;
          setTimeout(function () { acknowledge(triesLeft - 1); }, 1000);
        }
      })
      .catch(function () {
        acked = false;
        if (triesLeft > 0) { setTimeout(function () { acknowledge(triesLeft - 1); }, 1000); }
      });
  }

  function nextDelay(state) {
    var waited = Date.now() - started;
    if (state === "granted" || state === "revoked") { return 10000; }  // follow an operator's revoke or restore
    if (state === "manual_review") { return 15000; }  // a person decides; check now and then
    if (state === "failed" || state === "cancelled") { return waited < 5 * 60000 ? 3000 : 10000; }
    if (waited > 60000) {
      document.getElementById("slow-note").hidden = false;
      return 5000;
    }
    // Quick while the callback usually lands (the UI-update stage is timed from access to ack).
    delay = Math.min(delay * 1.25, waited < 20000 ? 1000 : 2000);
    return delay;
  }

  function poll() {
    if (Date.now() - started > 30 * 60 * 1000) { return; }
    fetch(statusUrl, {headers: {"Accept": "application/json"}, cache: "no-store", credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        var state = (data && stateOf(data)) || root.getAttribute("data-state");
        show(state);
        if (state === "granted") { acknowledge(2); }
        setTimeout(poll, nextDelay(state));
      })
      .catch(function () { setTimeout(poll, nextDelay(root.getAttribute("data-state"))); });
  }

  if (root.getAttribute("data-state") === "granted") { acknowledge(2); }
  setTimeout(poll, delay);
}());
