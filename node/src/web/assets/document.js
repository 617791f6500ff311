// The document page: "Copy link" buttons for the invitations.
(function () {
  "use strict";
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const input = document.getElementById(button.dataset.copy);
      input.select();
      try {
        await navigator.clipboard.writeText(input.value);
      } catch (_) {
        document.execCommand("copy");
      }
      const label = button.textContent;
      button.textContent = "Copied";
      setTimeout(() => { button.textContent = label; }, 1500);
    });
  }
})();

// While the PDF or images are still arriving from the other nodes, reload
// every few seconds so the pages show as soon as they are here.
(function () {
  "use strict";
  // Not forever: after about two minutes the page says so and stops.
  const key = "countersign-reloads:" + window.location.pathname;
  const notice = document.querySelector("[data-arriving]");
  if (!notice) { sessionStorage.removeItem(key); return; }
  const reloads = Number(sessionStorage.getItem(key) || 0);
  if (reloads < 48) {
    sessionStorage.setItem(key, String(reloads + 1));
    setTimeout(() => window.location.reload(), 2500);
  } else {
    notice.append(" The other nodes have not sent everything yet: reload this page later.");
  }
})();

// The page follows its envelope: when it moves on (someone signed, it became
// my turn, the final PDF is ready), it reloads; while the person is filling
// in a form, it only says so, so nothing typed is lost.
(function () {
  "use strict";
  const follow = document.getElementById("follow");
  if (!follow) return;
  const url = "/app/e/" + follow.dataset.envelope + "/progress?since=" + encodeURIComponent(follow.dataset.progress);
  let busy = false;
  document.addEventListener("input", () => { busy = true; });
  document.addEventListener("pointerdown", (e) => { if (e.target.closest("form, canvas")) busy = true; });
  const sleep = (ms) => new Promise((done) => setTimeout(done, ms));
  function changed() {
    if (!busy) { window.location.reload(); return; }
    const notice = document.createElement("p");
    notice.className = "notice";
    notice.setAttribute("role", "status");
    notice.textContent = "This document has changed since you opened it. ";
    const reload = document.createElement("button");
    reload.type = "button";
    reload.textContent = "Show the changes";
    reload.addEventListener("click", () => window.location.reload());
    notice.append(reload);
    follow.after(notice);
  }
  // The node answers when the envelope's progress differs from the page's
  // (or, after half a minute, the same tag: ask again).
  // A hidden tab does not ask (a browser keeps few connections per host).
  const shown = () => document.visibilityState === "visible"
    ? Promise.resolve()
    : new Promise((done) => document.addEventListener("visibilitychange", function seen() {
      if (document.visibilityState === "visible") { document.removeEventListener("visibilitychange", seen); done(); }
    }));
  async function run() {
    for (;;) {
      await shown();
      try {
        const response = await fetch(url, { credentials: "same-origin" });
        if (response.ok && (await response.text()) !== follow.dataset.progress) { changed(); return; }
        if (!response.ok) await sleep(5000);
      } catch (_) {
        await sleep(5000);
      }
    }
  }
  run();
})();
