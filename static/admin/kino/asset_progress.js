// The asset page while the asset prepares: the latest job's progress, live. When the asset
// leaves "preparing" the page reloads once, to show what processing made.
(function () {
  "use strict";

  const url = document.currentScript.dataset.progressUrl;
  const INTERVAL = 1000;

  function showJob(data) {
    const holder = document.getElementById("job-progress");
    if (holder && data.progress !== null) {
      const percent = Math.round(data.progress * 100);
      const bar = document.createElement("progress");
      bar.max = 100;
      bar.value = percent;
      holder.replaceChildren(bar, document.createTextNode(" " + percent + " %"));
    }
    const state = document.getElementById("job-state");
    if (state && data.job_status) {
      const label = state.querySelector("strong");
      if (label) {
        label.textContent = data.job_status;
        state.replaceChildren(label);
      } else {
        state.textContent = data.job_status;
      }
      if (data.stage) {
        state.append(" (" + data.stage + ")");
      }
    }
    const attempts = document.getElementById("job-attempts");
    if (attempts && data.max_attempts) {
      attempts.textContent = data.attempts + "/" + data.max_attempts;
    }
  }

  async function poll() {
    try {
      const response = await fetch(url, {
        credentials: "same-origin",
        headers: {Accept: "application/json"},
      });
      if (response.redirected || (response.status >= 400 && response.status < 500)) {
        return;  // Signed out, or the asset is gone: nothing more to show here.
      }
      if (response.ok) {
        const data = await response.json();
        if (data.status !== "preparing" || data.deleted) {
          window.location.reload();
          return;
        }
        showJob(data);
      }
    } catch (error) {
      // A dropped request is tried again on the next tick.
    }
    window.setTimeout(poll, INTERVAL);
  }

  window.setTimeout(poll, INTERVAL);
})();
