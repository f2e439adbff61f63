// The viewer's shell: loads the trace, owns the tabs, the shared search box, the selection and the
// details panel, and lends the views a few services.
//
// The in-memory trace every view reads is built by model.js (decodeTrace); its shape is the contract
// in docs and model.js: trace.functions, trace.processes[].threads[].slices (struct of arrays in
// preorder), startNs = 0, endNs, sourceText(filename).
//
// Views are classes constructed as `new View(container, trace, app)` with show(), hide() and
// setSearch(text); the app offers them:
//   app.highlightFunction(funcId)          highlight every slice of that function (or those functions:
//                                          an array of ids) in the timeline
//   app.showView("timeline" | "flamegraph" | "functions" | "heatmap")
//   app.heatmap                            the Heatmap tab (heatmapview.js), or null without line data
//   app.openInHeatmap(filename, line)      the heatmap tab on that file and line
//   app.openFunctionInFlamegraph(funcId)   showView + focusFunction
//   app.setMatchCount(view, n)             n matches, or null while the view is still counting them
//   app.formatDuration(ns)   app.threadLabel(thread)
//
// Modules use only named exports (`export class`, `export function`, `export const`) and imports of
// the form `import { a, b } from "./name.js";`: the standalone HTML is built by inlining the modules
// in dependency order (pulsetrace/web/bundle.py), which relies on that.

import { DetailsPanel } from "./details.js";
import { FlameGraphView } from "./flamegraph.js";
import { formatCount, formatDuration } from "./format.js";
import { FunctionTableView } from "./functable.js";
import { HeatmapView } from "./heatmapview.js";
import { decodeTrace, inflate, TraceFormatError } from "./model.js";
import { TimelineView } from "./timeline.js";

const VIEW_NAMES = ["timeline", "flamegraph", "functions", "heatmap"];
const SEARCH_DELAY_MS = 120;

export class ViewerApp {
  constructor(root) {
    this.root = root;
    this.trace = null;
    this.views = {};
    this.heatmap = null;
    this.activeView = null;
    this.matchCounts = {};
    this.searchText = "";
    this.selection = null;
    this.message = root.querySelector("#message");
    this.loadStartedAt = performance.now();
    this.bytesReadyAt = null; // performance.now() marks of the loading steps, for the scale benchmark
    this.loadedAt = null;
  }

  // Read the trace this page carries (embedded, or fetched from the server) and show it.
  async load() {
    const source = document.getElementById("pulsetrace-trace");
    try {
      this.showMessage("Loading the trace…");
      const bytes = await readTraceBytes(source);
      this.bytesReadyAt = performance.now();
      this.showMessage("Decoding the trace…");
      this.start(await decodeTrace(bytes));
    } catch (error) {
      const problem = error instanceof TraceFormatError ? error.message : String(error.message ?? error);
      this.showMessage(`pulsetrace cannot show this trace: ${problem}`, true);
      this.failure = problem;
    }
  }

  start(trace) {
    this.trace = trace;
    this.loadedAt = performance.now();
    this.hideMessage();
    document.title = `${trace.processes[0].name} – pulsetrace`;
    this.root.querySelector("#trace-title").textContent = traceTitle(trace);
    this.details = new DetailsPanel(this.root.querySelector("#details"), trace, this);
    const panes = (name) => this.root.querySelector(`#view-${name}`);
    this.timeline = new TimelineView(panes("timeline"), trace, this);
    this.views.timeline = this.timeline;
    this.views.flamegraph = new FlameGraphView(panes("flamegraph"), trace, this);
    this.views.functions = new FunctionTableView(panes("functions"), trace, this);
    // A trace recorded with line statistics carries the heatmap page too. It opens first: line
    // collection was asked for, so the lines are what the reader came for; the timeline is a tab away.
    const heatmapSource = document.getElementById("pulsetrace-heatmap");
    if (heatmapSource !== null) {
      this.heatmap = new HeatmapView(panes("heatmap"), heatmapSource, this, readHeatmapPage);
      this.views.heatmap = this.heatmap;
      this.root.querySelector('[data-view="heatmap"]').hidden = false;
    }
    this.bindControls();
    this.root.classList.add("loaded");
    this.showView(this.heatmap ? "heatmap" : "timeline");
  }

