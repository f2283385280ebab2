// The live map's browser-side callbacks: playback, hour steps, the view state in the URL, the zoom level that
// groups stations, zooming into a group, and the browser's location (asked only when "Near me" is pressed).
var MAP_GRAPH = "#map-graph .js-plotly-plot";

// The table view's station names are buttons: pressing one (mouse or keyboard) opens that station's panel.
document.addEventListener("click", function (event) {
  var pick = event.target.closest && event.target.closest(".station-pick");
  if (pick) { window.dash_clientside.set_props("map-selected", {data: Number(pick.dataset.station)}); }
});

// Cluster counts as HTML over the map (MapLibre's own text would fetch glyphs from the internet).
function drawCounts(gd) {
  var sub = gd._fullLayout && gd._fullLayout.map && gd._fullLayout.map._subplot;
  if (!sub || !sub.map) { return; }
  var map = sub.map, box = map.getContainer().querySelector(".cluster-counts");
  if (!box) {
    box = document.createElement("div");
    box.className = "cluster-counts";
    box.setAttribute("aria-hidden", "true");  // the same counts are in the hover text and the table view
    map.getContainer().appendChild(box);
    map.on("move", function () { place(map, box); });
  }
  box.textContent = "";
  (gd.data || []).forEach(function (trace) {
    if (!trace.name || trace.name.indexOf("cluster: ") !== 0) { return; }
    trace.text.forEach(function (count, i) {
      var label = document.createElement("span");
      label.textContent = count;
      label.dataset.lon = trace.lon[i];
      label.dataset.lat = trace.lat[i];
      label.style.color = trace.textfont.color;
      box.appendChild(label);
    });
  });
  place(map, box);
}

function place(map, box) {
  Array.prototype.forEach.call(box.children, function (label) {
    var p = map.project([Number(label.dataset.lon), Number(label.dataset.lat)]);
    label.style.transform = "translate(" + Math.round(p.x) + "px," + Math.round(p.y) + "px) translate(-50%,-50%)";
  });
}

// Dash replaces the figure on every update: redraw the counts after each plot.
new MutationObserver(function () {
  var gd = document.querySelector(MAP_GRAPH);
  if (gd && !gd.dataset.countsBound) {
    gd.dataset.countsBound = "1";
    gd.on("plotly_afterplot", function () { drawCounts(gd); });
    drawCounts(gd);
  }
}).observe(document.documentElement, {childList: true, subtree: true});

window.dash_clientside = Object.assign({}, window.dash_clientside, {
  aqiMap: {
    clusterZoom: function (relayout, city, stored) {
      var nu = window.dash_clientside.no_update;
      if (!relayout || relayout["map.zoom"] === undefined) { return nu; }
      var level = Math.floor(relayout["map.zoom"]);
      if (stored && stored.city === city && stored.level === level) { return nu; }
      return {city: city, level: level};
    },
    zoomToCluster: function (click, city) {
      var nu = window.dash_clientside.no_update;
      var point = click && click.points && click.points[0];
      if (!point || !Array.isArray(point.customdata)) { return nu; }
      var gd = document.querySelector(MAP_GRAPH);
      var zoom = Math.min(gd._fullLayout.map.zoom + 2, 16);
      window.Plotly.relayout(gd, {"map.center": {lon: point.customdata[0], lat: point.customdata[1]},
                                  "map.zoom": zoom});
      return {city: city, level: Math.floor(zoom)};
    },
    nearMe: function () {
      var nu = window.dash_clientside.no_update;
      if (!navigator.geolocation) { return [nu, "This browser cannot share its location."]; }
      return new Promise(function (resolve) {
        navigator.geolocation.getCurrentPosition(function (p) {
          resolve([{lat: p.coords.latitude, lon: p.coords.longitude}, "Finding the nearest station…"]);
        }, function (error) {
          resolve([nu, "Your location was not shared (" + error.message + "): nothing was looked up."]);
        }, {timeout: 15000, maximumAge: 600000});
      });
    },
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
