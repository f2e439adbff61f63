// The heatmap page: reads the embedded data, keeps the reader's choices (metric, scale, sort,
// filter) and shows the file index or one file according to the address's hash, so every view
// has a permalink and the browser's back button works. setData() takes a new document (the
// live view feeds snapshots this way) and redraws what is shown.

import { METRICS, fileHref, heatColour, parseHash } from "./heatmap_common.js";
import { renderIndex, updateIndex } from "./heatmap_index.js";
import { highlightFile } from "./heatmap_highlight.js";
import { closePopover, renderFile, showMetric, stepHotLine, updateFile } from "./heatmap_file.js";

export class HeatmapApp {
  // options, for a page that shows the heatmap its own way (the live view): fileHref(path, line),
  // where the index's links to a file go; fileColumns, more columns of the index's file tables
  // ({key, title, format}: a file entry's key); onMissingSource(file), asked for a file whose text
  // the index would show but the document does not hold.
  constructor(bar, main, data, options = {}) {
    this.fileHref = options.fileHref || fileHref;
    this.fileColumns = options.fileColumns || [];
    this.onMissingSource = options.onMissingSource || null;
    this.bar = bar;
    this.main = main;
    this.metric = "self";
    this.scale = "file"; // heat relative to the hottest line of this file, or of all files ("all")
    this.sort = { key: "selfNs", dir: -1 };
    this.summarySort = { key: "selfNs", dir: -1 };
    this.filter = "";
    this.collapsed = new Set();
    this.minimap = null;
    this.highlights = new WeakMap(); // a file's code lines -> their highlighted HTML, made on first view
    this.setData(data);
    this.renderBar();
    window.addEventListener("hashchange", () => this.render());
    // The minimap's frame follows scrolling, redrawn at most once per animation frame.
    let drawPending = false;
    const redraw = () => {
      if (drawPending) return;
      drawPending = true;
      requestAnimationFrame(() => {
        drawPending = false;
        this.minimap?.draw();
      });
    };
    window.addEventListener("scroll", redraw, { passive: true });
    window.addEventListener("resize", redraw);
    document.addEventListener("keydown", (event) => this.onKey(event));
    document.addEventListener("click", (event) => { if (!event.target.closest(".popover")) closePopover(); });
    this.render();
  }

  setData(data) {
    if (!data || !Array.isArray(data.files) || !Array.isArray(data.edges)) {
      throw new Error("the heatmap data is missing or damaged");
    }
    this.data = data;
    this.filesByPath = new Map(data.files.map((file) => [file.path, file]));
    // path -> line -> edges out of that line (callees) / into the function starting there (callers)
    this.calleesByLine = new Map();
    this.callersByLine = new Map();
    const add = (index, path, line, edge) => {
      if (!index.has(path)) index.set(path, new Map());
      const lines = index.get(path);
      if (!lines.has(line)) lines.set(line, []);
      lines.get(line).push(edge);
    };
    for (const edge of data.edges) {
      add(this.calleesByLine, edge.file, edge.line, edge);
      const callee = data.callees[edge.callee];
      if (callee.fileId >= 0) add(this.callersByLine, callee.file, callee.lineno, edge);
    }
    for (const lines of this.callersByLine.values()) {
      for (const edges of lines.values()) edges.sort((a, b) => b.totalNs - a.totalNs || b.count - a.count);
    }
    this.globalMax = {};
    for (const [name, metric] of Object.entries(METRICS)) {
      let max = 0;
      for (const file of data.files) for (const row of file.lines) max = Math.max(max, row[metric.column]);
      this.globalMax[name] = max;
    }
  }

  onKey(event) {
    if (event.key === "Escape") return closePopover();
    if (event.ctrlKey || event.metaKey || event.altKey || event.target.closest?.("input, select, textarea")) return;
    if (event.key === "n" || event.key === "p") {
      closePopover();
      stepHotLine(this, event.key === "n" ? 1 : -1);
    }
  }

  // A file's lines as highlighted HTML, one string per line (made once per file and document, when
  // the file is first opened).
  highlighted(file) {
    let lines = this.highlights.get(file.code);
    if (!lines) {
      lines = highlightFile(file, this.data.tokenClasses || [""]);
      this.highlights.set(file.code, lines);
    }
    return lines;
  }

