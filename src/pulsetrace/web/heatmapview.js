// The viewer's Heatmap tab: the line heatmap page (web/heatmap*.js, the same page as .heatmap.html)
// in an iframe, for traces recorded with line statistics.
//
// The standalone HTML carries the whole heatmap page (its data, scripts and styles) zlib-compressed
// and base64-encoded in <script type="application/octet-stream" id="pulsetrace-heatmap">, like the
// trace; data-files on that element lists the files with line data, so the details panel knows
// which functions it can open there without decoding anything. The page is decoded and given to
// the iframe as srcdoc the first time the tab is shown, so a reader who never opens it pays
// nothing. A srcdoc frame has the viewer's origin: both sides call each other directly (the
// heatmap's "Show in timeline" calls app.showCallsInTimeline; "Open in heatmap" sets the frame's
// hash, which is how the heatmap page is navigated).

import { fileHref } from "./heatmap_common.js";

export class HeatmapView {
  // source: the <script> element holding the page; loadPage(source): a promise of its HTML text.
  constructor(container, source, app, loadPage) {
    this.container = container;
    this.source = source;
    this.app = app;
    this.loadPage = loadPage;
    this.files = new Set(parseFiles(source.dataset.files));
    this.frame = null;
    this.ready = null; // a promise, resolved once the heatmap page has drawn
    this.pendingHash = source.dataset.open ? fileHref(source.dataset.open, 0) : "";
  }

  // Whether the heatmap holds line data for this file (so "Open in heatmap" can go there).
  hasFile(filename) {
    return Boolean(filename) && this.files.has(filename);
  }

  show() {
    if (this.ready === null) this.ready = this.mount();
    this.ready.then(() => this.applyPendingHash());
  }

  hide() {}

  setSearch() {} // the heatmap has its own filter box

  // Show the heatmap tab on one file, scrolled to (and marking) one line.
  openLine(filename, line) {
    this.pendingHash = fileHref(filename, line);
    this.app.showView("heatmap");
  }

  async mount() {
    const frame = document.createElement("iframe");
    frame.className = "heatmap-frame";
    frame.title = "Line heatmap";
    this.frame = frame;
    this.container.append(frame);
    let html;
    try {
      html = await this.loadPage(this.source);
    } catch (error) {
      frame.remove();
      this.container.textContent = `pulsetrace cannot show the heatmap: ${error.message ?? error}`;
      this.container.classList.add("heatmap-error");
      throw error;
    }
    const loaded = new Promise((resolve) => frame.addEventListener("load", resolve, { once: true }));
    // A srcdoc document resolves links against the viewer's own address, so the heatmap's links
    // ("#file=...") would load the viewer into the frame; its own address keeps them in the page.
    frame.srcdoc = html.replace(/<head>/i, '<head><base href="about:srcdoc">');
    await loaded;
  }

  applyPendingHash() {
    if (!this.pendingHash || !this.frame?.contentWindow) return;
    const target = this.frame.contentWindow.location;
    if (target.hash === this.pendingHash) {
      // Same address: the page would not hear a hashchange; go back to the index and return, so
      // the line is marked and scrolled to again.
      target.hash = "";
    }
    target.hash = this.pendingHash;
    this.pendingHash = "";
  }
}

function parseFiles(text) {
  if (!text) return [];
  try {
    const files = JSON.parse(text);
    return Array.isArray(files) ? files : [];
  } catch (error) {
    return [];
  }
}
