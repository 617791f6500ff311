// The signing page: the walker jumps from one of my fields to the next, the
// signature is drawn (mouse, pen, touch), typed or uploaded, the review lists
// what will be signed, and the form is posted with the drawn or typed
// signature as a PNG file.
(function () {
  "use strict";
  const form = document.getElementById("sign-form");
  if (!form) return;
  const $ = (id) => document.getElementById(id);

  // ---- walker: my fields, one after another ----
  const walker = [...document.querySelectorAll("#walker button")];
  function goTo(index) {
    for (const box of document.querySelectorAll(".page .field.mine")) box.classList.toggle("current", box.dataset.field === String(index));
    const box = document.querySelector(`.page .field[data-field="${index}"]`);
    if (box) box.scrollIntoView({ behavior: "smooth", block: "center" });
    const input = $("text-" + index);
    const kindBox = box && box.dataset.kind === "stamp" ? $("stamp-file") : null;
    (input || kindBox || $("pad") || $("signature-file"))?.focus({ preventScroll: true });
  }
  walker.forEach((button) => button.addEventListener("click", () => goTo(button.dataset.goto)));
  for (const box of document.querySelectorAll(".page .field.mine")) {
    box.addEventListener("click", () => goTo(box.dataset.field));
  }

  // ---- signature: draw, type or upload ----
  const pad = $("pad");
  let mode = "draw";
  let drawn = false;
  if (pad) {
    const ctx = pad.getContext("2d");
    ctx.lineWidth = 3.2;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.strokeStyle = "#1b2a8a";
    let last = null;
    const point = (e) => {
      const r = pad.getBoundingClientRect();
      return [((e.clientX - r.left) / r.width) * pad.width, ((e.clientY - r.top) / r.height) * pad.height];
    };
    pad.addEventListener("pointerdown", (e) => { e.preventDefault(); pad.setPointerCapture(e.pointerId); last = point(e); });
    pad.addEventListener("pointermove", (e) => {
      if (!last) return;
      const p = point(e);
      ctx.beginPath(); ctx.moveTo(last[0], last[1]); ctx.lineTo(p[0], p[1]); ctx.stroke();
      last = p;
      drawn = true;
      $("err-signature").textContent = "";
    });
    const stop = () => { last = null; };
    pad.addEventListener("pointerup", stop);
    pad.addEventListener("pointercancel", stop);
    $("clear-pad").addEventListener("click", () => { ctx.clearRect(0, 0, pad.width, pad.height); drawn = false; });
    for (const tab of document.querySelectorAll("[data-tab]")) {
      tab.addEventListener("click", () => {
        mode = tab.dataset.tab;
        for (const t of document.querySelectorAll("[data-tab]")) t.setAttribute("aria-selected", String(t === tab));
        for (const panel of document.querySelectorAll("[data-panel]")) panel.hidden = panel.dataset.panel !== mode;
      });
    }
  }

  // A typed name drawn in a handwriting-like font, as a transparent PNG.
  function typedCanvas() {
    const text = ($("typed").value || "").trim();
    if (!text) return null;
    const canvas = document.createElement("canvas");
    canvas.width = 600; canvas.height = 200;
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#1b2a8a";
    ctx.font = 'italic 72px "Brush Script MT", "Segoe Script", cursive';
    ctx.textBaseline = "middle";
    ctx.fillText(text, 20, 100, 560);
    return canvas;
  }
  function signatureCanvas() {
    if (!pad) return null;
    if (mode === "draw") return drawn ? pad : null;
    if (mode === "type") return typedCanvas();
    return null;
  }

  // ---- review, then sign ----
  const dialog = $("review-dialog");
  $("review").addEventListener("click", () => {
    const list = $("review-list");
    list.replaceChildren();
    const row = (label, value) => {
      const li = document.createElement("li");
      const name = document.createElement("span");
      name.textContent = label;
      li.append(name, value);
      list.append(li);
    };
    let missing = null;
    if (pad) {
      const canvas = signatureCanvas();
      const file = $("signature-file").files[0];
      if (canvas) { const img = new Image(); img.src = canvas.toDataURL("image/png"); img.alt = "Your signature"; row("Signature", img); }
      else if (mode === "upload" && file) row("Signature", document.createTextNode(file.name));
      else { $("err-signature").textContent = "Add your signature: draw it, type it or upload it."; missing = missing || $("signature-box"); }
    }
    const stamp = $("stamp-file");
    if (stamp) {
      if (stamp.files[0]) row("Stamp", document.createTextNode(stamp.files[0].name));
      else { $("err-stamp").textContent = "Add the company stamp."; missing = missing || stamp; }
    }
    for (const input of form.querySelectorAll("[name^='text-']")) {
      const label = form.querySelector(`label[for="${input.id}"]`).textContent.replace(/ \*$/, "");
      if (input.required && !input.value.trim()) {
        $("err-" + input.id).textContent = "This field is required.";
        missing = missing || input;
      } else {
        $("err-" + input.id).textContent = "";
        row(label, document.createTextNode(input.value || "—"));
      }
    }
    if (missing) { missing.scrollIntoView({ block: "center" }); return; }
    dialog.showModal();
  });
  $("cancel-review").addEventListener("click", () => dialog.close());

  let signing = false;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    // Enter in a text box submits the form: it opens the review, never signs unseen.
    if (!dialog.open) { $("review").click(); return; }
    if (signing) return;
    signing = true;
    const confirm = $("confirm");
    confirm.disabled = true;
    confirm.textContent = "Signing…";
    try {
      const data = new FormData(form);
      const canvas = signatureCanvas();
      if (canvas) {
        const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
        data.set("signature", blob, "signature.png");
      }
      const response = await fetch(form.action, { method: "POST", body: data, credentials: "same-origin" });
      if (response.redirected) {
        window.location.assign(response.url);
        return;
      }
      // Errors: the server sent the page again with a message next to each problem.
      document.open();
      document.write(await response.text());
      document.close();
    } catch (_) {
      signing = false;
      confirm.disabled = false;
      confirm.textContent = "Sign now";
      $("review-list").replaceChildren(document.createTextNode("Your node did not answer. Is it still running? Try again."));
    }
  });
})();
