// Follows a ledger verification started from the dashboard: polls its JSON state every second and
// shows the entries checked so far, then the result. Without JavaScript the page still shows the
// last verification (reload to see it).
(function () {
  "use strict";
  const box = document.getElementById("verify-status");
  if (!box || !box.dataset.jobUrl) return;
  const url = box.dataset.jobUrl;

  function show(state) {
    box.textContent = "";
    const line = document.createElement("p");
    if (state.state === "done" && state.run) {
      line.textContent = state.run.valid
        ? `Verification finished: valid, ${state.run.entries_checked} entries checked.`
        : `Verification finished: INVALID (${state.run.error_code} at seq ${state.run.first_invalid_seq}).`;
      line.className = state.run.valid ? "ok" : "overdue";
      line.dataset.verifyResult = state.run.valid ? "valid" : "invalid";
      box.appendChild(line);
      return true;
    }
    if (state.state === "failed") {
      line.textContent = "The verification could not run to the end; see the server log.";
      line.className = "overdue";
      box.appendChild(line);
      return true;
    }
    const total = state.total || 0;
    line.textContent = state.state === "queued"
      ? "Verification queued…"
      : `Verifying: ${state.checked} of ${total} entries checked…`;
    box.appendChild(line);
    if (total) {
      const bar = document.createElement("progress");
      bar.max = total;
      bar.value = state.checked || 0;
      bar.setAttribute("aria-label", "Verification progress");
      box.appendChild(bar);
    }
    return false;
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => (response.ok ? response.json() : Promise.reject(response.status)))
      .then((state) => { if (!show(state)) setTimeout(poll, 1000); })
      .catch(() => { box.textContent = "The verification's state is no longer available."; });
  }
  poll();
})();
