// Live SLA countdowns on the reviewer pages. No inline script (CSP script-src 'self'); the server
// already rendered the same text, so the page is complete without JavaScript.
(function () {
  "use strict";

  function words(seconds) {
    var minutes = Math.floor(Math.abs(seconds) / 60);
    var hours = Math.floor(minutes / 60);
    var days = Math.floor(hours / 24);
    minutes = minutes % 60;
    hours = hours % 24;
    var text;
    if (days) {
      text = days + " d " + hours + " h";
    } else if (hours) {
      text = hours + " h " + (minutes < 10 ? "0" : "") + minutes + " min";
    } else {
      text = minutes + " min";
    }
    return seconds > 0 ? text + " left" : "overdue by " + text;
  }

  function tick() {
    var now = Date.now();
    var nodes = document.querySelectorAll("[data-deadline]");
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      if (node.getAttribute("data-final") === "true") {
        continue;
      }
      var deadline = Date.parse(node.getAttribute("data-deadline"));
      if (isNaN(deadline)) {
        continue;
      }
      var seconds = Math.round((deadline - now) / 1000);
      node.textContent = words(seconds);
      node.classList.toggle("overdue", seconds <= 0);
    }
  }

  tick();
  window.setInterval(tick, 15000);
})();