  bindControls() {
    for (const tab of this.root.querySelectorAll("[data-view]")) {
      tab.addEventListener("click", () => this.showView(tab.dataset.view));
    }
    const search = this.root.querySelector("#search");
    let timer = null;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.setSearch(search.value), SEARCH_DELAY_MS);
    });
    search.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        clearTimeout(timer);
        if (search.value !== this.searchText) this.setSearch(search.value);
        this.stepMatch(event.shiftKey ? -1 : 1);
      } else if (event.key === "Escape") {
        search.value = "";
        this.setSearch("");
        search.blur();
      }
    });
    this.root.querySelector("#search-next").addEventListener("click", () => this.stepMatch(1));
    this.root.querySelector("#search-prev").addEventListener("click", () => this.stepMatch(-1));
    document.addEventListener("keydown", (event) => {
      if (isTyping(event.target)) return;
      if (event.key === "/" || (event.key === "f" && (event.ctrlKey || event.metaKey))) {
        event.preventDefault();
        search.focus();
        search.select();
      } else if (event.key === "Escape") {
        this.select(null);
        this.highlightFunction(null);
      }
    });
  }

  showView(name) {
    if (!this.views[name]) throw new Error(`unknown view ${name}`);
    if (this.activeView === name) {
      if (name === "heatmap") this.heatmap.show(); // a new line to go to
      return;
    }
    for (const other of VIEW_NAMES) {
      if (!this.views[other]) continue;
      const active = other === name;
      this.root.querySelector(`#view-${other}`).hidden = !active;
      this.root.querySelector(`[data-view="${other}"]`).classList.toggle("active", active);
      if (!active && this.activeView === other) this.views[other].hide();
    }
    this.activeView = name;
    this.views[name].show();
    this.updateMatchCount();
    this.root.querySelector("#search-steps").hidden = name !== "timeline";
    this.root.querySelector("#search-box").hidden = name === "heatmap"; // the heatmap has its own filter
  }

  setSearch(text) {
    this.searchText = text;
    for (const name of VIEW_NAMES) this.views[name]?.setSearch(text);
    this.updateMatchCount();
  }

  // The views report how many things match the search; the box shows the active view's count.
  setMatchCount(view, n) {
    const name = typeof view === "string" ? view : VIEW_NAMES.find((key) => this.views[key] === view);
    if (name !== undefined) this.matchCounts[name] = n;
    this.updateMatchCount();
  }

  updateMatchCount() {
    const label = this.root.querySelector("#match-count");
    const count = this.matchCounts[this.activeView];
    if (!this.searchText || count === undefined) {
      label.textContent = "";
    } else if (count === null) {
      label.textContent = "counting…";
    } else {
      label.textContent = count === 1 ? "1 match" : `${formatCount(count)} matches`;
    }
  }

  stepMatch(direction) {
    if (this.activeView === "timeline" && this.searchText) this.timeline.stepMatch(direction);
  }

  // The selected thing (a slice, an instant, a span, an object event, a counter sample) or null.
  select(selection) {
    this.selection = selection;
    this.timeline.setSelection(selection);
    this.details.show(selection);
  }

  highlightFunction(funcId) {
    this.timeline.highlightFunction(funcId);
    if (funcId !== null && funcId !== undefined) this.showView("timeline");
  }

  openInHeatmap(filename, line) {
    this.heatmap?.openLine(filename, line);
  }

  // The functions of the trace the heatmap means by a callee (its file, first line and name): the
  // same code, recorded in any process. Names may be qualified on one side only (a method).
  functionsOf(callee) {
    const ids = [];
    this.trace.functions.forEach((func, id) => {
      if ((func.filename || "") !== (callee.file || "") || (func.lineno || 0) !== (callee.lineno || 0)) return;
      if (func.name === callee.name || func.name.endsWith(`.${callee.name}`) || callee.name.endsWith(`.${func.name}`)) {
        ids.push(id);
      }
    });
    return ids;
  }

  timelineHas(callee) {
    return this.functionsOf(callee).length > 0;
  }

  // The heatmap's "Show in timeline": every call of that function highlighted, on the timeline.
  showCallsInTimeline(callee) {
    const ids = this.functionsOf(callee);
    if (ids.length) this.highlightFunction(ids.length === 1 ? ids[0] : ids);
    return ids.length;
  }

  openFunctionInFlamegraph(funcId) {
    this.showView("flamegraph");
    this.views.flamegraph.focusFunction(funcId);
  }

  formatDuration(ns) {
    return formatDuration(ns);
  }

  threadLabel(thread) {
    const id = thread.nativeId ?? thread.ident;
    return `${thread.name} (tid ${id})`;
  }

  processLabel(process) {
    return `${process.name} (pid ${process.pid})`;
  }

  showMessage(text, isError = false) {
    this.message.textContent = text;
    this.message.classList.toggle("error", isError);
    this.message.hidden = false;
  }

  hideMessage() {
    this.message.hidden = true;
  }
}

function traceTitle(trace) {
  const calls = formatCount(trace.sliceCount);
  const processes = trace.processes.length === 1 ? trace.processes[0].name : `${trace.processes.length} processes`;
  return `${processes} · ${calls} calls · ${formatDuration(trace.endNs - trace.startNs)}`;
}

// The heatmap page a standalone HTML carries: base64 of its zlib-compressed UTF-8 text.
async function readHeatmapPage(source) {
  const compressed = decodeBase64(source.textContent);
  if (compressed.length === 0) throw new TraceFormatError("the page's embedded heatmap is empty");
  return new TextDecoder().decode(await inflate(compressed));
}

function isTyping(target) {
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target?.isContentEditable;
}

// The trace's bytes: fetched from the server (`data-src`), or embedded in the page as base64 of the
// zlib-compressed native file (the standalone HTML).
async function readTraceBytes(source) {
  if (source === null) throw new TraceFormatError("this page carries no trace");
  const url = source.dataset.src;
  if (url) {
    const response = await fetch(url);
    if (!response.ok) throw new TraceFormatError(`the server answered ${response.status} for ${url}`);
    return new Uint8Array(await response.arrayBuffer());
  }
  const compressed = decodeBase64(source.textContent);
  if (compressed.length === 0) throw new TraceFormatError("the page's embedded trace is empty");
  return inflate(compressed);
}

const BASE64_VALUES = (() => {
  const table = new Int16Array(256).fill(-1);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

// Base64 text to bytes, skipping whitespace; any other stray character means a broken page.
export function decodeBase64(text) {
  const out = new Uint8Array(Math.floor((text.length * 3) / 4) + 3);
  let bits = 0;
  let held = 0;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 61) break; // "=" padding ends the data
    const value = code < 256 ? BASE64_VALUES[code] : -1;
    if (value < 0) {
      if (code === 32 || code === 10 || code === 13 || code === 9) continue;
      throw new TraceFormatError("the page's embedded trace is damaged (not base64 text)");
    }
    bits = (bits << 6) | value;
    held += 6;
    if (held >= 8) {
      held -= 8;
      out[n++] = (bits >> held) & 0xff;
    }
  }
  return out.subarray(0, n);
}

const app = new ViewerApp(document.body);
window.pulsetraceViewer = app; // read by the browser tests and the scale benchmark
app.load();
