// The live dashboard: every stream's card, kept current over a WebSocket. The server
// sends a snapshot on connect and then one card per change; rows are updated in place,
// streams that appear are added and deleted ones removed. A dropped socket is reopened
// with growing pauses; a refusal (4403) is not retried.
(function () {
  "use strict";

  const NOT_ALLOWED = 4403;
  const FIRST_PAUSE = 1000;
  const LONGEST_PAUSE = 30000;
  const COLUMNS = 9;
  // A stream on air shows a recent frame of itself (live/admin_pictures.py), read again
  // this often.
  const PICTURE_SECONDS = 5;

  const table = document.getElementById("live-dashboard");
  const tbody = table.tBodies[0];
  const announcer = document.getElementById("live-announcer");
  const connectionState = document.getElementById("live-connection-state");
  const connectionText = document.getElementById("live-connection-text");
  const changeUrl = table.dataset.changeUrl;

  // id → {card, at}: `at` is when the card arrived, so uptime can tick from it.
  const streams = new Map();
  let pause = FIRST_PAUSE;
  let retryTimer = null;

  // --- formatting -------------------------------------------------------------------
  function dash(value) {
    return value === null || value === undefined || value === "" ? "—" : String(value);
  }

  function kbps(bits) {
    return bits === null || bits === undefined ? "—" : Math.round(bits / 1000).toLocaleString();
  }

  function fixed(value, digits, unit) {
    return value === null || value === undefined ? "—" : value.toFixed(digits) + (unit || "");
  }

  function duration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const pad = (n) => String(n).padStart(2, "0");
    return (h ? h + ":" + pad(m) : String(m)) + ":" + pad(s % 60);
  }

  function badge(text, kind) {
    const span = document.createElement("span");
    span.className = "live-badge " + (kind || text);
    span.textContent = text;
    return span;
  }

  // --- rows -------------------------------------------------------------------------
  function cell(row, field, className) {
    let td = row.querySelector('[data-field="' + field + '"]');
    if (!td) {
      td = document.createElement(field === "id" ? "th" : "td");
      if (field === "id") {
        td.scope = "row";
      }
      td.dataset.field = field;
      if (className) {
        td.className = className;
      }
      row.append(td);
    }
    return td;
  }

  function setText(td, text) {
    if (td.textContent !== text) {
      td.textContent = text;
    }
  }

  function uptimeText(entry) {
    const uptime = entry.card.health.uptime;
    if (uptime === null || uptime === undefined) {
      return "—";
    }
    return duration(uptime + (performance.now() - entry.at) / 1000);
  }

  function targetsList(targets) {
    if (!targets.length) {
      return document.createTextNode("—");
    }
    const list = document.createElement("ul");
    for (const target of targets) {
      const item = document.createElement("li");
      item.dataset.targetId = target.id;
      item.append(document.createTextNode(target.host + " "), badge(target.status));
      if (target.error) {
        const error = document.createElement("span");
        error.className = "live-target-error";
        error.textContent = target.error;
        item.append(error);
      }
      list.append(item);
    }
    return list;
  }

  // A named part of a cell, so a cell can hold more than one figure.
  function part(td, field, className) {
    let span = td.querySelector('[data-field="' + field + '"]');
    if (!span) {
      span = document.createElement("span");
      span.dataset.field = field;
      if (className) {
        span.className = className;
      }
      td.append(span);
    }
    return span;
  }

  function fill(row, entry) {
    const card = entry.card;
    const health = card.health;
    const idCell = cell(row, "id");
    let link = idCell.querySelector("a");
    if (!link) {
      link = document.createElement("a");
      link.href = changeUrl + encodeURIComponent(card.id) + "/change/";
      idCell.append(link);
    }
    setText(link, card.name || card.id);
    picture(idCell, card);
    setText(part(idCell, "stream_id", "stream-id"), card.id);
    setText(part(idCell, "environment", "stream-environment"), card.environment);
    const status = cell(row, "status");
    if (status.dataset.value !== card.status) {
      status.dataset.value = card.status;
      status.replaceChildren(badge(card.status));
    }
    const encoder = cell(row, "encoder");
    setText(part(encoder, "connected"), health.connected ? "connected" : "not connected");
    const stalled = part(encoder, "stalled", "stalled");
    const stalledValue = health.stalled ? "stalled" : "";
    if (stalled.dataset.value !== stalledValue) {
      stalled.dataset.value = stalledValue;
      stalled.replaceChildren(...(health.stalled ? [badge("stalled")] : []));
    }
    setText(cell(row, "bitrate", "num"), kbps(health.bitrate));
    const video = cell(row, "video", "num");
    setText(part(video, "resolution", "line"),
      health.width && health.height ? health.width + "×" + health.height : "—");
    setText(part(video, "frame_rate", "line quiet"), fixed(health.frame_rate, 1, " fps"));
    setText(cell(row, "keyframe_interval", "num"), fixed(health.keyframe_interval, 1, " s"));
    setText(cell(row, "uptime", "num"), uptimeText(entry));
    setText(cell(row, "disconnects", "num"), dash(health.disconnects));
    const targets = cell(row, "targets", "targets");
    const targetsKey = JSON.stringify(card.simulcast_targets);
    if (targets.dataset.value !== targetsKey) {
      targets.dataset.value = targetsKey;
      targets.replaceChildren(targetsList(card.simulcast_targets));
    }
  }

  function pictureUrl(id) {
    return changeUrl + encodeURIComponent(id) + "/picture.jpg?at=" + Date.now();
  }

  function picture(idCell, card) {
    let img = idCell.querySelector("img.stream-picture");
    if (card.status !== "active") {
      if (img) {
        img.remove();
      }
      return;
    }
    if (!img) {
      img = document.createElement("img");
      img.className = "stream-picture";
      img.width = 112;
      img.height = 63;
      img.alt = "A recent frame of " + (card.name || card.id);
      // No frame for a moment (the first segments, a reconnect): a blank space, not a
      // broken image.
      img.addEventListener("error", () => { img.classList.add("missing"); });
      img.addEventListener("load", () => { img.classList.remove("missing"); });
      img.src = pictureUrl(card.id);
      idCell.prepend(img);
    }
  }

  function refreshPictures() {
    for (const img of tbody.querySelectorAll("img.stream-picture")) {
      img.src = pictureUrl(img.closest("tr").dataset.streamId);
    }
  }

  function label(card) {
    return card.name ? card.name + " (" + card.id + ")" : card.id;
  }

  function rowOf(id) {
    return tbody.querySelector('tr[data-stream-id="' + CSS.escape(id) + '"]');
  }

  function announce(text) {
    announcer.textContent = text;
  }

  function showEmpty() {
    const empty = tbody.querySelector("tr.live-empty");
    if (streams.size && empty) {
      empty.remove();
    } else if (!streams.size && !empty) {
      const row = document.createElement("tr");
      row.className = "live-empty";
      const td = document.createElement("td");
      td.colSpan = COLUMNS;
      td.textContent = "No live streams.";
      row.append(td);
      tbody.append(row);
    }
  }

  function remove(id) {
    const row = rowOf(id);
    if (row) {
      row.remove();
    }
    streams.delete(id);
    showEmpty();
  }

  function upsert(card, { quiet } = {}) {
    if (card.status === "deleted") {
      if (streams.has(card.id)) {
        const gone = streams.get(card.id).card;
        remove(card.id);
        announce(label(gone) + " was deleted.");
      }
      return;
    }
    const known = streams.get(card.id);
    // Cards can cross on the way (a snapshot read while an update was in flight):
    // never go back to an older one.
    if (known && Date.parse(card.updated_at) < Date.parse(known.card.updated_at)) {
      return;
    }
    const entry = { card: card, at: performance.now() };
    streams.set(card.id, entry);
    let row = rowOf(card.id);
    if (!row) {
      row = document.createElement("tr");
      row.dataset.streamId = card.id;
      // Ids sort by creation: keep the newest first.
      const after = Array.from(tbody.querySelectorAll("tr[data-stream-id]"))
        .find((other) => other.dataset.streamId < card.id);
      tbody.insertBefore(row, after || null);
      if (!quiet) {
        announce("New stream " + label(card) + " (" + card.status + ").");
      }
    } else if (!quiet && known && known.card.status !== card.status) {
      announce(label(card) + " is now " + card.status + ".");
    }
    fill(row, entry);
    showEmpty();
  }

  function replaceAll(cards, options) {
    const ids = new Set(cards.map((card) => card.id));
    for (const id of Array.from(streams.keys())) {
      if (!ids.has(id)) {
        remove(id);
      }
    }
    for (const card of cards) {
      upsert(card, options);
    }
    showEmpty();
  }

  function tick() {
    for (const [id, entry] of streams) {
      const row = rowOf(id);
      if (row) {
        setText(cell(row, "uptime", "num"), uptimeText(entry));
      }
    }
  }

  // --- the socket -------------------------------------------------------------------
  function connection(state, text) {
    connectionState.className = "live-badge " + state;
    connectionState.textContent = state;
    connectionText.textContent = text;
    table.classList.toggle("stale", state !== "live");
    table.setAttribute("aria-busy", state === "connecting" ? "true" : "false");
  }

  function connect() {
    retryTimer = null;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(scheme + "//" + location.host + table.dataset.socketPath);
    connection("connecting", "Connecting to the live feed…");

    socket.addEventListener("message", (message) => {
      let data;
      try {
        data = JSON.parse(message.data);
      } catch (error) {
        return;
      }
      if (data.type === "snapshot") {
        pause = FIRST_PAUSE;
        replaceAll(data.streams, { quiet: true });
        connection("live", "Live: changes appear as they happen.");
      } else if (data.type === "update") {
        upsert(data.stream);
      }
    });

    socket.addEventListener("close", (event) => {
      if (event.code === NOT_ALLOWED) {
        connection("refused", "The live feed refused this session: log in again as staff.");
        return;
      }
      const wait = pause / 2 + Math.random() * pause / 2;  // jittered, so tabs spread out
      pause = Math.min(pause * 2, LONGEST_PAUSE);
      connection("reconnecting",
        "Disconnected; reconnecting in " + Math.ceil(wait / 1000) + " s. The figures below may be out of date.");
      retryTimer = setTimeout(connect, wait);
    });
  }

  // Come back at once when the tab returns rather than waiting out a long pause.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && retryTimer !== null) {
      clearTimeout(retryTimer);
      pause = FIRST_PAUSE;
      connect();
    }
  });

  const initial = document.getElementById("live-initial-streams");
  replaceAll(initial ? JSON.parse(initial.textContent) : [], { quiet: true });
  setInterval(tick, 1000);
  setInterval(refreshPictures, PICTURE_SECONDS * 1000);
  connect();
})();
