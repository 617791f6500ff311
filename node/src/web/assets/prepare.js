// The prepare-and-send editor. The draft (title, parties, fields) lives in
// `draft`; every change re-renders the parties, the field list and the field
// boxes on the pages, and the form posts the draft as JSON. Field boxes are in
// PDF points as the page is seen (origin bottom-left), shown as percentages
// of the page so they follow the page's size on any screen.
(function () {
  "use strict";
  const editor = document.getElementById("editor");
  if (!editor) return;
  const pageSizes = JSON.parse(editor.dataset.pages);
  const draft = JSON.parse(editor.dataset.draft) || { title: "", parties: [], fields: [] };
  const errors = {};
  for (const e of JSON.parse(editor.dataset.errors) || []) errors[e.key] = e.message;

  const DEFAULT_SIZE = { signature: [160, 50], stamp: [100, 100], date: [110, 22], text: [180, 22], company_details: [220, 64] };
  const KIND_LABEL = { signature: "Signature", stamp: "Stamp", date: "Date", text: "Text", company_details: "Company details" };
  const ROLE_LABEL = { company_signer: "Company signer", client: "Client", viewer: "Viewer" };
  // A colour per person, on the pages, in the list and beside the person.
  const COLOURS = ["#3346c8", "#b4541a", "#17753e", "#8a3fb8", "#b42318", "#0f7c8a", "#7a6a00"];
  const colourOf = (party) => COLOURS[(party >= 0 ? party : 0) % COLOURS.length];
  let placing = null; // the kind being placed
  let selected = -1; // index of the selected field

  // The draft is kept on the node as the person works: leaving the page loses nothing.
  let saveTimer = null;
  let opened = false; // opening the editor is no change to save
  function save() {
    if (!opened) return;
    clearTimeout(saveTimer);
    saveTimer = setTimeout(async () => {
      try {
        const response = await fetch(`/app/new/${editor.dataset.hash}/draft`, {
          method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(draft), credentials: "same-origin",
        });
        $("save-state").textContent = response.ok ? "Draft saved" : "The draft could not be saved";
      } catch (_) {
        $("save-state").textContent = "The draft could not be saved";
      }
    }, 500);
  }

  // Fields never cover each other.
  const overlaps = (f, i) => draft.fields.some((g, j) => j !== i && g.page === f.page &&
    f.x + f.width > g.x + 0.5 && g.x + g.width > f.x + 0.5 && f.y + f.height > g.y + 0.5 && g.y + g.height > f.y + 0.5);
  const NO_OVERLAP = "A field may not cover another: put it where there is room.";

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== false && v !== null && v !== undefined) node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) node.append(c);
    return node;
  };
  const errorFor = (key) => el("p", { class: "error", id: "err-" + key, role: "alert" }, errors[key] || "");

  // ---- parties ----
  function renderParties() {
    const box = $("parties");
    box.replaceChildren();
    draft.parties.forEach((party, i) => {
      const id = (name) => `party-${i}-${name}`;
      const bind = (name, parse) => (event) => {
        party[name] = parse ? parse(event.target) : event.target.value;
        delete errors[id(name)];
        renderFieldParty();
        renderFields();
      };
      const role = el("select", { id: id("role"), onchange: bind("role") },
        ...Object.entries(ROLE_LABEL).map(([value, label]) => el("option", { value, selected: party.role === value }, label)));
      box.append(el("div", { class: "party", style: `--c:${colourOf(i)}` },
        el("div", { class: "grid" },
          el("div", {}, el("label", { for: id("name") }, "Name"),
            el("input", { type: "text", id: id("name"), value: party.name || "", oninput: bind("name"), "aria-describedby": "err-" + id("name"), autocomplete: "off" }),
            errorFor(id("name"))),
          el("div", {}, el("label", { for: id("contact") }, "Email or phone"),
            el("input", { type: "text", id: id("contact"), value: party.contact || "", oninput: bind("contact"), "aria-describedby": "err-" + id("contact"), placeholder: "name@example.com or +15550100", autocomplete: "off" }),
            errorFor(id("contact"))),
          el("div", {}, el("label", { for: id("role") }, "Role"), role),
          el("div", {}, el("label", { for: id("order") }, "Signing order"),
            el("input", { type: "number", min: 1, max: 9, id: id("order"), value: party.order || 1, oninput: bind("order", (t) => parseInt(t.value, 10) || 0) }),
            errorFor(id("order")))),
        el("label", { class: "check" },
          el("input", { type: "checkbox", checked: !!party.stamp_required, onchange: bind("stamp_required", (t) => t.checked) }),
          "Company stamp required"),
        errorFor(id("fields")),
        el("button", { type: "button", class: "small-button danger", onclick: () => removeParty(i) }, "Remove " + (party.name || "this person"))));
    });
  }
  function removeParty(i) {
    draft.parties.splice(i, 1);
    draft.fields = draft.fields.filter((f) => f.party !== i).map((f) => ({ ...f, party: f.party > i ? f.party - 1 : f.party }));
    renderAll();
  }
  $("add-party").addEventListener("click", () => {
    draft.parties.push({ name: "", role: "client", contact: "", order: 2, stamp_required: false });
    renderAll();
    $(`party-${draft.parties.length - 1}-name`).focus();
  });

  // ---- which party new fields are for ----
  function renderFieldParty() {
    const select = $("field-party");
    const current = select.value;
    select.replaceChildren(...draft.parties.map((p, i) => p.role === "viewer" ? null : el("option", { value: i }, p.name || `Person ${i + 1}`)).filter(Boolean));
    if ([...select.options].some((o) => o.value === current)) select.value = current;
  }

  // ---- placing ----
  // Drawing and moving are two modes: while a field type is chosen, a drag
  // on a page draws one (the fields there do not move); otherwise a drag
  // moves the field under it.
  function setPlacing(kind) {
    placing = kind;
    for (const b of document.querySelectorAll(".kinds button")) b.setAttribute("aria-pressed", String(b.dataset.kind === placing));
    editor.classList.toggle("placing", !!placing);
    const select = $("field-party");
    const who = select.options[select.selectedIndex] ? select.options[select.selectedIndex].textContent : "";
    $("mode-hint").textContent = placing
      ? `Drawing ${KIND_LABEL[placing]} fields for ${who}: drag on a page. Choose ${KIND_LABEL[placing]} again (or press Esc) to stop and move fields instead.`
      : "Choose a field type, then drag on a page to draw the field. Drag a field to move it, its corner to resize; arrow keys move a selected field, Delete removes it.";
  }
  for (const button of document.querySelectorAll(".kinds button")) {
    button.addEventListener("click", () => setPlacing(placing === button.dataset.kind ? null : button.dataset.kind));
  }
  document.addEventListener("keydown", (event) => { if (event.key === "Escape" && placing) setPlacing(null); });
  const pageOf = (n) => document.querySelector(`.page[data-page="${n}"]`);
  const toPoints = (pageEl, clientX, clientY) => {
    const box = pageEl.getBoundingClientRect();
    const [w, h] = pageSizes[pageEl.dataset.page - 1];
    return [((clientX - box.left) / box.width) * w, h - ((clientY - box.top) / box.height) * h];
  };
  const clamp = (f) => {
    const [w, h] = pageSizes[f.page - 1];
    f.width = Math.max(10, Math.min(f.width, w));
    f.height = Math.max(10, Math.min(f.height, h));
    f.x = Math.max(0, Math.min(f.x, w - f.width));
    f.y = Math.max(0, Math.min(f.y, h - f.height));
    for (const k of ["x", "y", "width", "height"]) f[k] = Math.round(f[k] * 10) / 10;
  };

  for (const pageEl of document.querySelectorAll(".page")) {
    pageEl.addEventListener("pointerdown", (event) => {
      if (!placing) return;
      const party = parseInt($("field-party").value, 10);
      if (Number.isNaN(party)) { errors.fields = "Add a person who signs first."; renderFields(); return; }
      event.preventDefault();
      const page = parseInt(pageEl.dataset.page, 10);
      const [x0, y0] = toPoints(pageEl, event.clientX, event.clientY);
      const field = { kind: placing, page, x: x0, y: y0, width: 0, height: 0, party, label: "" };
      draft.fields.push(field);
      selected = draft.fields.length - 1;
      pageEl.setPointerCapture(event.pointerId);
      const move = (e) => {
        const [x1, y1] = toPoints(pageEl, e.clientX, e.clientY);
        field.x = Math.min(x0, x1); field.y = Math.min(y0, y1);
        field.width = Math.abs(x1 - x0); field.height = Math.abs(y1 - y0);
        renderBoxes();
      };
      const up = () => {
        pageEl.removeEventListener("pointermove", move);
        pageEl.removeEventListener("pointerup", up);
        if (field.width < 12 || field.height < 8) {
          // A click: a field of the usual size, centred where clicked.
          const [w, h] = DEFAULT_SIZE[field.kind];
          field.width = w; field.height = h; field.x = x0 - w / 2; field.y = y0 - h / 2;
        }
        clamp(field);
        delete errors.fields;
        if (overlaps(field, draft.fields.length - 1)) {
          draft.fields.pop();
          selected = -1;
          errors.fields = NO_OVERLAP;
        }
        renderFields();
      };
      pageEl.addEventListener("pointermove", move);
      pageEl.addEventListener("pointerup", up);
    });
  }

  // ---- boxes on the pages ----
  function renderBoxes() {
    for (const old of document.querySelectorAll(".page .field")) old.remove();
    draft.fields.forEach((f, i) => {
      const pageEl = pageOf(f.page);
      if (!pageEl) return;
      const [w, h] = pageSizes[f.page - 1];
      const party = draft.parties[f.party];
      const name = (f.label || "").trim() || KIND_LABEL[f.kind];
      const box = el("div", {
        class: "field" + (i === selected ? " current" : "") + (errors["field-" + i] ? " invalid" : ""),
        tabindex: 0, role: "button",
        "aria-label": `${name} for ${party ? party.name || "a person" : "nobody"} on page ${f.page}; arrows move, Alt+arrows resize, Delete removes`,
        "data-index": i,
        style: `--c:${colourOf(f.party)};left:${(f.x / w) * 100}%;top:${((h - f.y - f.height) / h) * 100}%;width:${(f.width / w) * 100}%;height:${(f.height / h) * 100}%`,
      }, `${name} · ${party ? party.name || "?" : "?"}`, el("span", { class: "grip", "aria-hidden": "true" }));
      box.addEventListener("pointerdown", (event) => startDrag(event, i, event.target.classList.contains("grip")));
      box.addEventListener("keydown", (event) => keyOnField(event, i));
      box.addEventListener("focus", () => { if (selected !== i) { selected = i; highlight(); } });
      pageEl.append(box);
    });
  }
  function highlight() {
    for (const box of document.querySelectorAll(".page .field")) box.classList.toggle("current", Number(box.dataset.index) === selected);
  }
  function startDrag(event, i, resizing) {
    event.preventDefault();
    event.stopPropagation();
    selected = i;
    highlight();
    const f = draft.fields[i];
    const pageEl = pageOf(f.page);
    const [sx, sy] = toPoints(pageEl, event.clientX, event.clientY);
    const start = { ...f };
    const target = event.currentTarget;
    target.setPointerCapture(event.pointerId);
    const move = (e) => {
      const [x, y] = toPoints(pageEl, e.clientX, e.clientY);
      if (resizing) {
        f.width = start.width + (x - sx);
        f.height = start.height - (y - sy);
        f.y = start.y + start.height - f.height;
      } else {
        f.x = start.x + (x - sx);
        f.y = start.y + (y - sy);
      }
      clamp(f);
      const [w, h] = pageSizes[f.page - 1];
      Object.assign(target.style, { left: `${(f.x / w) * 100}%`, top: `${((h - f.y - f.height) / h) * 100}%`, width: `${(f.width / w) * 100}%`, height: `${(f.height / h) * 100}%` });
    };
    const up = () => {
      target.removeEventListener("pointermove", move);
      target.removeEventListener("pointerup", up);
      delete errors["field-" + i];
      delete errors.fields;
      if (overlaps(f, i)) {
        Object.assign(f, start);
        errors.fields = NO_OVERLAP;
      }
      renderFields();
    };
    target.addEventListener("pointermove", move);
    target.addEventListener("pointerup", up);
  }
  function keyOnField(event, i) {
    const f = draft.fields[i];
    const step = event.shiftKey ? 10 : 1;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      draft.fields.splice(i, 1);
      selected = -1;
      renderFields();
      return;
    }
    const m = moves[event.key];
    if (!m) return;
    event.preventDefault();
    const before = { ...f };
    if (event.altKey) { f.width += m[0]; f.height += m[1]; f.y -= m[1]; } else { f.x += m[0]; f.y += m[1]; }
    clamp(f);
    if (overlaps(f, i)) Object.assign(f, before);
    renderFields();
    document.querySelector(`.page .field[data-index="${i}"]`)?.focus();
  }

  // ---- the list beside the pages ----
  function renderFields() {
    const list = $("fieldlist");
    list.replaceChildren();
    draft.fields.forEach((f, i) => {
      const partySelect = el("select", { "aria-label": "Who fills this field", onchange: (e) => { f.party = parseInt(e.target.value, 10); delete errors["field-" + i]; renderFields(); } },
        ...draft.parties.map((p, j) => el("option", { value: j, selected: j === f.party }, p.name || `Person ${j + 1}`)));
      const name = el("input", { type: "text", value: f.label || "", placeholder: "Name, e.g. Address", "aria-label": `Name of the ${KIND_LABEL[f.kind]} field on page ${f.page}`, oninput: (e) => { f.label = e.target.value; renderBoxes(); save(); } });
      list.append(el("li", { class: errors["field-" + i] ? "invalid" : "", style: `--c:${colourOf(f.party)}` },
        el("div", {},
          el("button", { type: "button", class: "small-button", onclick: () => { selected = i; highlight(); pageOf(f.page)?.scrollIntoView({ block: "center" }); document.querySelector(`.page .field[data-index="${i}"]`)?.focus(); } },
            `${KIND_LABEL[f.kind]} · page ${f.page}`),
          f.kind === "signature" || f.kind === "stamp" ? "" : name,
          errorFor("field-" + i)),
        partySelect,
        el("button", { type: "button", class: "small-button danger", "aria-label": `Remove ${KIND_LABEL[f.kind]} on page ${f.page}`, onclick: () => { draft.fields.splice(i, 1); renderFields(); } }, "✕")));
    });
    if (!draft.fields.length) list.append(el("li", { class: "muted small" }, "No fields yet: without fields, each signer gets a signature block on the last page."));
    $("err-fields").textContent = errors.fields || "";
    renderBoxes();
    save();
  }

  function renderAll() {
    renderParties();
    renderFieldParty();
    renderFields();
  }

  $("title").addEventListener("input", (e) => { draft.title = e.target.value; $("err-title").textContent = ""; save(); });
  $("confirm-by-code").addEventListener("change", (e) => { draft.confirm_by_code = e.target.checked; save(); });
  $("invite-all-now").addEventListener("change", (e) => { draft.invite_all_now = e.target.checked; save(); });
  $("err-title").textContent = errors.title || "";
  $("send-form").addEventListener("submit", (event) => {
    // Sent (or saved as a template): no late autosave brings the draft back.
    clearTimeout(saveTimer);
    opened = false;
    draft.title = $("title").value;
    $("draft").value = JSON.stringify(draft);
    const button = event.submitter || $("send");
    button.disabled = true;
    button.textContent = button.id === "send" ? "Sending…" : "Saving…";
  });
  renderAll();
  opened = true;
  const firstError = document.querySelector(".error:not(:empty)");
  if (firstError) firstError.scrollIntoView({ block: "center" });
})();
