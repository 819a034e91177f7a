// SIM form: show the modem fields or the gateway fields, whichever kind is chosen.
(function () {
  const modemOnly = ["device", "pin_env"];
  const gatewayOnly = ["backend", "credentials"];
  function wrapper(name) {
    const field = document.getElementById("id_" + name);
    return field ? field.closest(".mb-3") || field.parentElement : null;
  }
  function update() {
    const checked = document.querySelector('input[name="kind"]:checked');
    const kind = checked ? checked.value : "modem";
    modemOnly.forEach((n) => { const w = wrapper(n); if (w) w.hidden = kind !== "modem"; });
    gatewayOnly.forEach((n) => { const w = wrapper(n); if (w) w.hidden = kind !== "gateway"; });
  }
  document.querySelectorAll('input[name="kind"]').forEach((input) => input.addEventListener("change", update));
  update();
})();
