// The asset page while the asset prepares: the latest job's progress, live. Every element
// the page marks with data-job="<the job's id>" (the progress line and the job's row in
// the jobs table) is rewritten from the same answer, so they never disagree. When the
// asset leaves "preparing", or another job takes over, the page reloads once.
(function () {
  "use strict";

  const url = document.currentScript.dataset.progressUrl;
  const INTERVAL = 1000;

  function latestJobId() {
    const line = document.getElementById("job-state");
    return line ? line.dataset.job : null;
  }

  function percentOf(progress) {
    return Math.round(progress * 100);
  }

  function showProgress(element, progress) {
    if (progress === null) {
      return;
    }
    const percent = percentOf(progress);
    if (element.hasAttribute("data-bar")) {
      const bar = document.createElement("progress");
      bar.max = 100;
      bar.value = percent;
      element.replaceChildren(bar, document.createTextNode(" " + percent + " %"));
    } else {
      element.textContent = percent + " %";
    }
  }

  function showStatus(element, data) {
    if (!data.job_status) {
      return;
    }
    // The label keeps its colour: a job shown here is queued or running, both amber.
    const label = element.querySelector("strong") || document.createElement("strong");
    label.textContent = data.job_status;
    element.replaceChildren(label);
    if (element.hasAttribute("data-with-stage") && data.stage) {
      element.append(" (" + data.stage + ")");
    }
  }

  function showJob(data) {
    for (const element of document.querySelectorAll('[data-job="' + data.job_id + '"]')) {
      switch (element.dataset.jobField) {
        case "progress":
          showProgress(element, data.progress);
          break;
        case "status":
          showStatus(element, data);
          break;
        case "stage":
          element.textContent = data.stage || "-";
          break;
        case "attempts":
          if (data.max_attempts) {
            element.textContent = data.attempts + "/" + data.max_attempts;
          }
          break;
      }
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
        if (data.status !== "preparing" || data.deleted
            || (data.job_id && data.job_id !== latestJobId())) {
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
