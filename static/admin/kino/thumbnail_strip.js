// The asset page's thumbnail strip: up to TILES frames evenly across the video, cut from
// the storyboard sprite (one image for all of them); a click plays the preview from there.
(function () {
  "use strict";
  const TILES = 8;
  const WIDTH = 96;  // px each thumbnail is shown at
  const strip = document.getElementById("thumbnail-strip");
  const video = document.getElementById("preview-player");
  if (!strip) {
    return;
  }

  function clock(seconds) {
    const s = Math.floor(seconds);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const pad = (n) => String(n).padStart(2, "0");
    return (h ? h + ":" + pad(m) : String(m)) + ":" + pad(s % 60);
  }

  function pick(tiles) {
    if (tiles.length <= TILES) {
      return tiles;
    }
    const chosen = [];
    for (let i = 0; i < TILES; i++) {
      chosen.push(tiles[Math.round(i * (tiles.length - 1) / (TILES - 1))]);
    }
    return chosen;
  }

  function show(board) {
    const scale = WIDTH / board.tile_width;
    const height = Math.round(board.tile_height * scale);
    const spriteWidth = Math.max(...board.tiles.map((t) => t.x)) + board.tile_width;
    const spriteHeight = Math.max(...board.tiles.map((t) => t.y)) + board.tile_height;
    const buttons = pick(board.tiles).map((tile) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "thumb";
      button.dataset.time = tile.start;
      button.title = "Play from " + clock(tile.start);
      button.style.width = WIDTH + "px";
      button.style.height = height + "px";
      button.style.backgroundImage = "url(" + JSON.stringify(board.image) + ")";
      button.style.backgroundSize = (spriteWidth * scale) + "px " + (spriteHeight * scale) + "px";
      button.style.backgroundPosition = (-tile.x * scale) + "px " + (-tile.y * scale) + "px";
      const time = document.createElement("span");
      time.className = "time";
      time.textContent = clock(tile.start);
      button.append(time);
      button.addEventListener("click", () => {
        if (video) {
          video.currentTime = tile.start;
          video.play().catch(() => {});
        }
      });
      return button;
    });
    strip.replaceChildren(...buttons);
  }

  fetch(strip.dataset.src, { credentials: "same-origin" })
    .then((response) => {
      if (!response.ok) {
        throw new Error(response.status);
      }
      return response.json();
    })
    .then(show)
    .catch(() => {
      strip.textContent = "Thumbnails are not available for this asset.";
    });
})();
