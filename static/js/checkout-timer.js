// The checkout's hold timer (WCAG 2.2.1 Timing Adjustable).
// The server renders the time left (data-remaining, in seconds) and the expiry time, so the page works
// without this script. Here: count down in the <time>, announce milestones (not every second) in the
// polite live region, show the warning two minutes before the end, and say when the hold has ended.
// Counting from the server's "seconds left" keeps a wrong clock on the buyer's device from mattering.
(function () {
  "use strict";
  var hold = document.getElementById("hold");
  var timer = document.getElementById("hold-timer");
  var announce = document.getElementById("hold-announce");
  var warning = document.getElementById("hold-warning");
  if (!hold || !timer || !announce) {
    return;
  }
  var remaining = parseInt(hold.getAttribute("data-remaining"), 10);
  var warnAt = parseInt(hold.getAttribute("data-warn"), 10) || 120;
  if (isNaN(remaining)) {
    return;
  }
  var deadline = Date.now() + remaining * 1000;
  // Minutes left at which screen readers hear how long is left.
  var milestones = [10, 5, 2, 1];
  var spoken = {};
  var warned = false;

  function format(seconds) {
    var minutes = Math.floor(seconds / 60);
    var rest = seconds % 60;
    return minutes + ":" + (rest < 10 ? "0" : "") + rest;
  }

  function say(text) {
    announce.textContent = text;
  }

  // Milestones already passed when the page loads are not announced (the page itself says the time).
  milestones.forEach(function (minutes) {
    if (remaining <= minutes * 60) {
      spoken[minutes] = true;
    }
  });

  function tick() {
    var left = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    timer.textContent = format(left);
    timer.setAttribute("datetime", "PT" + left + "S");
    milestones.forEach(function (minutes) {
      if (!spoken[minutes] && left <= minutes * 60) {
        spoken[minutes] = true;
        say(minutes === 1 ? "1 minute left to complete your order." : minutes + " minutes left to complete your order.");
      }
    });
    if (!warned && left <= warnAt && left > 0 && warning) {
      warned = true;
      warning.hidden = false;
    }
    if (left <= 0) {
      window.clearInterval(interval);
      hold.classList.add("hold-lapsed");
      if (warning) {
        warning.hidden = false;
        warning.textContent = "Your hold has ended and the seats are going back on sale. Reload the page to see your order's state.";
      }
      say("Your hold has ended.");
    }
  }

  var interval = window.setInterval(tick, 1000);
  tick();
})();
