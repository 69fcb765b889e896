// The crash trace viewer: shows a trace written by the course kit (`distributed::crash_trace`,
// format "durable-storage-crash-trace", version 1) as a timeline of steps, a byte strip per
// file, the directories before and after the crash, the recovery's steps and the failed check.
//
// Plain JavaScript and SVG, no build step, no network. A trace is hostile data (a student's
// file names and messages, or anything a file picker hands over): every string from it is put
// into the page with textContent or as an SVG text node, never parsed as HTML, and only
// numbers computed here become attributes.
//
// Use:
//   <div class="crash-trace-viewer" data-example="lab1-…"></div>   one of the book's examples
//   <div class="crash-trace-viewer" data-picker></div>               a picker: examples, a file, pasted JSON
// Example scripts assign window.CRASH_TRACE_EXAMPLES["name"] = { …trace… } (a browser will not
// fetch a file:// URL, but it will run a script). `?example=name` in the page's URL chooses the
// picker's first trace.
(function () {
  "use strict";

  var FORMAT = "durable-storage-crash-trace";
  var VERSION = 1;
  var SVG_NS = "http://www.w3.org/2000/svg";

  // Colours of the byte strips and the timeline, readable on mdBook's light and dark themes.
  var COLOURS = {
    durable: "#4a78c2",
    kept: "#3a9a4a",
    lost: "#d0453b",
    torn: "#e39b1c",
    grown: "#9a5fc0",
    future: "#9a9a9a",
  };

  var OP_COLOURS = {
    create: "#4a78c2",
    create_dir: "#4a78c2",
    write: "#6f8faf",
    set_len: "#6f8faf",
    sync: "#3a9a4a",
    sync_dir: "#2f7d3c",
    rename: "#c27c2a",
    remove: "#b5473f",
  };

  var STYLE = [
    ".ctv{font-size:0.9em;margin:1em 0;border:1px solid var(--table-border-color,#ccc);border-radius:4px;padding:0.6em 0.9em;}",
    ".ctv h3,.ctv h4{margin:0.8em 0 0.3em 0;}",
    ".ctv .ctv-failure{border-left:4px solid " + COLOURS.lost + ";padding:0.2em 0.7em;background:var(--quote-bg,#f6f6f6);}",
    ".ctv pre{white-space:pre-wrap;word-break:break-word;margin:0.3em 0;font-size:0.9em;}",
    ".ctv .ctv-meta{color:var(--sidebar-fg,#666);}",
    ".ctv table{border-collapse:collapse;margin:0.3em 0;font-size:0.9em;}",
    ".ctv td,.ctv th{border:1px solid var(--table-border-color,#ccc);padding:2px 6px;vertical-align:top;text-align:left;overflow-wrap:anywhere;}",
    ".ctv p,.ctv div{overflow-wrap:anywhere;}",
    ".ctv .ctv-kept{color:" + COLOURS.kept + ";font-weight:bold;}",
    ".ctv .ctv-lost{color:" + COLOURS.lost + ";font-weight:bold;}",
    ".ctv .ctv-part{color:" + COLOURS.torn + ";font-weight:bold;}",
    ".ctv .ctv-selected td{background:rgba(227,155,28,0.18);}",
    ".ctv svg text{font-family:var(--mono-font,monospace);}",
    ".ctv .ctv-step{cursor:pointer;}",
    ".ctv .ctv-legend span{display:inline-block;margin-right:1em;}",
    ".ctv .ctv-swatch{display:inline-block;width:0.9em;height:0.9em;margin-right:0.3em;vertical-align:middle;}",
    ".ctv .ctv-dirs{display:flex;flex-wrap:wrap;gap:1em;}",
    ".ctv .ctv-error{color:" + COLOURS.lost + ";}",
    ".ctv-picker-controls{margin:0.5em 0;display:flex;flex-wrap:wrap;gap:0.6em;align-items:center;}",
    ".ctv-picker-controls textarea{width:100%;min-height:4em;font-family:var(--mono-font,monospace);}",
  ].join("\n");

  function addStyle() {
    if (document.getElementById("ctv-style")) return;
    var style = document.createElement("style");
    style.id = "ctv-style";
    style.textContent = STYLE;
    document.head.appendChild(style);
  }

  // An element with text (always textContent).
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    if (attrs) {
      for (var key in attrs) {
        if (Object.prototype.hasOwnProperty.call(attrs, key)) node.setAttribute(key, attrs[key]);
      }
    }
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svg(tag, attrs) {
    var node = document.createElementNS(SVG_NS, tag);
    for (var key in attrs) {
      if (Object.prototype.hasOwnProperty.call(attrs, key)) node.setAttribute(key, String(attrs[key]));
    }
    return node;
  }

  function svgTitle(node, text) {
    var title = document.createElementNS(SVG_NS, "title");
    title.textContent = String(text);
    node.appendChild(title);
    return node;
  }

  function num(value) {
    return typeof value === "number" && isFinite(value) ? value : 0;
  }

  function str(value) {
    return value === null || value === undefined ? "" : String(value);
  }

  function list(value) {
    return Array.isArray(value) ? value : [];
  }

  function plural(n, word) {
    return n + " " + word + (n === 1 ? "" : "s");
  }

  // Checks what the viewer relies on, so a wrong file gives a message instead of a broken page.
  function validate(trace) {
    if (!trace || typeof trace !== "object") return "not a JSON object";
    if (trace.format !== FORMAT) return "not a crash trace (format " + JSON.stringify(str(trace.format)).slice(0, 80) + ")";
    if (trace.version !== VERSION) return "a crash trace of version " + str(trace.version) + "; this viewer reads version " + VERSION;
    if (!trace.crash || !Array.isArray(trace.steps) || !Array.isArray(trace.files) || !Array.isArray(trace.directories)) {
      return "a crash trace without its crash point, steps, files or directories";
    }
    return null;
  }

  function stepLabel(step) {
    var text = "#" + num(step.step) + " " + str(step.op) + " " + str(step.path);
    if (step.op === "write") text += " @" + num(step.offset) + " +" + num(step.len);
    if (step.op === "set_len") text += " = " + num(step.len);
    if (step.op === "rename") text += " -> " + str(step.to);
    if (step.failed) text += " (failed)";
    return text;
  }

  // A write's first bytes as text when they read as text, else as hex.
  function previewOf(data) {
    if (!data) return "";
    var text = str(data.text);
    var readable = text.replace(/\./g, "").length;
    var more = num(data.len) > num(data.shown) ? " …" : "";
    if (text.length && readable * 2 >= text.length) return JSON.stringify(text) + more;
    var hex = str(data.hex).split(" ").slice(0, 12).join(" ");
    return hex + (num(data.len) > 12 ? " …" : "");
  }

  function modeLabel(crash) {
    var text = str(crash.mode);
    if (crash.mode_seed) text += " (seed " + str(crash.mode_seed) + ")";
    return text;
  }

  // ---- the failure --------------------------------------------------------------------------

  function renderFailure(trace) {
    var box = el("div", { class: "ctv-failure" });
    var failure = trace.failure || {};
    box.appendChild(el("h3", null, failure.invariant ? "Failed invariant: [" + str(failure.invariant) + "]" : "Failed check"));
    box.appendChild(el("pre", { class: "ctv-message" }, str(failure.message)));
    var crash = trace.crash;
    var meta = el("p", { class: "ctv-meta" });
    meta.textContent =
      "Test " + str(trace.test) + " — power cut after step " + num(crash.after_step) + " of " + num(crash.steps) +
      "; the check saw the " + modeLabel(crash) + " image; " + plural(num(crash.acked), "acknowledgement") +
      " recorded by then; explorer seed " + str(trace.explorer_seed) + ".";
    box.appendChild(meta);
    if (trace.replay) {
      box.appendChild(el("p", null, "Replay:"));
      box.appendChild(el("pre", null, str(trace.replay)));
    }
    return box;
  }

  // ---- the timeline -------------------------------------------------------------------------

  function renderTimeline(trace, state) {
    var wrap = el("div", { class: "ctv-timeline" });
    wrap.appendChild(el("h4", null, "Steps"));
    var steps = trace.steps;
    var crashAt = num(trace.crash.after_step);
    var box = 26;
    var gap = 3;
    // Columns: one per step, one for each gap of omitted steps.
    var columns = [];
    var previous = 0;
    steps.forEach(function (step) {
      if (num(step.step) > previous + 1) columns.push({ gap: num(step.step) - previous - 1 });
      columns.push({ step: step });
      previous = num(step.step);
    });
    if (num(trace.crash.steps) > previous) columns.push({ gap: num(trace.crash.steps) - previous, after: true });
    // Room after the last column for the power cut's label.
    var width = Math.max(columns.length * (box + gap) + 110, 200);
    var height = 74;
    var chart = svg("svg", { width: width, height: height, role: "img", class: "ctv-timeline-svg" });
    svgTitle(chart, "Timeline of " + steps.length + " steps; the power was cut after step " + crashAt);
    var x = 10;
    var crashX = null;
    var lastAcked = null;
    columns.forEach(function (column) {
      if (column.gap) {
        var t = svg("text", { x: x + box / 2, y: 34, "text-anchor": "middle", "font-size": 14 });
        t.textContent = "…";
        svgTitle(t, plural(column.gap, "step") + " not in this trace");
        chart.appendChild(t);
        x += box + gap;
        return;
      }
      var step = column.step;
      var ran = num(step.step) <= crashAt;
      var group = svg("g", { class: "ctv-step", "data-step": num(step.step) });
      var rect = svg("rect", {
        x: x, y: 14, width: box, height: 30, rx: 3,
        fill: ran ? OP_COLOURS[step.op] || "#777" : COLOURS.future,
        opacity: ran ? 1 : 0.45,
        stroke: step.failed ? COLOURS.lost : "none",
        "stroke-width": 2,
      });
      group.appendChild(rect);
      var label = svg("text", { x: x + box / 2, y: 33, "text-anchor": "middle", "font-size": 9, fill: "#fff" });
      label.textContent = shortOp(str(step.op));
      group.appendChild(label);
      var number = svg("text", { x: x + box / 2, y: 10, "text-anchor": "middle", "font-size": 8 });
      number.textContent = String(num(step.step));
      group.appendChild(number);
      if (typeof step.acked === "number" && step.acked !== lastAcked) {
        var acked = svg("text", { x: x + box / 2, y: 58, "text-anchor": "middle", "font-size": 9, fill: COLOURS.kept });
        acked.textContent = "✓" + step.acked;
        group.appendChild(acked);
        lastAcked = step.acked;
      }
      svgTitle(group, stepLabel(step) + (ran ? "" : " — did not run before the power cut") +
        (typeof step.acked === "number" ? " — acknowledgements after it: " + step.acked : ""));
      group.addEventListener("click", function () { state.select(num(step.step)); });
      state.marks.push({ step: num(step.step), rect: rect, failed: !!step.failed });
      chart.appendChild(group);
      if (num(step.step) === crashAt) crashX = x + box + gap / 2;
      x += box + gap;
    });
    if (crashAt === 0) crashX = 10 - gap / 2 + 2;
    if (crashX !== null) {
      chart.appendChild(svg("line", { x1: crashX, y1: 2, x2: crashX, y2: 50, stroke: COLOURS.lost, "stroke-width": 3, class: "ctv-crash-line" }));
      var bolt = svg("text", { x: crashX + 3, y: 70, "font-size": 10, fill: COLOURS.lost });
      bolt.textContent = "⚡ power cut";
      chart.appendChild(bolt);
    }
    var scroller = el("div", { style: "overflow-x:auto" });
    scroller.appendChild(chart);
    wrap.appendChild(scroller);
    var note = "Click a step to see the disk after it. ✓n: acknowledgements the workload had recorded when a crash right after that step cut it off.";
    if (num(trace.steps_omitted) > 0) note += " " + plural(num(trace.steps_omitted), "step") + " are not in this trace (…).";
    wrap.appendChild(el("p", { class: "ctv-meta" }, note));
    return wrap;
  }

  function shortOp(op) {
    return { create: "new", create_dir: "dir", write: "wr", set_len: "len", sync: "sync", sync_dir: "dsy", rename: "mv", remove: "rm" }[op] || "?";
  }

  // ---- the state after a step ------------------------------------------------------------------

  // Replays the trace's steps (those it holds) into a model of names and lengths: what reads
  // saw, what a strict crash right after the step would keep. Files that earlier, omitted steps
  // made are shown with what the steps held say of them.
  function stateAfter(trace, upTo) {
    var files = {};
    var removed = {};
    function file(path) {
      if (!files[path]) files[path] = { len: null, durableLen: null, nameDurable: null, dirty: 0 };
      return files[path];
    }
    trace.steps.forEach(function (step) {
      if (num(step.step) > upTo || step.failed) return;
      var path = str(step.path);
      var f;
      switch (step.op) {
        case "create":
          files[path] = { len: 0, durableLen: 0, nameDurable: false, dirty: 0 };
          delete removed[path];
          break;
        case "write":
          f = file(path);
          f.len = Math.max(f.len === null ? 0 : f.len, num(step.offset) + num(step.len));
          f.dirty += 1;
          break;
        case "set_len":
          f = file(path);
          f.len = num(step.len);
          f.dirty += 1;
          break;
        case "sync":
          f = file(path);
          f.durableLen = f.len;
          f.dirty = 0;
          break;
        case "sync_dir":
          Object.keys(files).forEach(function (name) {
            if (parentOf(name) === path) files[name].nameDurable = true;
          });
          Object.keys(removed).forEach(function (name) {
            if (parentOf(name) === path) delete removed[name];
          });
          break;
        case "rename":
          f = file(path);
          files[str(step.to)] = { len: f.len, durableLen: f.durableLen, nameDurable: false, dirty: f.dirty };
          delete files[path];
          removed[path] = true;
          break;
        case "remove":
          delete files[path];
          removed[path] = true;
          break;
      }
    });
    return { files: files, removed: removed };
  }

  function parentOf(path) {
    var at = path.lastIndexOf("/");
    return at < 0 ? "." : path.slice(0, at);
  }

  function renderState(trace, selected) {
    var box = el("div", { class: "ctv-state" });
    var step = null;
    trace.steps.forEach(function (s) { if (num(s.step) === selected) step = s; });
    if (!step) {
      box.appendChild(el("p", { class: "ctv-meta" }, "Click a step of the timeline to see the disk after it."));
      return box;
    }
    box.appendChild(el("h4", null, "After step " + num(step.step)));
    box.appendChild(el("pre", null, stepLabel(step)));
    if (step.data) {
      box.appendChild(el("pre", null, "bytes: " + str(step.data.hex) + (num(step.data.len) > num(step.data.shown) ? " …" : "") + "\ntext:  " + str(step.data.text)));
    }
    if (typeof step.acked === "number") box.appendChild(el("p", null, "Acknowledged by then: " + step.acked + "."));
    if (num(step.step) > num(trace.crash.after_step)) {
      box.appendChild(el("p", { class: "ctv-meta" }, "This step did not run in the crashed run: the power went after step " + num(trace.crash.after_step) + "."));
    }
    var model = stateAfter(trace, num(step.step));
    var table = el("table", { class: "ctv-state-table" });
    var head = el("tr");
    ["name", "length (reads see)", "length synced", "name synced", "unsynced writes"].forEach(function (h) { head.appendChild(el("th", null, h)); });
    table.appendChild(head);
    Object.keys(model.files).sort().forEach(function (name) {
      var f = model.files[name];
      var row = el("tr");
      row.appendChild(el("td", null, name));
      row.appendChild(el("td", null, f.len === null ? "?" : f.len));
      row.appendChild(el("td", null, f.durableLen === null ? "?" : f.durableLen));
      row.appendChild(el("td", { class: f.nameDurable ? "ctv-kept" : f.nameDurable === null ? "" : "ctv-lost" }, f.nameDurable === null ? "?" : f.nameDurable ? "yes" : "no"));
      row.appendChild(el("td", null, f.dirty));
      table.appendChild(row);
    });
    Object.keys(model.removed).sort().forEach(function (name) {
      var row = el("tr");
      row.appendChild(el("td", null, name));
      row.appendChild(el("td", { colspan: 4, class: "ctv-meta" }, "removed or renamed away; the directory is not synced since"));
      table.appendChild(row);
    });
    box.appendChild(table);
    var note = "Replayed from the steps this trace holds";
    if (num(trace.steps_omitted) > 0) note += " (? where an omitted step decided it)";
    note += ". A strict crash right after this step keeps the synced lengths under the synced names.";
    box.appendChild(el("p", { class: "ctv-meta" }, note));
    return box;
  }

  // ---- the files ----------------------------------------------------------------------------

  function keptClass(kept) {
    return kept === "all" ? "ctv-kept" : kept === "part" ? "ctv-part" : "ctv-lost";
  }

  function keptText(kept, ranges) {
    var base = kept === "all" ? "kept" : kept === "part" ? "partly kept (torn)" : "lost";
    var parts = list(ranges).map(function (r) { return num(r[0]) + "…" + num(r[1]); });
    return parts.length && kept !== "all" ? base + ": bytes " + parts.join(", ") : base;
  }

  function renderFiles(trace, state) {
    var wrap = el("div", { class: "ctv-files" });
    wrap.appendChild(el("h4", null, "Files at the crash"));
    var legend = el("p", { class: "ctv-legend" });
    [["durable", "synced (durable)"], ["kept", "pending, kept by the crash"], ["lost", "pending, lost"], ["torn", "pending, torn (part kept)"], ["grown", "grown length: zeros or garbage"]].forEach(function (item) {
      var span = el("span");
      span.appendChild(el("span", { class: "ctv-swatch", style: "background:" + COLOURS[item[0]] }));
      span.appendChild(document.createTextNode(item[1]));
      legend.appendChild(span);
    });
    wrap.appendChild(legend);
    trace.files.forEach(function (file) {
      var section = el("div", { class: "ctv-file" });
      var names = list(file.image_names);
      var title = str(file.path) + (names.length ? " — the next boot found it, " + (file.image_len === null || file.image_len === undefined ? "?" : num(file.image_len)) + " bytes" : " — gone after the crash (no durable name reached it)");
      section.appendChild(el("p", null, title));
      section.appendChild(renderStrip(file));
      var facts = "synced: " + num(file.durable_len) + " bytes; reads saw: " + num(file.visible_len) + " bytes; names reads saw: " + list(file.visible_names).join(", ") +
        "; durable names: " + (list(file.durable_names).join(", ") || "none") + "; names after the crash: " + (names.join(", ") || "none");
      if (file.grown) facts += "; the length grew to " + num(file.grown.to) + " without its bytes (" + str(file.grown.fill) + " from " + num(file.grown.from) + ")";
      section.appendChild(el("p", { class: "ctv-meta" }, facts));
      var pending = list(file.pending);
      if (pending.length) {
        var table = el("table", { class: "ctv-pending" });
        var head = el("tr");
        ["step", "pending", "bytes", "the crash image"].forEach(function (h) { head.appendChild(el("th", null, h)); });
        table.appendChild(head);
        pending.forEach(function (write) {
          var row = el("tr", { "data-step": num(write.step) });
          row.appendChild(el("td", { class: "ctv-step" }, write.step === null || write.step === undefined ? "?" : "#" + num(write.step)));
          row.appendChild(el("td", null, write.op === "set_len" ? "set_len = " + num(write.len) : "write @" + num(write.offset) + " +" + num(write.len)));
          row.appendChild(el("td", null, previewOf(write.data)));
          row.appendChild(el("td", { class: keptClass(write.kept) }, write.op === "set_len" ? (write.kept === "all" ? "applied" : "lost") : keptText(write.kept, write.kept_ranges)));
          row.addEventListener("click", function () { if (typeof write.step === "number") state.select(write.step); });
          table.appendChild(row);
          state.rows.push(row);
        });
        section.appendChild(table);
        if (num(file.pending_omitted) > 0) section.appendChild(el("p", { class: "ctv-meta" }, plural(num(file.pending_omitted), "more pending write") + " not in this trace."));
      } else {
        section.appendChild(el("p", { class: "ctv-meta" }, "Nothing pending: every write was synced."));
      }
      wrap.appendChild(section);
    });
    if (num(trace.files_omitted) > 0) wrap.appendChild(el("p", { class: "ctv-meta" }, plural(num(trace.files_omitted), "more file") + " not in this trace."));
    return wrap;
  }

  // One file's bytes as a strip: synced bytes, then each pending write (kept, lost or torn) in
  // order, then a grown tail.
  function renderStrip(file) {
    var pending = list(file.pending);
    var extent = Math.max(num(file.visible_len), num(file.durable_len), num(file.image_len), file.grown ? num(file.grown.to) : 0, 1);
    pending.forEach(function (w) { if (w.op === "write") extent = Math.max(extent, num(w.offset) + num(w.len)); });
    var width = 640;
    var height = 26;
    var scale = function (byte) { return 4 + (width - 8) * (byte / extent); };
    var chart = svg("svg", { width: width, height: height + 14, class: "ctv-strip", role: "img" });
    svgTitle(chart, "Bytes of " + str(file.path));
    chart.appendChild(svg("rect", { x: 4, y: 2, width: width - 8, height: height, fill: "none", stroke: "#999" }));
    function segment(from, to, colour, tip, y, h) {
      var x1 = scale(from);
      var w = Math.max(scale(to) - x1, 2);
      var rect = svg("rect", { x: x1, y: y === undefined ? 2 : y, width: w, height: h === undefined ? height : h, fill: colour });
      svgTitle(rect, tip);
      chart.appendChild(rect);
    }
    if (num(file.durable_len) > 0) segment(0, num(file.durable_len), COLOURS.durable, "synced: bytes 0…" + num(file.durable_len));
    pending.forEach(function (w) {
      var step = typeof w.step === "number" ? "step #" + w.step + ": " : "";
      if (w.op === "set_len") {
        var x = scale(num(w.len));
        var line = svg("line", { x1: x, y1: 0, x2: x, y2: height + 4, stroke: w.kept === "all" ? COLOURS.kept : COLOURS.lost, "stroke-width": 2, "stroke-dasharray": "3,2" });
        svgTitle(line, step + "set_len " + num(w.len) + (w.kept === "all" ? " (applied)" : " (lost)"));
        chart.appendChild(line);
        return;
      }
      var start = num(w.offset);
      var end = start + num(w.len);
      var tip = step + "write @" + start + " +" + num(w.len) + ": " + keptText(w.kept, w.kept_ranges);
      segment(start, end, w.kept === "all" ? COLOURS.kept : COLOURS.lost, tip);
      if (w.kept === "part") {
        list(w.kept_ranges).forEach(function (r) { segment(num(r[0]), num(r[1]), COLOURS.torn, tip); });
      } else if (w.kept === "none") {
        // Nothing kept: the whole write is lost.
      }
    });
    if (file.grown) segment(num(file.grown.from), num(file.grown.to), COLOURS.grown, "grown without its bytes: " + str(file.grown.fill), 2 + height / 2, height / 2);
    var end = svg("text", { x: width - 4, y: height + 13, "text-anchor": "end", "font-size": 9 });
    end.textContent = extent + " bytes";
    chart.appendChild(end);
    var zero = svg("text", { x: 4, y: height + 13, "font-size": 9 });
    zero.textContent = "0";
    chart.appendChild(zero);
    return chart;
  }

  // ---- the directories ----------------------------------------------------------------------

  function renderDirectories(trace, state) {
    var wrap = el("div", { class: "ctv-directories" });
    wrap.appendChild(el("h4", null, "Directories: before the crash and after"));
    var row = el("div", { class: "ctv-dirs" });
    trace.directories.forEach(function (dir) {
      var box = el("div", { class: "ctv-dir" });
      box.appendChild(el("p", null, "Directory " + str(dir.path)));
      var table = el("table");
      var head = el("tr");
      ["synced names (durable)", "pending operations", "after the crash (next boot)"].forEach(function (h) { head.appendChild(el("th", null, h)); });
      table.appendChild(head);
      var body = el("tr");
      body.appendChild(nameCell(dir.durable));
      var ops = el("td");
      var pending = list(dir.pending);
      if (!pending.length) ops.appendChild(el("span", { class: "ctv-meta" }, "none"));
      pending.forEach(function (op) {
        var line = el("div", { class: "ctv-step", "data-step": num(op.step) });
        var text = (typeof op.step === "number" ? "#" + op.step + " " : "") + str(op.op) + " " + str(op.name) + (op.to ? " -> " + str(op.to) : "");
        line.appendChild(el("span", null, text + " "));
        line.appendChild(el("span", { class: op.kept ? "ctv-kept" : "ctv-lost" }, op.kept ? "kept" : "lost"));
        line.addEventListener("click", function () { if (typeof op.step === "number") state.select(op.step); });
        ops.appendChild(line);
        state.rows.push(line);
      });
      if (num(dir.pending_omitted) > 0) ops.appendChild(el("div", { class: "ctv-meta" }, plural(num(dir.pending_omitted), "more") + " not shown"));
      body.appendChild(ops);
      body.appendChild(nameCell(dir.image));
      table.appendChild(body);
      box.appendChild(table);
      if (num(dir.names_omitted) > 0) box.appendChild(el("p", { class: "ctv-meta" }, plural(num(dir.names_omitted), "name") + " not shown."));
      row.appendChild(box);
    });
    wrap.appendChild(row);
    return wrap;
  }

  function nameCell(names) {
    var cell = el("td");
    var items = list(names);
    if (!items.length) cell.appendChild(el("span", { class: "ctv-meta" }, "(empty)"));
    items.forEach(function (name) { cell.appendChild(el("div", null, str(name))); });
    return cell;
  }

  // ---- the recovery -------------------------------------------------------------------------

  function renderRecovery(trace) {
    var wrap = el("div", { class: "ctv-recovery" });
    wrap.appendChild(el("h4", null, "The recovery, on the crashed disk, until the check failed"));
    var steps = list(trace.recovery);
    if (!steps.length) {
      wrap.appendChild(el("p", { class: "ctv-meta" }, "It changed nothing on the disk (reads are not steps) before the check failed."));
    } else {
      var ol = el("ol", { class: "ctv-recovery-steps" });
      steps.forEach(function (step) {
        var text = stepLabel(step);
        if (step.data) text += "  " + previewOf(step.data);
        ol.appendChild(el("li", null, text));
      });
      wrap.appendChild(ol);
    }
    if (num(trace.recovery_omitted) > 0) wrap.appendChild(el("p", { class: "ctv-meta" }, plural(num(trace.recovery_omitted), "more recovery step") + " not in this trace."));
    return wrap;
  }

  // ---- the whole trace ----------------------------------------------------------------------

  function render(container, trace) {
    addStyle();
    container.textContent = "";
    container.classList.add("ctv");
    var problem = validate(trace);
    if (problem) {
      container.appendChild(el("p", { class: "ctv-error" }, "This file cannot be shown: " + problem + "."));
      container.setAttribute("data-ctv-ready", "error");
      return;
    }
    var state = {
      rows: [],
      marks: [],
      selected: null,
      select: function (step) {
        state.selected = step;
        stateBox.replaceWith(stateBox = renderState(trace, step));
        state.rows.forEach(function (row) {
          row.classList.toggle("ctv-selected", Number(row.getAttribute("data-step")) === step);
        });
        state.marks.forEach(function (mark) {
          var on = mark.step === step;
          mark.rect.setAttribute("stroke", on ? "#000" : mark.failed ? COLOURS.lost : "none");
          mark.rect.setAttribute("stroke-width", on ? 3 : 2);
        });
      },
    };
    container.appendChild(renderFailure(trace));
    container.appendChild(renderTimeline(trace, state));
    var stateBox = renderState(trace, null);
    container.appendChild(stateBox);
    container.appendChild(renderFiles(trace, state));
    container.appendChild(renderDirectories(trace, state));
    container.appendChild(renderRecovery(trace));
    state.select(num(trace.crash.after_step));
    container.setAttribute("data-ctv-ready", "1");
  }

  function examples() {
    var all = window.CRASH_TRACE_EXAMPLES;
    return all && typeof all === "object" ? all : {};
  }

  // The picker: the book's examples, a file from disk, or pasted JSON.
  function mountPicker(host) {
    var controls = el("div", { class: "ctv-picker-controls" });
    var select = el("select", { "aria-label": "example trace" });
    var names = Object.keys(examples()).sort();
    names.forEach(function (name) { select.appendChild(el("option", { value: name }, name)); });
    var fileInput = el("input", { type: "file", accept: ".json,application/json", "aria-label": "open a trace file" });
    var paste = el("textarea", { placeholder: "…or paste a trace's JSON here (from a grader report) and press Show", "aria-label": "trace JSON" });
    var show = el("button", { type: "button" }, "Show");
    controls.appendChild(el("label", null, "Example: "));
    controls.appendChild(select);
    controls.appendChild(el("label", null, "Your trace file: "));
    controls.appendChild(fileInput);
    controls.appendChild(paste);
    controls.appendChild(show);
    var view = el("div");
    host.textContent = "";
    host.appendChild(controls);
    host.appendChild(view);
    function showJson(text) {
      var trace;
      try {
        trace = JSON.parse(text);
      } catch (e) {
        view.textContent = "";
        view.appendChild(el("p", { class: "ctv-error" }, "This is not JSON: " + e.message));
        return;
      }
      render(view, trace);
    }
    select.addEventListener("change", function () { render(view, examples()[select.value]); });
    fileInput.addEventListener("change", function () {
      var file = fileInput.files && fileInput.files[0];
      if (!file) return;
      if (file.size > 4 * 1024 * 1024) {
        view.textContent = "";
        view.appendChild(el("p", { class: "ctv-error" }, "This file is too large for a crash trace."));
        return;
      }
      var reader = new FileReader();
      reader.onload = function () { showJson(String(reader.result)); };
      reader.readAsText(file);
    });
    show.addEventListener("click", function () { showJson(paste.value); });
    var wanted = new URLSearchParams(window.location.search).get("example");
    if (wanted && Object.prototype.hasOwnProperty.call(examples(), wanted)) select.value = wanted;
    if (select.value) render(view, examples()[select.value]);
    host.setAttribute("data-ctv-picker", "1");
  }

  function init() {
    var hosts = document.querySelectorAll(".crash-trace-viewer");
    Array.prototype.forEach.call(hosts, function (host) {
      if (host.hasAttribute("data-picker")) {
        mountPicker(host);
      } else {
        var name = host.getAttribute("data-example");
        var trace = Object.prototype.hasOwnProperty.call(examples(), name) ? examples()[name] : null;
        if (!trace) {
          host.textContent = "";
          host.appendChild(el("p", { class: "ctv-error" }, "The example trace " + str(name) + " is not loaded."));
          return;
        }
        render(host, trace);
      }
    });
  }

  window.CrashTraceViewer = { render: render, validate: validate };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
