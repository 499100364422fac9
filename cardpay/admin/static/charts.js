/* cardpay admin charts: uPlot (vendor/uPlot.iife.min.js, served by cardpay itself) drawn from the JSON block
   the dashboard embeds (<script type="application/json" id="dashboard-data">), so the dashboard works offline
   and under the strict CSP (script-src 'self', no inline script; uPlot styles elements through the CSSOM,
   which style-src does not restrict).

   Times are shown in DISPLAY_TIMEZONE (the section's data-zone): ticks carry the date on multi-day windows
   and on a change of day, the legend shows the hovered bucket's values, and each chart redraws to its
   container's width. The drawn tick labels are copied to data-x-ticks so tests and people can read them. */
(function () {
  "use strict";
  var COLOURS = {attempted: "#2563eb", succeeded: "#16a34a", failed: "#dc2626"};
  var PALETTE = ["#2563eb", "#16a34a", "#dc2626", "#9333ea", "#ea580c"];
  var LABELS = {attempted: "Attempted", succeeded: "Paid", failed: "Declined",
                webhook_processing: "Callback processing", payment_detection: "Payment detection",
                approval_processing: "Approval", ui_update: "Page update", end_to_end: "End to end"};
  var FONT = "12px system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";

  function formatter(zone) {
    var format = new Intl.DateTimeFormat("en-GB", {timeZone: zone, day: "numeric", month: "short",
                                                   hour: "2-digit", minute: "2-digit", hourCycle: "h23"});
    return function (seconds) {
      var parts = {};
      format.formatToParts(new Date(seconds * 1000)).forEach(function (p) { parts[p.type] = p.value; });
      return {date: parts.day + " " + parts.month, time: parts.hour + ":" + parts.minute};
    };
  }

  function xValues(range, parts) {
    return function (u, splits) {
      var lastDate = null;
      return splits.map(function (s, i) {
        var p = parts(s);
        var label;
        if (range === "7d") {
          label = p.time === "00:00" ? p.date : p.date + "\n" + p.time;
        } else if (range === "24h") {
          label = (i === 0 || p.date !== lastDate) ? p.time + "\n" + p.date : p.time;
        } else {
          label = p.time;
        }
        lastDate = p.date;
        return label;
      });
    };
  }

  function number(digits, unit) {
    return function (u, v) {
      return v === null || v === undefined ? "—" : v.toLocaleString("en-ZA", {maximumFractionDigits: digits}) + unit;
    };
  }

  function lines(data, which) {
    if (which === "payments") {
      return ["attempted", "succeeded", "failed"].map(function (name) {
        return {name: name, values: data.payments[name], digits: 0, unit: ""};
      });
    }
    if (which === "errors") {
      return [{name: "error rate", values: data.error_rate_pct, digits: 2, unit: " %"}];
    }
    return Object.keys(data.stage_avg_ms).map(function (name) {
      return {name: name, values: data.stage_avg_ms[name], digits: 0, unit: " ms"};
    });
  }

  function draw(container, data, range, zone) {
    var parts = formatter(zone);
    var times = data.times.map(function (iso) { return Date.parse(iso) / 1000; });
    var series = lines(data, container.getAttribute("data-chart"));
    var opts = {
      width: Math.max(container.clientWidth, 200), height: 220,
      padding: [12, 28, 0, 4],
      tzDate: function (ts) { return uPlot.tzDate(new Date(ts * 1000), zone); },
      cursor: {points: {size: 7}, drag: {x: false, y: false}},
      legend: {live: true},
      scales: {x: {time: true}, y: {range: function (u, min, max) { return [0, Math.max(max || 0, 1) * 1.1]; }}},
      axes: [
        {font: FONT, size: 46, space: range === "7d" ? 64 : 56, gap: 6, stroke: "#374151",
         grid: {stroke: "#e5e7eb"}, ticks: {stroke: "#d1d5db"}, values: xValues(range, parts)},
        {font: FONT, size: 52, gap: 6, stroke: "#374151", grid: {stroke: "#e5e7eb"}, ticks: {stroke: "#d1d5db"},
         values: function (u, splits) { return splits.map(function (v) { return v.toLocaleString("en-ZA"); }); }}
      ],
      series: [{label: "Time", value: function (u, v) {
        if (v === null || v === undefined) { return "—"; }
        var p = parts(v);
        return p.date + " " + p.time;
      }}].concat(series.map(function (line, n) {
        return {label: LABELS[line.name] || line.name.charAt(0).toUpperCase() + line.name.slice(1),
                stroke: COLOURS[line.name] || PALETTE[n % PALETTE.length], width: 2, spanGaps: true,
                points: {size: 5}, value: number(line.digits, line.unit)};
      })),
      hooks: {draw: [function (u) {
        container.setAttribute("data-x-ticks", JSON.stringify(u.axes[0]._values || []));
        container.setAttribute("data-drawn", "true");
      }]}
    };
    var plot = new uPlot(opts, [times].concat(series.map(function (line) { return line.values; })), container);
    if (window.ResizeObserver) {
      new ResizeObserver(function () {
        var width = Math.max(container.clientWidth, 200);
        if (width !== plot.width) { plot.setSize({width: width, height: 220}); }
      }).observe(container);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var source = document.getElementById("dashboard-data");
    var section = document.querySelector("section.charts");
    if (!source || !section || typeof uPlot === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var range = section.getAttribute("data-window");
    var zone = section.getAttribute("data-zone") || "UTC";
    section.querySelectorAll("[data-chart]").forEach(function (container) {
      draw(container, data, range, zone);
    });
  });
})();
