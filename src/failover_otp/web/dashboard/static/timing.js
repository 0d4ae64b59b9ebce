/* failover-otp dashboard: the delivery-time curves and the what-if replay (/dashboard/timing),
 * drawn with the vendored Chart.js from /dashboard/timing.json. */
(function () {
  "use strict";
  var box = document.getElementById("timing");
  if (!box || typeof Chart === "undefined") { return; }
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;
  var charts = {};

  function draw(name, config) {
    var canvas = document.querySelector('canvas[data-chart="' + name + '"]');
    if (charts[name]) { charts[name].destroy(); }
    charts[name] = new Chart(canvas, config);
    canvas.setAttribute("data-rendered", "true");
  }
  function label(m) {
    return [m.channel, m.country || "all countries", m.operator || (m.country ? "all operators" : "")]
      .filter(Boolean).join(" / ");
  }
  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "-" : String(text);
    row.appendChild(td);
  }
  function pct(v) { return v === null || v === undefined ? null : (Math.round(v * 1000) / 10) + " %"; }

  function curve(models, index) {
    // Without history yet, an empty chart says so rather than leaving a blank box.
    var m = models[index] || { channel: "no history yet", curve: [] };
    draw("curve", {
      type: "line",
      data: { datasets: [{ label: label(m) + " (delivered share, %)",
        data: m.curve.map(function (p) { return { x: p.seconds, y: Math.round(p.deliveredShare * 1000) / 10 }; }),
        borderColor: "#7360f2", stepped: false }] },
      options: { scales: { x: { type: "logarithmic", title: { display: true, text: "seconds after the send" } },
        y: { min: 0, max: 100, title: { display: true, text: "% delivered" } } } }
    });
  }

  function render(data) {
    var select = document.getElementById("timing-key");
    var body = document.querySelector("#timing-models tbody");
    select.textContent = ""; body.textContent = "";
    data.models.forEach(function (m, i) {
      var option = document.createElement("option");
      option.value = String(i); option.textContent = label(m) + " (" + m.samples + ")";
      select.appendChild(option);
      var row = document.createElement("tr");
      [m.channel, m.country, m.operator, m.samples, pct(m.deliveredShare), m.medianSeconds, m.p95Seconds]
        .forEach(function (v) { cell(row, v); });
      body.appendChild(row);
    });
    select.onchange = function () { curve(data.models, Number(select.value)); };
    curve(data.models, 0);

    var replay = data.replay;
    document.getElementById("replay-summary").textContent = replay.flows + " Viber → SMS flows replayed (" +
      replay.skipped + " other flows skipped). Replay uses only what was recorded; see the docs for its assumptions.";
    var rows = document.querySelector("#replay tbody");
    rows.textContent = "";
    replay.policies.forEach(function (p) {
      var row = document.createElement("tr");
      [p.policy, p.codes + "/" + p.flows, p.median_seconds, p.p95_seconds, pct(p.both_channels_share), p.cost_per_code]
        .forEach(function (v) { cell(row, v); });
      rows.appendChild(row);
    });
    var points = replay.policies.filter(function (p) { return p.p95_seconds !== null; });
    draw("tradeoff", {
      type: "scatter",
      data: { datasets: [{ label: "p95 time to code vs cost per code",
        data: points.map(function (p) { return { x: p.p95_seconds, y: p.cost_per_code, policy: p.policy }; }),
        backgroundColor: "#0f9d8a" }] },
      options: { plugins: { tooltip: { callbacks: { label: function (c) { return c.raw.policy + ": " + c.raw.x + " s, " + c.raw.y; } } } },
        scales: { x: { title: { display: true, text: "p95 seconds until the user had a code" } },
          y: { title: { display: true, text: "cost per delivered code" } } } }
    });
  }

  fetch(box.getAttribute("data-source"), { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(render);
})();
