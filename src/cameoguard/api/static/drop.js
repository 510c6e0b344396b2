// Drag and drop onto the verify form: the dropped file becomes the form's file, then submits.
(function () {
  var zone = document.getElementById("drop");
  var input = document.getElementById("file");
  var form = document.getElementById("verify-form");
  if (!zone || !input || !form) return;
  function busy() {
    var note = document.getElementById("busy");
    if (note) note.hidden = false;
  }
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (event) {
      event.preventDefault();
      zone.classList.add("over");
    });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function () { zone.classList.remove("over"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (!event.dataTransfer || !event.dataTransfer.files.length) return;
    input.files = event.dataTransfer.files;
    busy();
    form.submit();
  });
  form.addEventListener("submit", busy);
})();
