// The live map's browser-side callbacks: playback, hour steps, and the view state in the URL.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  aqiMap: {
    togglePlay: function (_clicks, disabled) {
      var playing = disabled;  // it was stopped: start it
      return [!playing, playing ? "❚❚ Pause" : "▶ Play", playing ? "true" : "false"];
    },
    step: function (_tick, _back, _forward, value, min, max, disabled) {
      var nu = window.dash_clientside.no_update;
      var trigger = window.dash_clientside.callback_context.triggered_id;
      if (trigger === "map-back") { return [Math.max(min, value - 1), nu, nu]; }
      if (trigger === "map-forward") { return [Math.min(max, value + 1), nu, nu]; }
      if (disabled) { return [nu, nu, nu]; }
      // Playing: one hour per tick, from the start again after the newest hour.
      return [value >= max ? min : value + 1, nu, nu];
    },
    syncUrl: function (city, standard, pollutant, hour, min, max, start, end, layers, cvd, view, station) {
      var iso = function (h) { return new Date(h * 3600000).toISOString().slice(0, 13) + ":00Z"; };
      var q = new URLSearchParams();
      if (city) { q.set("city", city); }
      q.set("standard", standard);
      q.set("pollutant", pollutant);
      if (hour !== null && hour !== undefined && hour !== max) { q.set("time", iso(hour)); }
      if (start) { q.set("start", start.slice(0, 13) + ":00Z"); }
      if (end) { q.set("end", end.slice(0, 13) + ":00Z"); }
      var chosen = (layers || []).slice().sort().join(",");
      if (chosen !== "low_cost,reference") { q.set("layers", (layers || []).join(",")); }
      if (cvd) { q.set("palette", "cvd"); }
      if (view && view !== "map") { q.set("view", view); }
      if (station !== null && station !== undefined) { q.set("station", station); }
      var search = "?" + q.toString();
      // replaceState, not dcc.Location: changing the Location's search would make Dash Pages rebuild the page.
      if (window.location.search !== search) {
        window.history.replaceState(window.history.state, "", window.location.pathname + search);
      }
      var who = station !== null && station !== undefined ? "station=" + station
        : (city ? "city=" + encodeURIComponent(city) : null);
      var href = "#", note = "Pick a city or a station to download or embed it.", code = note;
      if (who) {
        var e = new URLSearchParams();
        if (pollutant !== "aqi") { e.set("pollutants", pollutant); }
        e.set("start", iso(min));
        e.set("end", iso(max + 1));
        href = "/export/measurements.csv?" + who + "&" + e.toString();
        note = "";
        var path = station !== null && station !== undefined ? "station/" + station : "city/" + encodeURIComponent(city);
        var src = window.location.origin + "/embed/" + path + "?standard=" + standard + "&pollutant=" + pollutant
          + "&theme=light&lang=en&refresh=300";
        code = '<iframe src="' + src + '" title="Air quality: ' + (city || "station " + station)
          + '" width="360" height="440" style="border:0" loading="lazy"></iframe>';
      }
      var label = hour === null || hour === undefined ? "" : new Date(hour * 3600000).toISOString().slice(0, 13)
        .replace("T", " ") + ":00 UTC" + (hour === max ? " (newest)" : "");
      return [search, href, note, code, label];
    }
  }
});
