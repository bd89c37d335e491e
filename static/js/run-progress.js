/* Live progress for long runs (imports, VEE runs, bill runs): every row with
   data-progress-url is polled every 2 s until its status is final. No third-party code. */
(function () {
  "use strict";
  var FINAL = ["done", "failed", "completed", "approved", "issued"];

  function poll(row) {
    fetch(row.getAttribute("data-progress-url"), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        Object.keys(data).forEach(function (key) {
          var cell = row.querySelector('[data-field="' + key + '"]');
          if (cell && key !== "quarantined") cell.textContent = data[key];
          if (cell && key === "quarantined" && !cell.querySelector("a")) cell.textContent = data[key];
        });
        var bar = row.querySelector('[data-field="bar"]');
        if (bar) { bar.max = data.total || 1; bar.value = data.done; }
        var counts = row.querySelector('[data-field="counts"]');
        if (counts) counts.textContent = data.done + "/" + data.total;
        row.setAttribute("data-status", data.status);
        if (FINAL.indexOf(data.status) === -1) setTimeout(function () { poll(row); }, 2000);
      })
      .catch(function () { setTimeout(function () { poll(row); }, 5000); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-progress-url]").forEach(function (row) {
      if (FINAL.indexOf(row.getAttribute("data-status")) === -1) poll(row);
    });
  });
})();
