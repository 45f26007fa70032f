// s1kit HTML report: plot, tables and a lazily rendered sample browser over one inlined JSON blob.
// Model output is untrusted: it only ever reaches the page through textContent, never as markup.
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("s1kit-data").textContent);
  var SVGNS = "http://www.w3.org/2000/svg";
  var ROW_H = 26;
  var COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"];
  var state = { run: "", task: "", setting: "", verdict: "", forced: "", flip: false, pid: "" };
  var filtered = [];
  var current = null;

  function $(id) { return document.getElementById(id); }
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS(SVGNS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    return e;
  }
  function pct(x) { return (100 * x).toFixed(1) + "%"; }
  function num(x, d) { return x === null || x === undefined ? "n/a" : Number(x).toFixed(d); }
  function taskOf(s) { return D.runs[s.run].task; }
  function settingName(i) {
    var st = D.settings[i];
    return D.series[st.series].label + " @ " + st.label;
  }

  // ------------------------------------------------------------------ header, plot, tables
  function header() {
    $("runs-line").textContent = D.runs.map(function (r) {
      return r.name + " (" + r.task + ", model " + (r.model || "?") + ")";
    }).join(" · ") + " · " + D.samples.length + " samples";
  }

  function plot() {
    var W = 860, H = 380, L = 56, R = 340, T = 14, B = 44;
    var pts = D.settings;
    var xs = pts.map(function (p) { return Math.log2(Math.max(1, p.mean_tokens)); });
    var x0 = Math.floor(Math.min.apply(null, xs)), x1 = Math.ceil(Math.max.apply(null, xs));
    if (x1 <= x0) { x1 = x0 + 1; }
    var X = function (v) { return L + (Math.log2(Math.max(1, v)) - x0) / (x1 - x0) * (W - L - R); };
    var Y = function (a) { return T + (1 - a) * (H - T - B); };
    var s = svg("svg", { width: W, height: H, viewBox: "0 0 " + W + " " + H, role: "img" });
    for (var g = 0; g <= 4; g++) {
      var y = Y(g / 4);
      s.appendChild(svg("line", { x1: L, x2: W - R, y1: y, y2: y, stroke: "#eee" }));
      var t = svg("text", { x: L - 6, y: y + 4, "text-anchor": "end" }); t.textContent = (25 * g) + "%"; s.appendChild(t);
    }
    for (var e = x0; e <= x1; e++) {
      var x = X(Math.pow(2, e));
      s.appendChild(svg("line", { x1: x, x2: x, y1: T, y2: H - B, stroke: "#eee" }));
      var tx = svg("text", { x: x, y: H - B + 16, "text-anchor": "middle" }); tx.textContent = String(Math.pow(2, e)); s.appendChild(tx);
    }
    var xl = svg("text", { x: (L + W - R) / 2, y: H - 8, "text-anchor": "middle" });
    xl.textContent = "mean thinking tokens (log2)"; s.appendChild(xl);
    var yl = svg("text", { x: 14, y: (T + H - B) / 2, transform: "rotate(-90 14 " + (T + H - B) / 2 + ")", "text-anchor": "middle" });
    yl.textContent = "accuracy"; s.appendChild(yl);
    var taken = {}, cxOf = {};
    D.series.forEach(function (se, si) {
      var color = COLORS[si % COLORS.length];
      var mine = [];
      pts.forEach(function (p, i) { if (p.series === si) mine.push(i); });
      mine.sort(function (a, b) { return pts[a].mean_tokens - pts[b].mean_tokens; });
      mine.forEach(function (i) {  // dodge points that would hide one another (the tooltip has exact values)
        var key = Math.round(X(pts[i].mean_tokens) / 4) + ":" + Math.round(Y(pts[i].accuracy) / 4);
        cxOf[i] = X(pts[i].mean_tokens) + 8 * (taken[key] || 0);
        taken[key] = (taken[key] || 0) + 1;
      });
      s.appendChild(svg("polyline", {
        fill: "none", stroke: color, "stroke-width": 2,
        points: mine.map(function (i) { return cxOf[i] + "," + Y(pts[i].accuracy); }).join(" ")
      }));
      mine.forEach(function (i) {
        var p = pts[i], cx = cxOf[i];
        s.appendChild(svg("line", { x1: cx, x2: cx, y1: Y(p.ci95[0]), y2: Y(p.ci95[1]), stroke: color, "stroke-opacity": 0.35 }));
        var c = svg("circle", { cx: cx, cy: Y(p.accuracy), r: 5, fill: color, "class": "pt", "data-setting": i });
        c.addEventListener("mouseenter", function (ev) { tip(ev, i); });
        c.addEventListener("mousemove", function (ev) { tip(ev, i); });
        c.addEventListener("mouseleave", function () { $("tip").style.display = "none"; });
        c.addEventListener("click", function () { pickSetting(i); });
        s.appendChild(c);
        var pl = svg("text", { x: cx + 6, y: Y(p.accuracy) - 6, fill: "#555" });
        pl.textContent = p.cap === null || p.cap === undefined ? "∞" : String(p.cap);
        s.appendChild(pl);
      });
      var ly = T + 8 + 18 * si;
      s.appendChild(svg("rect", { x: W - R + 12, y: ly - 8, width: 12, height: 10, fill: color }));
      var lt = svg("text", { x: W - R + 28, y: ly + 1 }); lt.textContent = se.label; s.appendChild(lt);
    });
    $("plot").appendChild(s);
  }

  function tip(ev, i) {
    var p = D.settings[i], box = $("tip"), wrap = $("plot-wrap").getBoundingClientRect();
    box.textContent = "";
    [D.series[p.series].label, "setting: " + p.label,
     "accuracy: " + pct(p.accuracy) + " [" + pct(p.ci95[0]) + ", " + pct(p.ci95[1]) + "] (95% CI, n=" + p.n + ")",
     "mean thinking tokens: " + num(p.mean_tokens, 1), "Control: " + pct(p.control),
     "click to list these samples"].forEach(function (line, k) {
      box.appendChild(el(k === 0 ? "b" : "div", null, line));
    });
    box.style.display = "block";
    box.style.left = (ev.clientX - wrap.left + 14) + "px";
    box.style.top = (ev.clientY - wrap.top + 10) + "px";
  }

  function table(target, heads, rows, onclick) {
    var t = el("table"), tr = el("tr");
    heads.forEach(function (h, k) { tr.appendChild(el("th", k < 3 ? { "class": "l" } : null, h)); });
    t.appendChild(tr);
    rows.forEach(function (r, i) {
      var row = el("tr", onclick ? { "class": "clickable", "data-index": i } : null);
      r.forEach(function (v, k) { row.appendChild(el("td", k < 3 ? { "class": "l" } : null, v)); });
      if (onclick) row.addEventListener("click", function () { onclick(i); });
      t.appendChild(row);
    });
    $(target).appendChild(t);
  }

  function tables() {
    table("table3", ["run", "task", "method / curve", "samples", "Control", "Scaling", "Performance"],
      D.series.map(function (se) {
        return [D.runs[se.run].name, D.runs[se.run].task, se.name, se.n, pct(se.control),
                se.scaling === null ? "n/a" : num(se.scaling, 2), se.performance === null ? "n/a" : num(se.performance, 1) + "%"];
      }));
    $("table3").appendChild(el("div", { "class": "muted" }, "Scaling in " + (D.series.length ? D.series[0].scaling_unit : "") +
      "; Control: share of samples whose thinking stayed within their budget; Performance: best accuracy."));
    table("settings-table", ["run", "curve", "setting", "n", "accuracy", "95% CI", "mean thinking", "Control"],
      D.settings.map(function (p) {
        return [D.runs[p.run].name, D.series[p.series].name, p.label, p.n, pct(p.accuracy),
                "[" + pct(p.ci95[0]) + ", " + pct(p.ci95[1]) + "]", num(p.mean_tokens, 1), pct(p.control)];
      }), pickSetting);
  }

  // ------------------------------------------------------------------ filters and the virtual list
  function options(id, pairs) {
    var s = $(id);
    s.appendChild(el("option", { value: "" }, "all"));
    pairs.forEach(function (p) { s.appendChild(el("option", { value: p[0] }, p[1])); });
  }

  function setupFilters() {
    options("f-run", D.runs.map(function (r, i) { return [String(i), r.name]; }));
    var tasks = [];
    D.runs.forEach(function (r) { if (tasks.indexOf(r.task) < 0) tasks.push(r.task); });
    options("f-task", tasks.map(function (t) { return [t, t]; }));
    options("f-setting", D.settings.map(function (p, i) { return [String(i), settingName(i)]; }));
    ["f-run", "f-task", "f-setting", "f-verdict", "f-forced"].forEach(function (id) {
      $(id).addEventListener("change", function () { state[id.slice(2)] = this.value; applyFilters(); });
    });
    $("f-flip").addEventListener("change", function () { state.flip = this.checked; applyFilters(); });
    $("f-pid").addEventListener("input", function () { state.pid = this.value.trim(); applyFilters(); });
    $("f-clear").addEventListener("click", function () {
      state = { run: "", task: "", setting: "", verdict: "", forced: "", flip: false, pid: "" };
      ["f-run", "f-task", "f-setting", "f-verdict", "f-forced", "f-pid"].forEach(function (id) { $(id).value = ""; });
      $("f-flip").checked = false;
      applyFilters();
    });
    $("list").addEventListener("scroll", renderRows);
  }

  function keep(s) {
    if (state.run !== "" && String(s.run) !== state.run) return false;
    if (state.task !== "" && taskOf(s) !== state.task) return false;
    if (state.setting !== "" && String(s.setting) !== state.setting) return false;
    if (state.verdict === "ok" && !s.ok) return false;
    if (state.verdict === "bad" && s.ok) return false;
    if (state.forced === "forced" && !s.forced) return false;
    if (state.forced === "none" && s.forced) return false;
    if (state.forced === "wait" && !s.ev.some(function (e) { return e.kind === "ignore"; })) return false;
    if (state.forced === "end" && !s.ev.some(function (e) { return e.kind === "forced_end"; })) return false;
    if (state.flip && !s.flip) return false;
    if (state.pid && s.pid.indexOf(state.pid) < 0) return false;
    return true;
  }

  function applyFilters() {
    filtered = [];
    for (var i = 0; i < D.samples.length; i++) if (keep(D.samples[i])) filtered.push(i);
    $("count").textContent = filtered.length + " of " + D.samples.length + " samples";
    $("list-inner").style.height = (filtered.length * ROW_H) + "px";
    $("list").scrollTop = 0;
    var pts = document.querySelectorAll("#plot .pt");
    for (var k = 0; k < pts.length; k++) {
      pts[k].classList.toggle("sel", pts[k].getAttribute("data-setting") === state.setting);
    }
    renderRows();
  }

  function pickSetting(i) {
    state.setting = String(i);
    $("f-setting").value = String(i);
    applyFilters();
    $("filters").scrollIntoView({ block: "start" });
  }

  function renderRows() {
    var box = $("list"), inner = $("list-inner");
    var first = Math.max(0, Math.floor(box.scrollTop / ROW_H) - 5);
    var last = Math.min(filtered.length, Math.ceil((box.scrollTop + box.clientHeight) / ROW_H) + 5);
    inner.textContent = "";
    for (var r = first; r < last; r++) inner.appendChild(row(filtered[r], r));
  }

  function row(i, r) {
    var s = D.samples[i];
    var e = el("div", { "class": "row" + (current === i ? " active" : ""), "data-index": i });
    e.style.top = (r * ROW_H) + "px";
    e.appendChild(el("span", { "class": s.ok ? "ok" : "bad" }, s.ok ? "✓ " : "✗ "));
    var where = (D.runs.length > 1 ? D.runs[s.run].name + ": " : "") + D.settings[s.setting].label;
    e.appendChild(document.createTextNode(s.pid + " · " + where + " · #" + s.k + " · " + s.tt + " tok"));
    var nIgnore = s.ev.filter(function (x) { return x.kind === "ignore"; }).length;
    if (nIgnore) e.appendChild(el("span", { "class": "tag" }, "Wait×" + nIgnore));
    if (s.fe) e.appendChild(el("span", { "class": "tag" }, "forced end"));
    if (s.flip) e.appendChild(el("span", { "class": "tag" }, "verdict flips"));
    e.addEventListener("click", function () { show(i); });
    return e;
  }

  // ------------------------------------------------------------------ one sample, and the comparison
  function show(i, other) {
    current = i;
    renderRows();
    var s = D.samples[i];
    var bar = $("compare-bar");
    bar.textContent = "";
    var peers = [];
    D.samples.forEach(function (t, j) { if (j !== i && t.pid === s.pid && taskOf(t) === taskOf(s)) peers.push(j); });
    if (peers.length) {
      var sel = el("select", { id: "compare" });
      sel.appendChild(el("option", { value: "" }, "compare with another setting or run…"));
      peers.forEach(function (j) {
        var t = D.samples[j];
        sel.appendChild(el("option", { value: j }, (t.ok ? "✓ " : "✗ ") + settingName(t.setting) + " #" + t.k));
      });
      if (other !== undefined) sel.value = String(other);
      sel.addEventListener("change", function () { show(i, this.value === "" ? undefined : Number(this.value)); });
      bar.appendChild(sel);
    }
    var d = $("detail");
    d.textContent = "";
    d.className = other === undefined ? "" : "two";
    d.appendChild(card(i));
    if (other !== undefined) d.appendChild(card(other));
  }

  function card(i) {
    var s = D.samples[i], c = el("div", { "class": "card", "data-index": i });
    c.appendChild(el("h3", null, (s.ok ? "✓ correct" : "✗ wrong") + " · problem " + s.pid + " · " + settingName(s.setting) + " · sample " + s.k));
    var q = (D.questions[String(s.run)] || {})[s.pid];
    c.appendChild(el("div", { "class": "muted" }, "question"));
    c.appendChild(q === undefined
      ? el("div", { "class": "muted" }, "(question not included: the task data was not available when this report was written)")
      : el("div", { "class": "text question" }, q));
    var kv = el("dl", { "class": "kv" });
    [["gold", s.gold], ["extracted", s.ext === null ? "(nothing)" : s.ext], ["graded from", s.src],
     ["thinking tokens", s.tt], ["answer tokens", s.at], ["finish", s.fin],
     ["events", s.ev.length ? s.ev.map(function (e) { return e.kind + "@" + e.position; }).join(", ") : "none"]
    ].forEach(function (p) { kv.appendChild(el("dt", null, p[0])); kv.appendChild(el("dd", null, p[1])); });
    c.appendChild(kv);
    if (s.mi) {
      c.appendChild(el("div", { "class": "muted" }, "method"));
      var mb = el("div", { "class": "text method" }, s.mi.note);
      s.mi.rows.forEach(function (row) { mb.appendChild(el("div", { "class": "mrow" }, row)); });
      c.appendChild(mb);
    }
    c.appendChild(el("div", { "class": "muted" }, "thinking"));
    c.appendChild(thinking(s));
    c.appendChild(el("div", { "class": "muted" }, "answer"));
    c.appendChild(answer(s));
    return c;
  }

  function thinking(s) {
    var box = el("div", { "class": "text thinking" }), at = 0;
    var inline = { ignore: "ignored stop: appended", budget_message: "budget message: forced", inserted: "inserted by the method" };
    var queue = {};
    s.ev.forEach(function (e) { if (inline[e.kind]) (queue[e.kind] = queue[e.kind] || []).push(e); });
    s.sp.forEach(function (sp) {
      box.appendChild(document.createTextNode(s.th.slice(at, sp[0])));
      var ev = (queue[sp[2]] || []).shift() || {};
      box.appendChild(el("mark", { "class": "ev ev-" + sp[2], title: inline[sp[2]] + " at thinking token " + ev.position }, s.th.slice(sp[0], sp[1])));
      at = sp[1];
    });
    box.appendChild(document.createTextNode(s.th.slice(at)));
    var suppressed = s.ev.filter(function (e) { return e.kind === "suppressed"; });
    if (suppressed.length) {
      var words = {};
      suppressed.forEach(function (e) { words[e.text] = (words[e.text] || 0) + 1; });
      var list = Object.keys(words).map(function (w) { return JSON.stringify(w) + " ×" + words[w]; }).join(", ");
      box.appendChild(el("span", { "class": "ev ev-sup", title: "masked while thinking: the model's top choice at these steps (first at token " + suppressed[0].position + ")" }, "⊘ suppressed " + list));
    }
    s.ev.forEach(function (e) {
      if (e.kind === "forced_end") box.appendChild(el("span", { "class": "ev ev-end", title: "budget spent: end of thinking forced" }, "■ forced end at " + e.position + " tokens"));
      if (e.kind === "early_exit") box.appendChild(el("span", { "class": "ev ev-end", title: "the method ended thinking" }, "■ early exit at " + e.position + " tokens"));
      if (e.kind === "replaced_end") box.appendChild(el("span", { "class": "ev ev-end", title: "the model's " + JSON.stringify(e.text) + " was replaced by the end of thinking" }, "↦ " + JSON.stringify(e.text) + " replaced by the end at " + e.position + " tokens"));
      if (e.kind === "stopped") box.appendChild(el("span", { "class": "ev ev-cut", title: "the method abandoned this trace" }, "⏹ trace stopped at " + e.position + " tokens"));
    });
    return box;
  }

  function answer(s) {
    var box = el("div", { "class": "text answer" }), text = s.ans;
    var end = s.ev.filter(function (e) { return e.kind === "forced_end" || e.kind === "early_exit" || e.kind === "replaced_end"; })[0];
    if (end && end.text && text.indexOf(end.text) === 0) {
      box.appendChild(el("mark", { "class": "ev ev-primer", title: "answer primer appended by the forced end" }, end.text));
      text = text.slice(end.text.length);
    }
    box.appendChild(document.createTextNode(text));
    s.ev.forEach(function (e) {
      if (e.kind === "answer_limit") box.appendChild(el("span", { "class": "ev ev-cut", title: "answer budget spent" }, "✂ answer cut at " + e.position + " tokens"));
    });
    return box;
  }

  header();
  plot();
  tables();
  setupFilters();
  applyFilters();
  window.s1kitReport = {
    filtered: function () { return filtered.slice(); },
    sample: function (i) { return D.samples[i]; },
    show: show
  };
  document.body.setAttribute("data-ready", "1");
})();
