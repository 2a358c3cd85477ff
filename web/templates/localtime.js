(function () {
  // Each <time datetime="...Z"> is rewritten in the reader's own timezone and language;
  // without JavaScript the show's local time and UTC stay as the server wrote them.
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  var format = new Intl.DateTimeFormat(undefined, {
    weekday: "long", day: "numeric", month: "long", year: "numeric",
    hour: "2-digit", minute: "2-digit", timeZoneName: "short"
  });
  var times = document.querySelectorAll("time[datetime]");
  for (var i = 0; i < times.length; i++) {
    var when = new Date(times[i].getAttribute("datetime"));
    times[i].setAttribute("title", times[i].textContent);
    times[i].textContent = format.format(when);
  }
  var note = document.getElementById("zone-note");
  if (note && zone) { note.textContent = "Times are in your timezone, " + zone + "."; }
})();