  // A new document for the same program: redraw in place, keeping the scroll position.
  update(data) {
    const scroll = window.scrollY;
    this.setData(data);
    this.render({ keepScroll: true });
    window.scrollTo(0, scroll);
  }

  // A newer document of the same program (the live view's next snapshot): the file shown keeps its
  // page and only its changed rows are drawn again (updateFile); the index shown changes in place
  // (updateIndex); any other view is redrawn. Returns the line numbers of the shown file whose rows
  // were drawn again, or null otherwise.
  refresh(data) {
    const shown = this.fileView;
    this.setData(data);
    if (!shown && parseHash(location.hash).file === null && this.main.querySelector(".index-body")) {
      updateIndex(this.main, this);
      return null;
    }
    const file = shown && shown.table.root?.isConnected ? this.filesByPath.get(shown.file.path) : null;
    if (!file) {
      const scroll = window.scrollY;
      this.render({ keepScroll: true });
      window.scrollTo(0, scroll);
      return null;
    }
    return updateFile(this, file);
  }

  renderBar() {
    const buttons = Object.entries(METRICS).map(([name, metric]) =>
      `<button class="metric" data-metric="${name}" aria-pressed="${name === this.metric}">${metric.label}</button>`,
    ).join("");
    const legend = [0, 0.25, 0.5, 0.75, 1].map((h) => heatColour(h)).join(", ");
    this.bar.innerHTML =
      `<a class="brand" href="#">pulsetrace heatmap</a><span class="title"></span>` +
      `<span class="controls"><span class="segmented" role="group" aria-label="Colour lines by">${buttons}</span>` +
      `<label>Heat relative to <select id="scale"><option value="file">this file</option>` +
      `<option value="all">all files</option></select></label>` +
      `<span class="legend" title="cold to hot (log scale)">cold<span class="ramp" ` +
      `style="background:linear-gradient(to right, ${legend})"></span>hot</span></span>`;
    this.bar.querySelector(".title").textContent = this.data.title || "";
    this.bar.querySelectorAll("button.metric").forEach((button) => button.addEventListener("click", () => {
      this.metric = button.dataset.metric;
      this.bar.querySelectorAll("button.metric").forEach((b) => b.setAttribute("aria-pressed", String(b === button)));
      if (document.body.classList.contains("file-view")) showMetric(this.main, this, this.metric);
      else this.render({ keepScroll: true });
    }));
    const scale = this.bar.querySelector("#scale");
    scale.value = this.scale;
    scale.addEventListener("change", () => {
      this.scale = scale.value;
      this.render({ keepScroll: true });
    });
  }

  render(options = {}) {
    closePopover();
    this.minimap = null;
    this.fileView = null;
    const route = parseHash(location.hash);
    const file = route.file === null ? null : this.filesByPath.get(route.file);
    const scroll = window.scrollY;
    document.body.classList.toggle("file-view", Boolean(file));
    if (route.file !== null && !file) {
      this.main.innerHTML = "";
      const note = document.createElement("p");
      note.className = "note missing";
      note.textContent = `No lines were recorded in ${route.file}. `;
      const back = document.createElement("a");
      back.href = "#";
      back.textContent = "All files";
      note.appendChild(back);
      this.main.appendChild(note);
    } else if (file) {
      renderFile(this.main, this, file, options.keepScroll ? 0 : route.line);
    } else {
      renderIndex(this.main, this);
    }
    if (options.keepScroll) {
      window.scrollTo(0, scroll);
      this.minimap?.draw();
    }
    document.title = (file ? `${file.label} - ` : "") + `${this.data.title || "heatmap"} - pulsetrace heatmap`;
  }
}

function start() {
  const bar = document.getElementById("bar");
  const main = document.getElementById("main");
  try {
    const data = JSON.parse(document.getElementById("heatmap-data").textContent);
    window.pulsetraceHeatmap = new HeatmapApp(bar, main, data);
  } catch (error) {
    main.innerHTML = "";
    const note = document.createElement("p");
    note.className = "note error";
    note.textContent = `This heatmap cannot be shown: ${error.message}.`;
    main.appendChild(note);
  }
}

if (document.getElementById("heatmap-data")) start();
