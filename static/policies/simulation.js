// Polls a running simulation's progress and reloads the page when it has finished.
(function () {
  "use strict";
  var card = document.getElementById("progress-card");
  if (!card) { return; }
  var url = card.getAttribute("data-progress-url");
  var text = document.getElementById("progress-text");
  var bar = document.getElementById("progress-bar");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (state) {
        if (state.status === "done" || state.status === "failed") {
          window.location.reload();
          return;
        }
        bar.value = state.percent;
        bar.textContent = state.percent + "%";
        text.textContent = "Running: " + state.processed + " of " + (state.total || "?") + " decisions replayed.";
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
