/* failover-otp dashboard: live fragments. Any element with data-refresh-url has its content
 * replaced by a fresh server-rendered fragment, paused while the tab is hidden, and stopped once
 * the fragment marks itself final (data-final).
 *
 * The wait before the next refresh is data-refresh-ms, but never less than SLOW_FACTOR times
 * what the last request took (a slow server is asked less often, not more), and it doubles after
 * each failure up to MAX_WAIT_MS. The element's data-live says what is true: "on", "slow"
 * (the last answer took longer than the refresh interval) or "offline" (the last request failed),
 * and its live indicator ([data-live-indicator]) reads the same. */
(function () {
  "use strict";
  var base = document.body.getAttribute("data-base") || "/dashboard";
  var SLOW_FACTOR = 4;
  var MAX_WAIT_MS = 60000;

  function clock(date) { return date.toISOString().slice(11, 19); }

  function nextWait(every, tookMs, failures) {
    var wait = Math.max(every, SLOW_FACTOR * tookMs);
    for (var i = 0; i < failures; i++) { wait *= 2; }
    return Math.min(Math.max(wait, every), MAX_WAIT_MS);
  }

  function live(el) {
    var every = parseInt(el.getAttribute("data-refresh-ms"), 10) || 3000;
    var failures = 0;
    var lastGood = new Date();

    function show(state, text) {
      el.setAttribute("data-live", state);
      el.querySelectorAll("[data-live-indicator] .live-text").forEach(function (span) { span.textContent = text; });
    }
    function schedule(wait) {
      el.setAttribute("data-next-refresh-ms", String(wait));
      window.setTimeout(tick, wait);
    }
    function tick() {
      if (el.querySelector("[data-final]")) { el.setAttribute("data-live", "done"); return; }
      if (document.hidden) { schedule(every); return; }
      var started = performance.now();
      fetch(el.getAttribute("data-refresh-url"), {
        credentials: "same-origin",
        headers: { "Accept": "text/html", "X-Requested-With": "fetch" },
      }).then(function (response) {
        if (response.status === 401) {
          window.location.assign(base + "/login?next=" + encodeURIComponent(location.pathname + location.search));
          return null;
        }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      }).then(function (html) {
        var took = Math.round(performance.now() - started);
        if (html === null) { return; }
        failures = 0;
        lastGood = new Date();
        el.innerHTML = html;
        el.setAttribute("data-refreshed-at", lastGood.toISOString());
        el.setAttribute("data-last-took-ms", String(took));
        if (took > every) {
          show("slow", "slow · updated " + clock(lastGood) + " UTC · answers take " + (took / 1000).toFixed(1) + " s");
        } else {
          show("on", "live · updated " + clock(lastGood) + " UTC");
        }
        el.dispatchEvent(new CustomEvent("fotp:refreshed", { bubbles: true }));
        schedule(nextWait(every, took, 0));
      }).catch(function () {
        failures += 1;
        var wait = nextWait(every, 0, failures);
        show("offline", "offline · the server does not answer · last update " + clock(lastGood) +
          " UTC · retrying in " + Math.round(wait / 1000) + " s");
        schedule(wait);
      });
    }
    el.setAttribute("data-live", "on");
    schedule(every);
  }

  document.querySelectorAll("[data-refresh-url]").forEach(live);
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
