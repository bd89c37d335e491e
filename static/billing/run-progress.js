/* Live progress of a bill run: poll the run's small JSON endpoint every 2 s while it is
   drafting, update the counters, and reload the page once the status changes so the right
   buttons (approve, issue) appear. No third-party code; the page works without it. */
(function () {
  "use strict";
  var box = document.getElementById("run-progress");
  if (!box || !box.hasAttribute("data-live")) return;
  var url = box.getAttribute("data-progress-url");
  var shownStatus = box.getAttribute("data-status");
  var fields = { done: "run-done", total: "run-total", bills: "run-bills", exceptions: "run-exceptions",
                 held: "run-held", errors: "run-errors" };

  function set(id, value) {
    var el = document.getElementById(id);
    if (el) el.textContent = value;
  }

  function tick() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { if (!response.ok) throw new Error(response.status); return response.json(); })
      .then(function (data) {
        Object.keys(fields).forEach(function (key) { set(fields[key], data[key]); });
        var bar = document.getElementById("progress-bar");
        if (bar) bar.style.width = data.percent + "%";
        box.querySelector("[role=progressbar]").setAttribute("aria-valuenow", data.percent);
        set("run-status", data.status_label);
        if (data.status !== shownStatus) {
          window.location.reload();
          return;
        }
        window.setTimeout(tick, 2000);
      })
      .catch(function () { window.setTimeout(tick, 4000); });
  }
  window.setTimeout(tick, 2000);
})();
