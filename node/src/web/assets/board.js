// The pipeline refreshes itself: every few seconds it fetches the board with
// the same filters and swaps it in when something changed (a peer signed,
// an envelope arrived).
(function () {
  "use strict";
  const board = document.getElementById("board");
  if (!board) return;
  let last = board.innerHTML;
  async function refresh() {
    try {
      const response = await fetch("/app/board?" + board.dataset.query, { credentials: "same-origin" });
      if (response.ok) {
        const html = await response.text();
        if (html !== last) {
          board.innerHTML = html;
          last = html;
        }
      }
    } catch (_) {
      // The node is restarting: try again on the next tick.
    }
  }
  setInterval(refresh, 2000);
})();
