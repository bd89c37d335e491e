/* Live progress of every batch run (imports, VEE runs, bill runs): each element with
   data-progress-url (see core/templates/core/runs/_progress.html) is polled every 2 s until its
   status is final. Every [data-field=KEY] inside it shows the answer's KEY; the bar and the
   "done/total" counts follow done and total. With data-reload-on-status the page reloads when
   the status changes. Included once per run partial: runs once per page. No third-party code. */
(function () {
  "use strict";
  if (window.utilisRunProgress) return;
  window.utilisRunProgress = true;
  var FINAL = ["done", "failed", "completed", "approved", "issued"];

  function show(box, data) {
    Object.keys(data).forEach(function (key) {
      var value = data[key];
      if (value !== null && typeof value === "object") return;
      box.querySelectorAll('[data-field="' + key + '"]').forEach(function (cell) {
        // A cell holding a link (the quarantine count) keeps it.
        if (!cell.querySelector("a")) cell.textContent = value;
      });
    });
    box.querySelectorAll('[data-field="status"]').forEach(function (cell) {
      if (data.status_label) cell.textContent = data.status_label;
    });
    box.querySelectorAll('[data-field="bar"]').forEach(function (bar) {
      bar.max = data.total || 1;
      bar.value = data.total ? data.done : (data.status === "done" ? 1 : 0);
    });
    box.querySelectorAll('[data-field="counts"]').forEach(function (counts) {
      counts.textContent = data.done + "/" + data.total;
    });
  }

  function poll(box) {
    fetch(box.getAttribute("data-progress-url"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (data) {
        var before = box.getAttribute("data-status");
        show(box, data);
        box.setAttribute("data-status", data.status);
        if (data.status !== before && box.hasAttribute("data-reload-on-status")) {
          window.location.reload();
          return;
        }
        if (FINAL.indexOf(data.status) === -1) setTimeout(function () { poll(box); }, 2000);
      })
      .catch(function () { setTimeout(function () { poll(box); }, 5000); });
  }

  function start() {
    document.querySelectorAll("[data-progress-url]").forEach(function (box) {
      if (FINAL.indexOf(box.getAttribute("data-status")) === -1) poll(box);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
