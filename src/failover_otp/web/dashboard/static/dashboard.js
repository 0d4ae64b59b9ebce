/* failover-otp dashboard: live fragments. Any element with data-refresh-url has its content
 * replaced by a fresh server-rendered fragment every data-refresh-ms milliseconds, paused while
 * the tab is hidden, and stopped once the fragment marks itself final (data-final). */
(function () {
  "use strict";
  var base = document.body.getAttribute("data-base") || "/dashboard";

  function live(el) {
    var every = parseInt(el.getAttribute("data-refresh-ms"), 10) || 3000;
    var busy = false;
    function schedule() { window.setTimeout(tick, every); }
    function tick() {
      if (el.querySelector("[data-final]")) { el.setAttribute("data-live", "done"); return; }
      if (document.hidden || busy) { schedule(); return; }
      busy = true;
      fetch(el.getAttribute("data-refresh-url"), {
        credentials: "same-origin",
        headers: { "Accept": "text/html", "X-Requested-With": "fetch" },
      }).then(function (response) {
        if (response.status === 401) {
          window.location.assign(base + "/login?next=" + encodeURIComponent(location.pathname + location.search));
          return null;
        }
        return response.ok ? response.text() : null;
      }).then(function (html) {
        if (html !== null) {
          el.innerHTML = html;
          el.setAttribute("data-refreshed-at", new Date().toISOString());
          el.dispatchEvent(new CustomEvent("fotp:refreshed", { bubbles: true }));
        }
      }).catch(function () { /* the server restarts: try again next time */ })
        .then(function () { busy = false; schedule(); });
    }
    el.setAttribute("data-live", "on");
    schedule();
  }

  document.querySelectorAll("[data-refresh-url]").forEach(live);
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
