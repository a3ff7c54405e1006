/* "At the door, live": fetch the figures fragment every few seconds and swap it in.
   Progressive enhancement: without this script the page shows the same figures and a
   refresh link. Polls only while the tab is visible; a failed fetch says so and retries. */
(function () {
  "use strict";
  var box = document.getElementById("live-figures");
  var status = document.getElementById("live-status");
  if (!box || !box.dataset.liveSrc || !window.fetch) { return; }
  var seconds = Math.max(2, parseInt(box.dataset.liveSeconds || "5", 10));
  var busy = false;

  function refresh() {
    if (busy || document.hidden) { return; }
    busy = true;
    fetch(box.dataset.liveSrc, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        return response.text();
      })
      .then(function (html) {
        box.innerHTML = html;
        var first = box.firstElementChild;
        var asOf = first && first.getAttribute("data-as-of");
        if (status && asOf) { status.textContent = "Figures as of " + asOf + " UTC (updates by itself)."; }
      })
      .catch(function () {
        if (status) { status.textContent = "Could not update the figures; trying again."; }
      })
      .then(function () { busy = false; });
  }

  window.setInterval(refresh, seconds * 1000);
  document.addEventListener("visibilitychange", refresh);
}());
