/* The buyer's event page, live: what is left of each ticket, people buying now, and the
   reader's place in line and offer, pushed by the server (server-sent events on
   /live/events/<id>, docs/queue.md "Streams").
   Progressive enhancement: without this script the page shows the same things as of its
   loading. The cells to update carry data attributes (data-ticket-type-id, data-bundle-id,
   data-live="left|buying|position", data-queue-ticket-type-id with data-entry-id and
   data-entry-status); when the reader's line changes shape (an offer arrives, an offer ends,
   they left in another tab) the page reloads to show the right forms. */
(function () {
  "use strict";
  var heading = document.getElementById("live-event");
  if (!heading || !heading.dataset.liveUrl || !window.EventSource) { return; }
  var LIVE = { WAITING: true, OFFERED: true };
  var RELOAD_KEY = "live-event-reloaded-at";
  var RELOAD_GAP_MS = 5000;  // never reload in a loop if the page and the stream disagree

  function people(count) {
    return count + (count === 1 ? " person" : " people") + " buying now";
  }

  function showStock(row, item) {
    if (!row || row.dataset.onSale !== "1") { return; }  // "Not on sale now" stays
    var left = row.querySelector('[data-live="left"]');
    var buying = row.querySelector('[data-live="buying"]');
    if (left) {
      left.textContent = "";
      if (item.available <= 0) {
        var badge = document.createElement("span");
        badge.className = "badge bad";
        badge.textContent = "Sold out";
        left.appendChild(badge);
      } else {
        left.textContent = item.available + " left";
      }
    }
    if (buying) { buying.textContent = item.held > 0 ? people(item.held) : ""; }
  }

  function onAvailability(message) {
    var data = JSON.parse(message.data);
    (data.ticket_types || []).forEach(function (item) {
      showStock(document.querySelector('tr[data-ticket-type-id="' + item.id + '"]'), item);
    });
    (data.bundles || []).forEach(function (item) {
      showStock(document.querySelector('tr[data-bundle-id="' + item.id + '"]'), item);
    });
  }

  var leaving = false;  // a form was sent: its answer is the next page, never cut off by a reload

  function reload() {
    if (leaving) { return; }
    var last = 0;
    try { last = parseInt(window.sessionStorage.getItem(RELOAD_KEY) || "0", 10); } catch (e) { /* private mode */ }
    var wait = last + RELOAD_GAP_MS - Date.now();
    if (wait > 0) { window.setTimeout(reload, wait); return; }  // later, not never
    try { window.sessionStorage.setItem(RELOAD_KEY, String(Date.now())); } catch (e) { /* private mode */ }
    window.location.reload();
  }

  function onQueue(message) {
    var entries = (JSON.parse(message.data).entries || []).filter(function (e) { return LIVE[e.status]; });
    var changed = false;
    var liveIds = {};
    entries.forEach(function (entry) {
      liveIds[String(entry.id)] = true;
      if (!document.querySelector('tr[data-ticket-type-id="' + entry.ticket_type_id + '"]')) { return; }
      var box = document.querySelector('[data-queue-ticket-type-id="' + entry.ticket_type_id + '"]');
      if (!box || box.dataset.entryId !== String(entry.id) || box.dataset.entryStatus !== entry.status) {
        changed = true;  // an offer arrived, or a line joined in another tab
        return;
      }
      var place = box.querySelector('[data-live="position"]');
      if (place && entry.position) { place.textContent = String(entry.position); }
    });
    document.querySelectorAll("[data-queue-ticket-type-id]").forEach(function (box) {
      if (box.dataset.entryId && !liveIds[box.dataset.entryId]) { changed = true; }  // it ended
    });
    if (changed) { reload(); }
  }

  var source = new EventSource(heading.dataset.liveUrl, { withCredentials: true });
  source.addEventListener("availability", onAvailability);
  source.addEventListener("queue", onQueue);
  function leave() { leaving = true; source.close(); }
  document.addEventListener("submit", leave);
  window.addEventListener("pagehide", leave);
}());
