// Campaign pages: the template editor's live preview and the pull progress poller.
(function () {
  "use strict";

  function text(id, value) {
    const el = document.getElementById(id);
    if (el) el.textContent = value;
  }

  function list(id, items) {
    const el = document.getElementById(id);
    if (!el) return;
    el.replaceChildren(...items.map(function (item) {
      const li = document.createElement("li");
      li.textContent = item;
      return li;
    }));
  }

  function setupPreview(form) {
    let field = "body";
    let timer = null;
    let seq = 0;
    async function refresh() {
      const data = new FormData(form);
      data.set("field", field);
      const mine = ++seq;
      const response = await fetch(form.dataset.previewUrl, { method: "POST", body: data, credentials: "same-origin" });
      if (!response.ok || mine !== seq) return;
      const preview = await response.json();
      text("preview-field", field.replace(/_/g, " "));
      if (!preview.ok) {
        list("preview-errors", preview.errors);
        list("preview-warnings", []);
        return;
      }
      list("preview-errors", []);
      text("preview-text", preview.text);
      text("preview-encoding", preview.encoding);
      text("preview-segments", preview.segments + (preview.segments === 1 ? " segment" : " segments"));
      text("preview-length", preview.length + " / " + preview.per_segment * preview.segments + " units, " + preview.remaining + " left");
      list("preview-warnings", preview.warnings);
    }
    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 200);
    }
    form.querySelectorAll("[data-preview]").forEach(function (el) {
      el.addEventListener("focus", function () { field = el.dataset.preview; schedule(); });
    });
    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
    refresh();
  }

  function setupPull(box) {
    async function poll() {
      const response = await fetch(box.dataset.statusUrl, { credentials: "same-origin" });
      if (!response.ok) return;
      const s = await response.json();
      box.querySelector("[data-pull-state]").textContent = s.state_label;
      const bar = box.querySelector("[data-pull-bar]");
      bar.style.width = s.percent + "%";
      bar.textContent = s.percent + "%";
      box.querySelector("[data-pull-rows]").textContent = s.rows_done + " / " + s.rows_total + " rows";
      box.querySelector("[data-pull-summary]").textContent = s.summary;
      box.querySelector("[data-pull-error]").textContent = s.error;
      if (s.campaign_url) {
        const link = document.createElement("a");
        link.href = s.campaign_url;
        link.textContent = "Open the campaign";
        box.querySelector("[data-pull-campaign]").replaceChildren(link);
      }
      if (!s.finished) setTimeout(poll, 1000);
    }
    poll();
  }

  const form = document.getElementById("template-form");
  if (form) setupPreview(form);
  const pull = document.getElementById("pull");
  if (pull) setupPull(pull);
})();
