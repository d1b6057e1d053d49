/// The dashboard's script, served as `/assets/dashboard.js` (hand-written, no build step, no
/// dependency). Every page reads without it; with it the task list follows the change feed
/// (`/feed`) and a task's page its live stream. It only ever inserts markup the server drew and
/// escaped.
enum DashboardScript {
    /// The JavaScript.
    static let js = #"""
    "use strict";
    (function () {
      function liveDot(on) {
        var dot = document.getElementById("live-dot");
        if (dot) { dot.classList.toggle("on", on); }
      }

      // Buttons that ask first (cancel).
      document.addEventListener("click", function (event) {
        var button = event.target.closest ? event.target.closest("button[data-confirm]") : null;
        if (button && !window.confirm(button.getAttribute("data-confirm"))) { event.preventDefault(); }
      });

      // The task list: each task the change feed names has its row fetched again (redrawn, added
      // to the first page, or taken off when it no longer passes the filters).
      var list = document.querySelector("table[data-live-list]");
      if (list && window.EventSource) {
        var body = list.tBodies[0];
        var filter = list.getAttribute("data-filter");
        var firstPage = list.getAttribute("data-first-page") === "true";
        var pending = {};
        var refreshRow = function (id) {
          if (pending[id]) { return; }
          pending[id] = setTimeout(function () {
            delete pending[id];
            fetch("/tasks/" + encodeURIComponent(id) + "/row?" + filter, { credentials: "same-origin" }).then(function (response) {
              var row = document.getElementById("row-" + id);
              if (response.status === 204) { if (row) { row.remove(); } return null; }
              if (!response.ok) { return null; }
              return response.text().then(function (html) {
                var checked = row && row.querySelector("input[type=checkbox]:checked");
                if (row) {
                  row.insertAdjacentHTML("afterend", html);
                  row.remove();
                } else if (firstPage) {
                  var empty = body.querySelector("tr.empty");
                  if (empty) { empty.remove(); }
                  body.insertAdjacentHTML("afterbegin", html);
                } else {
                  return;
                }
                var fresh = document.getElementById("row-" + id);
                if (fresh) {
                  fresh.classList.add("flash");
                  if (checked) { fresh.querySelector("input[type=checkbox]").checked = true; }
                }
              });
            }).catch(function () {});
          }, 150);
        };
        // Each half second's changed tasks: their rows on this page are drawn again; on the first
        // page, a few new ones are added (a busy queue does not turn into a fetch per task).
        var feed = new EventSource("/feed");
        var fullRefreshAt = 0;
        feed.addEventListener("changed", function (message) {
          try {
            var added = 0;
            var digest = JSON.parse(message.data);
            // More changed than the digest names: every row on the page, at most every 2 s.
            if (digest.overflow && Date.now() - fullRefreshAt > 2000) {
              fullRefreshAt = Date.now();
              Array.prototype.forEach.call(body.rows, function (row) {
                if (row.id && row.id.indexOf("row-") === 0) { refreshRow(row.id.slice(4)); }
              });
            }
            digest.ids.forEach(function (id) {
              if (document.getElementById("row-" + id)) { refreshRow(id); }
              else if (firstPage && added < 10) { added += 1; refreshRow(id); }
            });
          } catch (ignored) {}
        });
        feed.onopen = function () { liveDot(true); };
        feed.onerror = function () { liveDot(false); };
      }

      // A task's page: each new event of the task is drawn by the server and appended where it
      // says (the conversation, or inside a tool call); state changes reload the other panels.
      var conversation = document.querySelector("[data-live-task]");
      if (conversation && window.EventSource && conversation.getAttribute("data-terminal") !== "true") {
        var task = conversation.getAttribute("data-live-task");
        var after = conversation.getAttribute("data-after") || "0";
        var source = new EventSource("/tasks/" + encodeURIComponent(task) + "/live?after=" + encodeURIComponent(after));
        var refreshing = null;
        var refreshPanels = function () {
          if (refreshing) { return; }
          refreshing = setTimeout(function () {
            refreshing = null;
            fetch(window.location.pathname, { credentials: "same-origin" }).then(function (response) {
              return response.ok ? response.text() : null;
            }).then(function (html) {
              if (!html) { return; }
              var fresh = new DOMParser().parseFromString(html, "text/html");
              ["summary", "side", "diff-section"].forEach(function (id) {
                var now = document.getElementById(id);
                var next = fresh.getElementById(id);
                if (now && next) { now.replaceWith(document.importNode(next, true)); }
              });
            }).catch(function () {});
          }, 100);
        };
        source.addEventListener("piece", function (message) {
          var piece = JSON.parse(message.data);
          if (piece.html) {
            var target = (piece.target && document.getElementById(piece.target)) || conversation;
            target.insertAdjacentHTML("beforeend", piece.html);
          }
          if (piece.failed_call) {
            var call = document.getElementById(piece.failed_call);
            if (call) { call.classList.add("error"); }
          }
          if (piece.state) { conversation.setAttribute("data-state", piece.state); }
          if (piece.refresh) { refreshPanels(); }
          if (piece.terminal) {
            source.close();
            liveDot(false);
            conversation.setAttribute("data-terminal", "true");
          }
        });
        source.onopen = function () { liveDot(true); };
        source.onerror = function () { liveDot(false); };
      }
    })();
    """#
}
