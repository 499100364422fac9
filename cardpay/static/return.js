/* The return page: poll the payment status, show access the moment it is granted, report ui-ack. */
(function () {
  "use strict";
  var root = document.getElementById("payment-state");
  if (!root) { return; }
  var statusUrl = root.getAttribute("data-status-url");
  var ackUrl = root.getAttribute("data-ack-url");
  var started = Date.now();
  var delay = 300;
  var acked = false;

  function stateOf(data) {
    if (data.payment_status === "succeeded" && data.enrollment_status === "active") { return "granted"; }
    if (data.payment_status === "succeeded" && data.enrollment_status === "revoked") { return "revoked"; }
    if (data.payment_status === "failed" || data.payment_status === "manual_review") { return data.payment_status; }
    return "confirming";
  }

  function show(state) {
    if (root.getAttribute("data-state") === state) { return; }
    var template = document.getElementById("state-" + state);
    if (!template) { return; }
    root.replaceChildren(template.content.cloneNode(true));
    root.setAttribute("data-state", state);
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
    if (state === "manual_review") { return 15000; }  // a person decides; check now and then
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
        var state = data ? stateOf(data) : root.getAttribute("data-state");
        show(state);
        if (state === "granted") { acknowledge(2); return; }
        if (state === "confirming" || state === "manual_review") { setTimeout(poll, nextDelay(state)); }
      })
      .catch(function () { setTimeout(poll, nextDelay(root.getAttribute("data-state"))); });
  }

  var initial = root.getAttribute("data-state");
  if (initial === "granted") { acknowledge(2); }
  else if (initial === "confirming" || initial === "manual_review") { setTimeout(poll, delay); }
}());
