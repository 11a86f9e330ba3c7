// WatchStat's live report page: draws the charts (ECharts) and the viewer table from the page's own data (the
// <script id="data"> block, written by the app), so the page works offline as one file. The table shows one page
// of rows at a time; filtering and sorting work on plain arrays, so 100,000 viewers stay responsive.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("data").textContent);
  var charts = [];

  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el || typeof echarts === "undefined") return;
    // Canvas at twice the screen's density at least, so that the charts print sharply.
    var c = echarts.init(el, null, { renderer: "canvas", devicePixelRatio: Math.max(2, window.devicePixelRatio || 1) });
    c.setOption(option);
    charts.push(c);
  }

  var buckets = data.report.histogram.buckets;
  chart("histogram", {
    animation: false,
    grid: { left: 48, right: 16, top: 24, bottom: 40 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: buckets.map(function (b) { return b.label; }), axisLabel: { interval: 0, rotate: buckets.length > 6 ? 30 : 0 } },
    yAxis: { type: "value", name: "viewers", minInterval: 1 },
    series: [{ type: "bar", data: buckets.map(function (b) { return b.viewers; }), itemStyle: { color: "#2f6fb0" }, label: { show: true, position: "top" } }],
  });

  function pie(id, parts) {
    var narrow = (document.getElementById(id) || { clientWidth: 1000 }).clientWidth < 420; // a phone: the legend names the parts
    chart(id, {
      animation: false,
      tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
      legend: { bottom: 0 },
      series: [{ type: "pie", radius: ["35%", "65%"], label: { show: !narrow, formatter: "{b}\n{c}" }, data: parts.filter(function (p) { return p.value > 0; }) }],
    });
  }
  pie("kinds", [
    { name: "members 成员", value: data.report.members.viewers },
    { name: "external 外部", value: data.report.externals.viewers },
  ]);
  var ek = data.report.externalKinds;
  pie("externals", [
    { name: "WeChat 微信", value: ek.weChat },
    { name: "WeCom 企业微信", value: ek.weCom },
    { name: "unknown 未知", value: ek.unknown },
  ]);
  window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
  window.addEventListener("beforeprint", function () { charts.forEach(function (c) { c.resize(); }); });

  // The viewer table. A row: [kind ("m"|"x"), id, name, externalType, watchSeconds, comment (0|1), mic (0|1), inviter].
  var rows = data.viewers;
  var view = rows.slice();
  var pageSize = 50;
  var page = 0;
  var sortKey = 4, sortDir = -1;
  var tbody = document.querySelector("#viewers tbody");
  var info = document.getElementById("page-info");
  var filter = document.getElementById("filter");
  var kind = document.getElementById("kind");

  function minutes(s) { return (s / 60).toFixed(1); }
  function text(v) { return v === null || v === undefined ? "" : String(v); }

  function apply() {
    var q = filter.value.trim().toLowerCase();
    var k = kind.value;
    view = rows.filter(function (r) {
      if (k && r[0] !== k) return false;
      if (!q) return true;
      return text(r[1]).toLowerCase().indexOf(q) >= 0 || text(r[2]).toLowerCase().indexOf(q) >= 0 || text(r[7]).toLowerCase().indexOf(q) >= 0;
    });
    sort();
    page = 0;
    render();
  }

  function sort() {
    var key = sortKey, dir = sortDir;
    view.sort(function (a, b) {
      var x = a[key], y = b[key];
      if (x === y) return a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0;
      if (x === null || x === undefined) return 1;
      if (y === null || y === undefined) return -1;
      return (x < y ? -1 : 1) * dir;
    });
  }

  function cell(tr, value, numeric) {
    var td = document.createElement("td");
    td.textContent = value; // text, never markup: names are the viewers' own
    if (numeric) td.className = "num";
    tr.appendChild(td);
  }

  function render() {
    var pages = Math.max(1, Math.ceil(view.length / pageSize));
    if (page >= pages) page = pages - 1;
    var fragment = document.createDocumentFragment();
    view.slice(page * pageSize, (page + 1) * pageSize).forEach(function (r) {
      var tr = document.createElement("tr");
      cell(tr, r[0] === "m" ? "member 成员" : r[3] === 1 ? "WeChat 微信" : r[3] === 2 ? "WeCom 企业微信" : "external 外部");
      cell(tr, r[1]);
      cell(tr, text(r[2]));
      cell(tr, minutes(r[4]), true);
      cell(tr, r[5] ? "✓" : "");
      cell(tr, r[6] ? "✓" : "");
      cell(tr, text(r[7]));
      fragment.appendChild(tr);
    });
    tbody.replaceChildren(fragment);
    info.textContent = view.length.toLocaleString() + " of " + rows.length.toLocaleString() + " viewers · page " + (page + 1) + " / " + pages;
    document.getElementById("prev").disabled = page === 0;
    document.getElementById("next").disabled = page >= pages - 1;
  }

  document.querySelectorAll("#viewers th[data-key]").forEach(function (th) {
    th.addEventListener("click", function () {
      var key = Number(th.getAttribute("data-key"));
      sortDir = key === sortKey ? -sortDir : (key === 4 ? -1 : 1);
      sortKey = key;
      document.querySelectorAll("#viewers th[data-key]").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", sortDir === 1 ? "ascending" : "descending");
      sort();
      page = 0;
      render();
    });
  });
  var debounce;
  filter.addEventListener("input", function () { clearTimeout(debounce); debounce = setTimeout(apply, 150); });
  kind.addEventListener("change", apply);
  document.getElementById("prev").addEventListener("click", function () { page--; render(); });
  document.getElementById("next").addEventListener("click", function () { page++; render(); });
  sort();
  render();
  document.body.setAttribute("data-ready", "true");
})();
