/*
 * The event list (/events/): after "Load more" appends a page of events, move keyboard focus to the first
 * new event, so that a keyboard or screen reader user carries on where the list grew (the button they
 * pressed is replaced). Loaded from a static file: the CSP allows no inline scripts.
 */
(function () {
  "use strict";

  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "event-list") {
      return;
    }
    var starts = target.querySelectorAll("[data-page-start]");
    if (starts.length < 2) {
      return;
    }
    var link = starts[starts.length - 1].querySelector("a");
    if (link) {
      link.focus();
    }
  });
})();
