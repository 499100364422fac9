/* cardpay admin charts: small SVG line charts drawn from the JSON the dashboard embeds.
   Served by cardpay itself (no CDN), so the dashboard works offline and under a strict CSP. */
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var COLOURS = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c"];
  var NAMED = {attempted: "#2563eb", succeeded: "#16a34a", failed: "#dc2626"};
  var W = 520, H = 200, PAD = {l: 48, r: 12, t: 12, b: 28};

  function el(name, attrs, parent) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(node);
    return node;
  }

  function label(text, x, y, anchor, parent) {
    var t = el("text", {x: x, y: y, "text-anchor": anchor || "start", "class": "axis"}, parent);
    t.textContent = text;
    return t;
  }

  function clock(iso) { return iso.slice(11, 16); }

  function colour(line, n) { return NAMED[line.name] || COLOURS[n % COLOURS.length]; }

  function tick(value) { return value >= 10 ? String(Math.round(value)) : String(Math.round(value * 10) / 10); }

  function draw(container, times, lines) {
    var values = [];
    lines.forEach(function (line) { line.values.forEach(function (v) { if (v !== null) values.push(v); }); });
    var top = Math.max.apply(null, values.concat([1]));
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, width: "100%", "class": "chart-svg"}, container);
    var x = function (i) { return PAD.l + (W - PAD.l - PAD.r) * (times.length > 1 ? i / (times.length - 1) : 0.5); };
    var y = function (v) { return H - PAD.b - (H - PAD.t - PAD.b) * v / top; };
    [0, 0.5, 1].forEach(function (f) {
      el("line", {x1: PAD.l, x2: W - PAD.r, y1: y(top * f), y2: y(top * f), "class": "grid"}, svg);
      label(tick(top * f), PAD.l - 6, y(top * f) + 4, "end", svg);
    });
    [0, Math.floor((times.length - 1) / 2), times.length - 1].forEach(function (i) {
      if (times[i]) label(clock(times[i]), x(i), H - 8, "middle", svg);
    });
    lines.forEach(function (line, n) {
      var points = [];
      line.values.forEach(function (v, i) {
        if (v === null) return;
        points.push(x(i) + "," + y(v));
        // A dot per non-empty bucket, so a lone measurement still shows.
        if (v > 0) el("circle", {cx: x(i), cy: y(v), r: 2.5, fill: colour(line, n)}, svg);
      });
      if (points.length) {
        el("polyline", {points: points.join(" "), fill: "none", stroke: colour(line, n),
                        "stroke-width": 2, "data-series": line.name}, svg);
      }
    });
    var legend = document.createElement("p");
    legend.className = "legend";
    lines.forEach(function (line, n) {
      var key = document.createElement("span");
      key.style.borderColor = colour(line, n);
      key.textContent = line.name;
      legend.appendChild(key);
    });
    container.appendChild(legend);
  }

  function series(obj) {
    return Object.keys(obj).map(function (name) { return {name: name, values: obj[name]}; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("dashboard-data");
    if (!source) return;
    var data = JSON.parse(source.textContent);
    document.querySelectorAll("[data-chart]").forEach(function (container) {
      var which = container.getAttribute("data-chart");
      var lines = which === "payments" ? series(data.payments)
        : which === "errors" ? [{name: "error rate %", values: data.error_rate_pct}] : series(data.stage_avg_ms);
      draw(container, data.times, lines);
      container.setAttribute("data-drawn", "true");
    });
  });
})();
