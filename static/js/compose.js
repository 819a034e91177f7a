// Live character / segment counter of the compose form.
// Mirrors sms/encoding.py exactly (tests run the Python vectors through this in Chromium):
// GSM-7 basic characters cost one septet, extension characters (^{}\[~]|€ and form feed)
// two; 160 septets fit one SMS, 153 per part once concatenated, and an ESC pair never
// straddles two parts. Anything else makes the text UCS-2: 70 UTF-16 units, 67 per part,
// and a surrogate pair (most emoji) never straddles two parts.
(function () {
  "use strict";
  var GSM7_BASIC =
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
  var GSM7_EXTENDED = "^{}\\[~]|€\f";
  var BASIC = new Set(Array.from(GSM7_BASIC));
  var EXTENDED = new Set(Array.from(GSM7_EXTENDED));

  function pack(sizes, single, part) {
    var total = sizes.reduce(function (a, b) { return a + b; }, 0);
    if (total <= single) return { segments: 1, remaining: single - total, length: total };
    var segments = 1, used = 0;
    sizes.forEach(function (size) {
      if (used + size > part) { segments += 1; used = 0; }
      used += size;
    });
    return { segments: segments, remaining: part - used, length: total };
  }

  function segmentInfo(text) {
    var chars = Array.from(text); // code points, like iterating a Python str
    var gsm = chars.every(function (ch) { return BASIC.has(ch) || EXTENDED.has(ch); });
    var sizes, result, single, part;
    if (gsm) {
      sizes = chars.map(function (ch) { return EXTENDED.has(ch) ? 2 : 1; });
      single = 160; part = 153;
    } else {
      sizes = chars.map(function (ch) { return ch.codePointAt(0) > 0xffff ? 2 : 1; });
      single = 70; part = 67;
    }
    result = pack(sizes, single, part);
    return {
      encoding: gsm ? "gsm7" : "ucs2",
      length: result.length,
      segments: result.segments,
      per_segment: result.segments === 1 ? single : part,
      remaining: result.remaining,
      characters: chars.length,
    };
  }
  window.smsSegmentInfo = segmentInfo;

  function attach(textarea) {
    var counter = document.querySelector(textarea.dataset.segmentCounter);
    if (!counter) return;
    function field(name) { return counter.querySelector('[data-count="' + name + '"]'); }
    // {link} costs what the recipient's real link will (the form gives a URL of that length).
    var linkSample = textarea.dataset.linkSample || "";
    function update() {
      var value = linkSample ? textarea.value.split("{link}").join(linkSample) : textarea.value;
      var info = segmentInfo(value);
      field("characters").textContent = info.characters;
      field("encoding").textContent = info.encoding === "gsm7" ? "GSM-7" : "UCS-2 (unicode)";
      field("segments").textContent = info.segments;
      field("remaining").textContent = info.remaining;
      counter.dataset.segments = info.segments;
      counter.classList.toggle("text-warning-emphasis", info.segments > 1);
    }
    textarea.addEventListener("input", update);
    update();
  }

  document.querySelectorAll("textarea[data-segment-counter]").forEach(attach);
})();
