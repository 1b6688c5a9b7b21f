// fishwatch pages: the little script they need. Everything works without it except the live
// inbox; with it, field photos upload as they are taken, times show in the viewer's own zone
// and new orders appear without a reload.
"use strict";

function localiseTimes(root) {
  const lang = document.documentElement.lang || "zh-CN";
  const format = new Intl.DateTimeFormat(lang, {
    year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit",
  });
  root.querySelectorAll("time[datetime]").forEach((node) => {
    const when = new Date(node.getAttribute("datetime"));
    if (!Number.isNaN(when.getTime())) {
      node.title = node.textContent;
      node.textContent = format.format(when);
    }
  });
}

// The inbox follows the server's event stream (GET /live/stream, server-sent events): an
// order dispatched to this user is fetched as a rendered card and put at the top of the list;
// a card already shown is replaced when its order changes. The browser reconnects by itself
// and sends Last-Event-ID, so nothing is lost while it was away.
function followInbox(list) {
  const status = document.getElementById("live-status");
  const empty = document.getElementById("inbox-empty");
  const insertTabs = new Set(["new", "open"]);
  const source = new EventSource(list.dataset.stream);

  async function card(orderId) {
    const response = await fetch(list.dataset.cardUrl + orderId, {credentials: "same-origin"});
    if (!response.ok) return null;
    const holder = document.createElement("ul");
    holder.innerHTML = (await response.text()).trim();
    const node = holder.querySelector("li.order-card");
    if (node) localiseTimes(node);
    return node;
  }

  async function onOrder(note) {
    if (!note.order_id) return;
    const shown = list.querySelector(`li[data-order-id="${note.order_id}"]`);
    const dispatched = note.kind === "order.dispatched";
    if (!shown && !(dispatched && insertTabs.has(list.dataset.tab))) return;
    const fresh = await card(note.order_id);
    if (!fresh) return;
    const wanted = list.dataset.department;
    if (wanted && fresh.dataset.department !== wanted) return;
    if (shown) {
      shown.replaceWith(fresh);
    } else {
      list.prepend(fresh);
      if (empty) empty.hidden = true;
      if (status) status.textContent = list.dataset.newText;
    }
  }

  source.addEventListener("open", () => {
    if (status) status.textContent = status.dataset.liveText;
    list.dataset.live = "true";
  });
  source.addEventListener("error", () => {
    if (status) status.textContent = status.dataset.offlineText;
    list.dataset.live = "false";
  });
  source.addEventListener("message", (message) => {
    const note = JSON.parse(message.data);
    if (note.kind && note.kind.startsWith("order.")) onOrder(note);
  });
}

document.addEventListener("DOMContentLoaded", () => {
  localiseTimes(document);
  const list = document.getElementById("inbox-list");
  if (list && list.dataset.stream && "EventSource" in window) followInbox(list);
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });
});

// Field photos go to the order's photo endpoint as soon as they are taken (one request per
// picture, with the session's CSRF token); the page then shows them ticked for the feedback.
// Without the script the file field stays visible and the feedback form carries the photos.
document.addEventListener("DOMContentLoaded", () => {
  const input = document.getElementById("photo-input");
  if (!input) return;
  input.hidden = true;
  const status = document.getElementById("photo-status");
  input.addEventListener("change", async () => {
    status.textContent = "";
    status.classList.remove("alert", "error");
    const failures = [];
    for (const file of input.files) {
      const body = new FormData();
      body.append("file", file);
      const response = await fetch(input.dataset.uploadUrl, {
        method: "POST", body, credentials: "same-origin",
        headers: {"X-CSRF-Token": input.dataset.csrf},
      });
      if (!response.ok) {
        const problem = await response.json().catch(() => ({detail: response.statusText}));
        failures.push(`${status.dataset.failedText} (${file.name}): ${problem.detail}`);
      }
    }
    // Every file went up or was refused: the form must not carry them again.
    input.value = "";
    if (failures.length) {
      status.textContent = failures.join("\n");
      status.classList.add("alert", "error");
    }
    // Keep what was typed: reload only the photo list from a fresh copy of the page.
    const fresh = await fetch(window.location.pathname, {credentials: "same-origin"});
    const doc = new DOMParser().parseFromString(await fresh.text(), "text/html");
    const list = doc.getElementById("photo-list");
    if (list) document.getElementById("photo-list").replaceWith(list);
  });
});
