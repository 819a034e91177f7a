// Keyboard sorting for the replies inbox: j/k move, x select, 1-9 set the reply type of the
// current text (and move on), Enter opens the conversation.
(function () {
  "use strict";
  var table = document.getElementById("inbox");
  if (!table) return;
  var rows = Array.prototype.slice.call(table.querySelectorAll("tbody tr[data-pk]"));
  var keys = {};
  document.querySelectorAll("#inbox-keys [data-key]").forEach(function (el) {
    keys[el.dataset.key] = el.dataset.type;
  });
  var csrf = (document.querySelector("#bulk input[name=csrfmiddlewaretoken]") || {}).value;
  var current = -1;

  function focus(index) {
    if (!rows.length) return;
    index = Math.max(0, Math.min(rows.length - 1, index));
    if (current >= 0) rows[current].classList.remove("table-active");
    current = index;
    rows[current].classList.add("table-active");
    rows[current].scrollIntoView({ block: "nearest" });
  }

  function setType(row, typeId) {
    var body = new URLSearchParams({ reply_type: typeId, next: window.location.pathname + window.location.search });
    row.classList.add("opacity-50");
    return fetch(row.dataset.setUrl, {
      method: "POST",
      headers: { "X-CSRFToken": csrf, "Content-Type": "application/x-www-form-urlencoded" },
      body: body,
      credentials: "same-origin",
    })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        row.classList.remove("opacity-50");
        if (data.cell) {
          var cell = row.querySelector(".type-cell");
          if (cell) cell.parentElement.innerHTML = data.cell;
          row.dataset.sorted = "1";
        }
      });
  }

  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.key === "j") { focus(current + 1); event.preventDefault(); }
    else if (event.key === "k") { focus(current - 1); event.preventDefault(); }
    else if (event.key === "x" && current >= 0) {
      var box = rows[current].querySelector("input[type=checkbox]");
      if (box) box.checked = !box.checked;
    } else if (event.key === "Enter" && current >= 0) {
      var link = rows[current].querySelector("a.conversation-link");
      if (link) window.location = link.href;
    } else if (keys[event.key] && current >= 0) {
      var row = rows[current];
      setType(row, keys[event.key]);
      focus(current + 1);
      event.preventDefault();
    }
  });
  table.addEventListener("click", function (event) {
    var row = event.target.closest("tr[data-pk]");
    if (row && event.target.tagName !== "A" && event.target.tagName !== "INPUT") focus(rows.indexOf(row));
  });
})();
