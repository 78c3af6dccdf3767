// Progress of the audit exports on the staff page: polls GET /audit/status/{id} for each export
// still queued or running, moves its progress bar, and reloads the page once one finishes (the
// server then renders the download and ledger links). No inline script (CSP script-src 'self').
(function () {
  "use strict";

  var INTERVAL_MS = 1000;

  function poll() {
    var rows = document.querySelectorAll("tr[data-status-url]");
    if (!rows.length) {
      return;
    }
    var pending = rows.length;
    var finished = false;
    rows.forEach(function (row) {
      fetch(row.getAttribute("data-status-url"), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (answer) {
          return answer.ok ? answer.json() : null;
        })
        .then(function (status) {
          if (status) {
            row.querySelector("progress").value = status.progress;
            row.querySelector("[data-role=status]").textContent = status.status;
            if (status.status === "done" || status.status === "failed") {
              finished = true;
            }
          }
        })
        .catch(function () {})
        .then(function () {
          pending -= 1;
          if (pending === 0) {
            if (finished) {
              window.location.reload();
            } else {
              window.setTimeout(poll, INTERVAL_MS);
            }
          }
        });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    window.setTimeout(poll, INTERVAL_MS);
  });
})();
