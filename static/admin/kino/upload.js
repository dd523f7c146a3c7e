// The admin's upload page: ask the admin for an upload URL, then send the file to it
// with tus-js-client, in chunks, retrying through dropped connections.
//
// An upload URL is remembered per file (name, size, modification time, environment) in
// localStorage until the upload finishes, so pressing Upload again after a failure, or
// after reloading the page, continues the same upload instead of starting over.
(function () {
  "use strict";

  const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000];
  const STORAGE_PREFIX = "kino-admin-upload:";

  const form = document.getElementById("upload-form");
  const fileInput = document.getElementById("id_file");
  const submit = document.getElementById("upload-submit");
  const problem = document.getElementById("upload-problem");
  const panel = document.getElementById("upload-progress");
  const bar = document.getElementById("upload-bar");
  const text = document.getElementById("upload-text");
  const note = document.getElementById("upload-note");
  const chunkSize = parseInt(form.dataset.chunkSize, 10) || 8 * 1024 * 1024;
  let uploading = false;

  // As Django's filesizeformat counts them, so the page speaks one unit.
  function megabytes(bytes) {
    return (bytes / (1024 * 1024)).toFixed(1) + " MB";
  }

  function showProgress(sent, total) {
    const percent = total ? Math.floor((sent / total) * 100) : 0;
    bar.value = percent;
    text.textContent = percent + " % \u00b7 " + megabytes(sent) + " of " + megabytes(total);
  }

  function showProblem(message) {
    problem.textContent = message;
    problem.hidden = !message;
  }

  function clearFieldErrors() {
    form.querySelectorAll("ul.errorlist").forEach((list) => list.remove());
    form.querySelectorAll(".form-row.errors").forEach((row) => row.classList.remove("errors"));
  }

  function showFieldErrors(errors) {
    const loose = [];
    for (const [name, messages] of Object.entries(errors)) {
      const row = form.querySelector(".form-row.field-" + name);
      if (!row) {
        loose.push(...messages);
        continue;
      }
      const list = document.createElement("ul");
      list.className = "errorlist";
      for (const message of messages) {
        const item = document.createElement("li");
        item.textContent = message;
        list.appendChild(item);
      }
      row.classList.add("errors");
      row.prepend(list);
    }
    showProblem(loose.length ? loose.join(" ") : "Please correct the errors below.");
  }

  function setBusy(busy) {
    uploading = busy;
    submit.disabled = busy;
    fileInput.disabled = busy;
  }

  function fileKey(file) {
    const environment = form.elements.environment.value;
    return STORAGE_PREFIX + [environment, file.name, file.size, file.lastModified].join("|");
  }

  function remembered(file) {
    try {
      return JSON.parse(window.localStorage.getItem(fileKey(file)) || "null");
    } catch (error) {
      return null;
    }
  }

  function remember(file, upload) {
    try {
      window.localStorage.setItem(fileKey(file), JSON.stringify(upload));
    } catch (error) {
      // Private windows may refuse storage; the upload still works, only not across reloads.
    }
  }

  function forget(file) {
    try {
      window.localStorage.removeItem(fileKey(file));
    } catch (error) {
      // As above.
    }
  }

  async function getJSON(url, options) {
    const response = await fetch(url, {
      credentials: "same-origin",
      headers: {Accept: "application/json", "X-Requested-With": "XMLHttpRequest"},
      ...options,
    });
    const type = response.headers.get("Content-Type") || "";
    if (response.redirected || !type.includes("json")) {
      throw new Error(response.status === 403
        ? "you may not upload videos"
        : "your admin session has ended; sign in again in another tab, then press Upload");
    }
    return {status: response.status, body: await response.json()};
  }

  async function createUpload() {
    const data = new FormData(form);
    const {status, body} = await getJSON(form.action, {
      method: "POST",
      body: data,
      headers: {
        Accept: "application/json",
        "X-CSRFToken": data.get("csrfmiddlewaretoken"),
        "X-Requested-With": "XMLHttpRequest",
      },
    });
    if (status === 400 && body.errors) {
      showFieldErrors(body.errors);
      return null;
    }
    if (status !== 201) {
      throw new Error((body && (body.detail || body.title)) || "the admin answered " + status);
    }
    return body;
  }

  // A remembered upload that still takes bytes, or that already became an asset.
  async function earlierUpload(file) {
    const earlier = remembered(file);
    if (!earlier) {
      return null;
    }
    try {
      const {status, body} = await getJSON(earlier.status_url);
      if (status === 200 && (body.status === "waiting" || body.status === "asset_created")) {
        return {...earlier, state: body};
      }
    } catch (error) {
      // Unknown: start a new upload rather than guess.
    }
    forget(file);
    return null;
  }

  function describe(error) {
    const response = error && error.originalResponse;
    if (response) {
      let detail = "";
      try {
        detail = JSON.parse(response.getBody()).detail || "";
      } catch (parseError) {
        detail = "";
      }
      return "the server answered " + response.getStatus() + (detail ? " (" + detail + ")" : "");
    }
    if (error && error.originalRequest) {
      return "the connection to the server was lost";
    }
    return (error && error.message) || String(error);
  }

  function sleep(ms) {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  // The last PATCH turned the upload into an asset; ask the admin which one.
  async function openAsset(upload) {
    for (let attempt = 0; attempt < 20; attempt++) {
      const {body} = await getJSON(upload.status_url);
      if (body.asset_url) {
        note.textContent = "Upload complete. Opening the asset\u2026";
        window.location.assign(body.asset_url);
        return;
      }
      await sleep(500);
    }
    note.textContent = "Upload complete. The asset will appear in the asset list.";
  }

  function send(file, upload) {
    return new Promise((resolve, reject) => {
      const transfer = new window.tus.Upload(file, {
        endpoint: upload.url,
        uploadUrl: upload.resume ? upload.url : null,
        chunkSize: chunkSize,
        retryDelays: RETRY_DELAYS,
        metadata: {filename: file.name, filetype: file.type || "application/octet-stream"},
        // Resuming is keyed on our own record above, not on tus-js-client's.
        storeFingerprintForResuming: false,
        onProgress: showProgress,
        onError: reject,
        onSuccess: resolve,
      });
      transfer.start();
    });
  }

  async function start(file) {
    clearFieldErrors();
    showProblem("");
    setBusy(true);
    try {
      let upload = await earlierUpload(file);
      if (upload) {
        upload.resume = true;
        note.textContent = "Continuing the earlier upload of this file (" + upload.upload_id +
          "); its title and settings are those chosen then.";
      } else {
        upload = await createUpload();
        if (!upload) {
          setBusy(false);
          return;
        }
        remember(file, upload);
        note.textContent = "Upload " + upload.upload_id + ".";
      }
      document.getElementById("upload-filename").textContent = file.name;
      panel.hidden = false;
      showProgress(0, file.size);
      if (upload.state && upload.state.status === "asset_created") {
        showProgress(file.size, file.size);
      } else {
        await send(file, upload);
        showProgress(file.size, file.size);
      }
      forget(file);
      uploading = false;
      await openAsset(upload);
    } catch (error) {
      setBusy(false);
      // Browsers fire no change event for the file that is already chosen.
      fileInput.value = "";
      showProblem("The upload failed: " + describe(error) +
        ". Choose the file again to resume: what already arrived is kept.");
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (uploading) {
      return;
    }
    if (!window.tus || !window.tus.isSupported) {
      showProblem("This browser cannot send files in chunks; use a current browser.");
      return;
    }
    const file = fileInput.files[0];
    if (!file) {
      showProblem("Choose a video file to upload.");
      return;
    }
    start(file);
  });

  // After a failure, choosing the file again resumes at once.
  fileInput.addEventListener("change", () => {
    const file = fileInput.files[0];
    if (file && !problem.hidden && remembered(file)) {
      form.requestSubmit();
    }
  });

  window.addEventListener("beforeunload", (event) => {
    if (uploading) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
})();
