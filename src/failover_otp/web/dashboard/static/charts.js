/* failover-otp dashboard: the charts, drawn with the vendored Chart.js from /dashboard/stats.json
 * and redrawn in place every data-refresh-ms milliseconds. */
(function () {
  "use strict";
  var box = document.getElementById("charts");
  if (!box || typeof Chart === "undefined") { return; }

  var COLORS = { viber: "#7360f2", sms: "#0f9d8a", voice: "#e08a00", other: "#8a8f98" };
  var SMS_ONLY = "#d0463c";
  var charts = {};
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = "#4a5060";

  function color(channel) { return COLORS[channel] || COLORS.other; }
  function pct(v) { return v === null || v === undefined ? null : Math.round(v * 1000) / 10; }
  function name(channel) { return channel === "sms" ? "SMS" : channel.charAt(0).toUpperCase() + channel.slice(1); }

  function draw(name, config) {
    var canvas = box.querySelector('canvas[data-chart="' + name + '"]');
    if (!canvas) { return; }
    if (charts[name]) {
      charts[name].data = config.data;
      charts[name].options = config.options;
      charts[name].update();
    } else {
      charts[name] = new Chart(canvas, config);
    }
    canvas.setAttribute("data-rendered", "true");
  }

  function deliveryChart(stats) {
    var rows = stats.channels;
    draw("delivery", {
      type: "bar",
      data: {
        labels: rows.map(function (c) { return name(c.channel); }),
        datasets: [{
          label: "delivered / ended (%)",
          data: rows.map(function (c) { return pct(c.delivery_rate); }),
          backgroundColor: rows.map(function (c) { return color(c.channel); }),
        }],
      },
      options: {
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { afterLabel: function (item) {
            var c = rows[item.dataIndex];
            return c.delivered + " delivered, " + c.failed + " failed, " + c.pending + " pending";
          } } },
        },
        scales: { y: { min: 0, max: 100, title: { display: true, text: "%" } } },
      },
    });
  }

  function failoverChart(stats) {
    var days = stats.days;
    draw("failover", {
      data: {
        labels: days.map(function (d) { return d.day; }),
        datasets: [
          { type: "bar", label: "flows", data: days.map(function (d) { return d.flows; }),
            backgroundColor: "#c9cfe0", yAxisID: "y", order: 2 },
          { type: "line", label: "failover rate (%)", data: days.map(function (d) { return pct(d.failover_rate); }),
            borderColor: SMS_ONLY, backgroundColor: SMS_ONLY, yAxisID: "rate", tension: 0.2, pointRadius: 5, order: 1 },
        ],
      },
      options: {
        scales: {
          y: { beginAtZero: true, title: { display: true, text: "flows" }, ticks: { precision: 0 } },
          rate: { position: "right", min: 0, max: 100, grid: { drawOnChartArea: false },
                  title: { display: true, text: "failover %" } },
        },
      },
    });
  }

  function latencyChart(stats) {
    var countries = [];
    var channels = [];
    stats.latency.forEach(function (l) {
      if (countries.indexOf(l.country) < 0) { countries.push(l.country); }
      if (channels.indexOf(l.channel) < 0) { channels.push(l.channel); }
    });
    draw("latency", {
      type: "bar",
      data: {
        labels: countries,
        datasets: channels.map(function (channel) {
          return {
            label: name(channel),
            backgroundColor: color(channel),
            data: countries.map(function (country) {
              var hit = stats.latency.filter(function (l) { return l.channel === channel && l.country === country; })[0];
              return hit ? hit.median_ms / 1000 : null;
            }),
          };
        }),
      },
      options: { scales: { y: { beginAtZero: true, title: { display: true, text: "seconds (median)" } } } },
    });
  }

  function costChart(stats) {
    var days = stats.days;
    var channels = [];
    days.forEach(function (d) {
      Object.keys(d.cost).forEach(function (c) { if (channels.indexOf(c) < 0) { channels.push(c); } });
    });
    var datasets = channels.map(function (channel) {
      return { type: "bar", label: name(channel), stack: "actual", backgroundColor: color(channel), order: 2,
               data: days.map(function (d) { return d.cost[channel] || 0; }) };
    });
    datasets.push({ type: "line", label: "SMS only", borderColor: SMS_ONLY, backgroundColor: SMS_ONLY,
                    pointRadius: 5, order: 1, data: days.map(function (d) { return d.sms_only_cost; }) });
    draw("cost", {
      data: { labels: days.map(function (d) { return d.day; }), datasets: datasets },
      options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: "cost (" + (stats.currency || "") + ")" } } } },
    });
  }

  // One request at a time; the next waits at least 4 times what the last one took (and
  // doubles after a failure, up to a minute), as dashboard.js does for the table.
  var every = parseInt(box.getAttribute("data-refresh-ms"), 10) || 10000;
  var failures = 0;
  function load() {
    if (document.hidden) { window.setTimeout(load, every); return; }
    var started = performance.now();
    fetch(box.getAttribute("data-stats-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (stats) {
        failures = 0;
        deliveryChart(stats);
        failoverChart(stats);
        latencyChart(stats);
        costChart(stats);
        box.setAttribute("data-loaded-at", new Date().toISOString());
      })
      .catch(function () { failures = Math.min(failures + 1, 6); })
      .then(function () {
        var wait = Math.max(every, 4 * (performance.now() - started)) * Math.pow(2, failures);
        window.setTimeout(load, Math.min(wait, 60000));
      });
  }

  load();
})();
