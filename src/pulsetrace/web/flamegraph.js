// The flamegraph: the merged call stacks of one thread or of all threads, drawn on a canvas.
//
// Two trees, both built once per thread choice by aggregate.js and cached (a big one in steps, between
// the page's other tasks, under a progress message; see steps.js):
//   - "total": top-down, root first; a frame is as wide as the total time of its call path;
//   - "self": bottom-up; the root's children are the functions where time was spent, as wide as their
//     self time, and the frames above a function are the callers through which that time was reached.
// Click a frame to zoom into it (its ancestors stay above it, full width), click an ancestor or the
// breadcrumb to zoom out, Escape to go up one level; "Show in timeline" highlights the selected frame's
// function there. Drawing walks only frames at least a pixel wide (children are sorted heaviest first,
// so the walk stops at the first child too narrow to see) and in the rows in view: a frame costs
// nothing whatever the number of slices behind it, and the canvas is never taller than the view.

import { allThreads, callTreeSteps, invertedTreeSteps, runToEnd } from "./aggregate.js";
import { STEPS_FROM, jobWithProgress } from "./steps.js";
import { functionColors } from "./tracks.js";

const FLAME_ROW_PX = 18;
const FLAME_MIN_FRAME_PX = 1; // narrower frames are not drawn (nor their children, narrower still)
const FLAME_MIN_LABEL_PX = 22; // narrower frames get no label
const FLAME_LABEL_PAD_PX = 4;
const FLAME_FONT = "12px system-ui, -apple-system, 'Segoe UI', sans-serif";
const FLAME_ALL_THREADS = "all";
const FLAME_ROOT_COLOUR = "#c9c3b8";

export class FlameGraphView {
  constructor(container, trace, app) {
    this.container = container;
    this.trace = trace;
    this.app = app;
    this.threads = allThreads(trace);
    this.built = false;
    this.visible = false;
    this.threadChoice = FLAME_ALL_THREADS; // or a thread's index in this.threads
    this.mode = "total";
    this.trees = new Map(); // thread choice -> {total, self}
    this.tree = null; // null while the tree of the current choice is being built
    this.job = null; // the tree being built in steps: {choice, mode, job (steps.js)}
    this.pendingFocus = null; // a function to focus once the tree is built
    this.zoomNode = 0;
    this.selectedNode = -1;
    this.hoverNode = -1;
    this.searchText = "";
    this.funcMatches = null; // Uint8Array by function id while a search is active
    this.drawn = []; // [node, x, width, depth] of every frame of the last drawing, for the tests
    this.scrollTop = 0; // the scroller's, when last drawn
    this.height = 0;
    this.drawPending = false;
    this.colours = null; // the timeline's colours (tracks.js), so a function looks alike in both views
  }

  show() {
    this.visible = true;
    if (!this.built) this.build();
    this.job?.job.resume();
    this.draw();
  }

  // Another tab: a tree being built waits (no work for a view no one sees) and goes on when shown.
  hide() {
    this.visible = false;
    this.job?.job.pause();
    this.hideTooltip();
  }

  // Zoom to the widest frame of this function in the current tree (all threads if the chosen one
  // never ran it) and select it.
  focusFunction(funcId) {
    if (!this.built) this.build();
    if (this.tree === null) {
      this.pendingFocus = funcId; // done when the tree is ready
      return;
    }
    let node = flameWidestFrame(this.tree, funcId);
    if (node < 0 && this.threadChoice !== FLAME_ALL_THREADS) {
      this.chooseThread(FLAME_ALL_THREADS);
      if (this.tree === null) {
        this.pendingFocus = funcId;
        return;
      }
      node = flameWidestFrame(this.tree, funcId);
    }
    if (node < 0) return;
    this.selectedNode = node;
    this.zoomTo(node);
    const frameTop = this.tree.depth[node] * FLAME_ROW_PX;
    const scroller = this.scroller;
    if (frameTop < scroller.scrollTop || frameTop + FLAME_ROW_PX > scroller.scrollTop + scroller.clientHeight) {
      scroller.scrollTop = Math.max(0, frameTop - scroller.clientHeight / 3);
    }
  }

  setSearch(text) {
    this.searchText = text.trim().toLowerCase();
    this.funcMatches = this.searchText ? flameMatchingFunctions(this.trace.functions, this.searchText) : null;
    // Before the first show there is no tree to count in, and while building only a partial one: the
    // count comes with the finished tree.
    if (this.tree !== null) this.updateMatches();
    else if (this.built) this.showCountingMatches();
  }

  // The frames of the last drawing with their place on screen (CSS pixels, viewport coordinates).
  framesOnScreen() {
    const box = this.canvas.getBoundingClientRect();
    const functions = this.trace.functions;
    return this.drawn.map(([node, x, width, depth]) => {
      const func = this.tree.func[node];
      return {
        node,
        name: func < 0 ? this.rootLabel() : functions[func].name,
        func,
        depth,
        x: box.left + x,
        y: box.top + depth * FLAME_ROW_PX - this.scrollTop,
        width,
        height: FLAME_ROW_PX - 1,
        total: this.tree.total[node],
        self: this.tree.self[node],
        calls: this.tree.calls[node],
      };
    });
  }

  build() {
    this.built = true;
    this.colours = functionColors(this.trace.functions);
    this.root = document.createElement("div");
    this.root.className = "pt-flame";
    this.root.style.cssText = "display:flex;flex-direction:column;height:100%;min-height:0;";
    this.root.append(this.buildToolbar());
    this.breadcrumb = document.createElement("nav");
    this.breadcrumb.className = "pt-flame-breadcrumb";
    this.breadcrumb.setAttribute("aria-label", "Zoomed frame");
    this.scroller = document.createElement("div");
    this.scroller.className = "pt-flame-scroll";
    this.scroller.style.cssText = "flex:1 1 auto;min-height:0;overflow:auto;position:relative;";
    this.canvas = document.createElement("canvas");
    this.canvas.className = "pt-flame-canvas";
    this.canvas.tabIndex = 0;
    // The canvas is only as tall as the view and stays put (sticky) while the spacer gives the scroll
    // height, so a stack thousands of frames deep costs no more pixels than a shallow one.
    this.canvas.style.cssText = "display:block;position:sticky;top:0;";
    this.spacer = document.createElement("div");
    this.spacer.className = "pt-flame-spacer";
    this.spacer.style.cssText = "position:absolute;left:0;top:0;width:1px;pointer-events:none;";
    this.scroller.append(this.canvas, this.spacer);
    this.tooltip = document.createElement("div");
    this.tooltip.className = "tooltip pt-flame-tooltip";
    this.tooltip.setAttribute("role", "tooltip");
    this.tooltip.style.cssText = "position:fixed;pointer-events:none;z-index:20;";
    this.tooltip.hidden = true;
    this.progress = document.createElement("div");
    this.progress.className = "pt-flame-progress";
    this.progress.setAttribute("role", "status");
    this.progress.hidden = true;
    this.root.append(this.breadcrumb, this.progress, this.scroller, this.tooltip);
    this.container.append(this.root);
    this.bindEvents();
    this.chooseThread(FLAME_ALL_THREADS);
  }

  buildToolbar() {
    const bar = document.createElement("div");
    bar.className = "pt-flame-toolbar";
    const label = document.createElement("label");
    label.textContent = "Thread ";
    this.threadPicker = document.createElement("select");
    this.threadPicker.className = "pt-flame-thread";
    const all = new Option(`All threads (${this.threads.length})`, FLAME_ALL_THREADS);
    this.threadPicker.append(all);
    const several = this.trace.processes.length > 1;
    this.threads.forEach((thread, index) => {
      const owner = several ? `pid ${thread.pid}: ` : "";
      this.threadPicker.append(new Option(owner + this.app.threadLabel(thread), String(index)));
    });
    label.append(this.threadPicker);
    this.modeButtons = {};
    const modes = document.createElement("span");
    modes.className = "pt-flame-modes";
    modes.setAttribute("role", "group");
    modes.setAttribute("aria-label", "Frame width");
    for (const [mode, text, title] of [
      ["total", "Total time", "Callers above callees; a frame is as wide as its call path's total time"],
      ["self", "Self time", "Inverted: functions by self time, their callers above them"],
    ]) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "tool-button pt-flame-mode";
      button.dataset.mode = mode;
      button.textContent = text;
      button.title = title;
      button.addEventListener("click", () => this.setMode(mode));
      this.modeButtons[mode] = button;
      modes.append(button);
    }
    this.resetButton = document.createElement("button");
    this.resetButton.type = "button";
    this.resetButton.className = "tool-button pt-flame-reset";
    this.resetButton.textContent = "Reset zoom";
    this.resetButton.addEventListener("click", () => this.zoomTo(0));
    this.timelineButton = document.createElement("button");
    this.timelineButton.type = "button";
    this.timelineButton.className = "tool-button pt-flame-in-timeline";
    this.timelineButton.textContent = "Show in timeline";
    this.timelineButton.title = "Highlight every call of the selected frame's function in the timeline";
    this.timelineButton.disabled = true;
    this.timelineButton.addEventListener("click", () => {
      const func = this.tree !== null && this.selectedNode > 0 ? this.tree.func[this.selectedNode] : -1;
      if (func >= 0) this.app.highlightFunction(func);
    });
    this.matchLabel = document.createElement("span");
    this.matchLabel.className = "pt-flame-matches";
    this.matchLabel.setAttribute("aria-live", "polite");
    this.depthNote = document.createElement("span");
    this.depthNote.className = "pt-flame-depth-note";
    this.depthNote.hidden = true;
    bar.append(label, modes, this.resetButton, this.timelineButton, this.depthNote, this.matchLabel);
    return bar;
  }

  bindEvents() {
    this.threadPicker.addEventListener("change", () => this.chooseThread(this.threadPicker.value));
    this.canvas.addEventListener("mousemove", (event) => this.onHover(event));
    this.canvas.addEventListener("mouseleave", () => {
      this.hoverNode = -1;
      this.hideTooltip();
      this.draw();
    });
    this.canvas.addEventListener("click", (event) => {
      const node = this.nodeAt(event);
      if (node < 0) return;
      this.selectedNode = node;
      this.zoomTo(node);
    });
    this.canvas.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.tree !== null && this.zoomNode > 0) {
        event.stopPropagation();
        this.zoomTo(this.tree.parent[this.zoomNode]);
      }
    });
    new ResizeObserver(() => {
      if (this.visible) this.draw();
    }).observe(this.scroller);
    this.scroller.addEventListener("scroll", () => {
      this.hideTooltip();
      if (this.drawPending) return;
      this.drawPending = true;
      requestAnimationFrame(() => {
        this.drawPending = false;
        this.draw();
      });
    });
  }

  chooseThread(choice) {
    this.threadChoice = choice;
    this.threadPicker.value = choice;
    this.useTree();
  }

  setMode(mode) {
    this.mode = mode;
    this.useTree();
  }

  // Switch to the tree of the current thread choice and mode, building it on first use: at once when
  // small, else in steps (any other tree still being built is dropped: its choice was left).
  useTree() {
    const choice = this.threadChoice;
    let trees = this.trees.get(choice);
    if (trees === undefined) {
      trees = { total: null, self: null };
      this.trees.set(choice, trees);
    }
    const threads = choice === FLAME_ALL_THREADS ? this.threads : [this.threads[Number(choice)]];
    const slices = threads.reduce((sum, thread) => sum + thread.slices.count, 0);
    let steps = null;
    let size = 0;
    if (trees.total === null) {
      steps = callTreeSteps(threads);
      size = slices;
    } else if (this.mode === "self" && trees.self === null) {
      steps = invertedTreeSteps(trees.total);
      size = trees.total.size;
    }
    const wanted = trees.total === null ? "total" : this.mode;
    if (this.job !== null && (this.job.choice !== choice || this.job.mode !== wanted)) {
      this.job.job.cancel();
      this.job = null;
    }
    for (const [mode, button] of Object.entries(this.modeButtons)) {
      button.classList.toggle("active", mode === this.mode);
      button.setAttribute("aria-pressed", String(mode === this.mode));
    }
    this.zoomNode = 0;
    this.selectedNode = -1;
    this.timelineButton.disabled = true;
    this.hoverNode = -1;
    this.hideTooltip();
    if (steps !== null && size < STEPS_FROM) { // slices, or for the inverted tree the nodes
      trees[wanted] = runToEnd(steps);
      this.useTree(); // the self tree may still be needed
      return;
    }
    if (steps !== null) {
      if (this.job === null) this.startJob(steps, choice, wanted, trees, slices);
      else steps.return(undefined); // already under way
      this.tree = null;
      this.depthNote.hidden = true;
      this.showCountingMatches(); // not the count of the tree left, which is no longer shown
      this.updateBreadcrumb();
      this.draw();
      return;
    }
    this.progress.hidden = true;
    this.tree = trees[this.mode];
    const levels = this.tree.callerLevels;
    this.depthNote.hidden = !(levels < Infinity);
    this.depthNote.textContent = levels < Infinity ? `callers shown ${levels - 1} levels deep (too many stacks)` : "";
    this.updateMatches();
    this.updateBreadcrumb();
    this.draw();
    if (this.pendingFocus !== null) {
      const funcId = this.pendingFocus;
      this.pendingFocus = null;
      this.focusFunction(funcId);
    }
  }

  startJob(steps, choice, mode, trees, slices) {
    const what = mode === "self" ? "the self-time flamegraph" : "the flamegraph";
    const of = choice === FLAME_ALL_THREADS ? "all threads" : this.app.threadLabel(this.threads[Number(choice)]);
    const label = `Building ${what} of ${of} (${slices.toLocaleString("en-US")} calls)`;
    const job = jobWithProgress(steps, this.progress, label, (tree) => {
      trees[mode] = tree;
      this.job = null;
      this.useTree();
    });
    if (!this.visible) job.pause();
    this.job = { choice, mode, job };
  }

  zoomTo(node) {
    this.zoomNode = node;
    this.timelineButton.disabled = this.selectedNode <= 0;
    this.updateBreadcrumb();
    this.draw();
  }

  updateBreadcrumb() {
    this.resetButton.disabled = this.zoomNode === 0;
    if (this.tree === null) {
      this.breadcrumb.replaceChildren();
      return;
    }
    const path = [];
    for (let at = this.zoomNode; at >= 0; at = this.tree.parent[at]) path.push(at);
    path.reverse();
    this.breadcrumb.replaceChildren();
    path.forEach((node, index) => {
      if (index > 0) this.breadcrumb.append(" › ");
      const crumb = document.createElement("button");
      crumb.type = "button";
      crumb.className = "pt-flame-crumb";
      crumb.textContent = this.frameName(node);
      crumb.disabled = node === this.zoomNode;
      crumb.addEventListener("click", () => this.zoomTo(node));
      this.breadcrumb.append(crumb);
    });
  }

  // While a tree is being built: with a search, say the count is to come (null to the app).
  showCountingMatches() {
    const searching = this.funcMatches !== null;
    this.matchLabel.textContent = searching ? "counting matching frames…" : "";
    this.app.setMatchCount(this, searching ? null : 0);
  }

  // Mark the frames whose function matches the search, count them and the time they cover.
  updateMatches() {
    const tree = this.tree;
    if (this.funcMatches === null) {
      this.matchLabel.textContent = "";
      this.app.setMatchCount(this, 0);
      this.draw();
      return;
    }
    const matches = this.funcMatches;
    let frames = 0;
    let covered = 0; // time in matching frames, each moment once: nested matches are not added again
    const insideMatch = new Uint8Array(tree.size);
    for (let node = 1; node < tree.size; node++) {
      const hit = matches[tree.func[node]] === 1;
      const above = insideMatch[tree.parent[node]] === 1;
      if (hit) frames++;
      if (hit && !above) covered += tree.total[node];
      insideMatch[node] = hit || above ? 1 : 0;
    }
    const share = tree.total[0] > 0 ? (100 * covered) / tree.total[0] : 0;
    const counted = frames === 1 ? "1 frame matches" : `${frames.toLocaleString("en-US")} frames match`;
    this.matchLabel.textContent = `${counted}, ${flamePercent(share)} of the time`;
    this.app.setMatchCount(this, frames);
    this.draw();
  }

  // The node under the mouse: an ancestor row of the zoomed frame, or a frame inside it.
  nodeAt(event) {
    if (this.tree === null) return -1;
    const box = this.canvas.getBoundingClientRect();
    const x = event.clientX - box.left;
    const row = Math.floor((event.clientY - box.top + this.scroller.scrollTop) / FLAME_ROW_PX);
    const tree = this.tree;
    const zoomDepth = tree.depth[this.zoomNode];
    if (row < 0) return -1;
    if (row <= zoomDepth) {
      let at = this.zoomNode;
      while (tree.depth[at] > row) at = tree.parent[at];
      return at;
    }
    const scale = this.scale();
    const left = tree.x[this.zoomNode];
    let at = this.zoomNode;
    for (let depth = zoomDepth + 1; depth <= row; depth++) {
      let next = -1;
      for (let c = tree.childStart[at]; c < tree.childStart[at + 1]; c++) {
        const child = tree.children[c];
        const from = (tree.x[child] - left) * scale;
        const width = tree.total[child] * scale;
        if (width < FLAME_MIN_FRAME_PX) break;
        if (x >= from && x < from + width) {
          next = child;
          break;
        }
      }
      if (next < 0) return -1;
      at = next;
    }
    return at;
  }

  onHover(event) {
    const node = this.nodeAt(event);
    if (node !== this.hoverNode) {
      this.hoverNode = node;
      this.draw();
    }
    if (node < 0) {
      this.hideTooltip();
      return;
    }
    this.showTooltip(node, event.clientX, event.clientY);
  }

  showTooltip(node, clientX, clientY) {
    const tree = this.tree;
    const format = (ns) => this.app.formatDuration(ns);
    const all = tree.total[0];
    const parent = tree.parent[node];
    const lines = [];
    const func = tree.func[node];
    if (func >= 0) {
      const info = this.trace.functions[func];
      const where = info.kind === 1 ? "built-in (C)" : `${info.filename}:${info.lineno}`;
      lines.push(["", where]);
    }
    if (this.mode === "total") {
      lines.push(["Total", `${format(tree.total[node])} (${flamePercent((100 * tree.total[node]) / all)} of all)`]);
      lines.push(["Self", format(tree.self[node])]);
    } else {
      const leaf = this.frameName(flameLeaf(tree, node));
      const via = tree.depth[node] > 1 ? " through this path" : "";
      lines.push([`Self time of ${leaf}${via}`, `${format(tree.total[node])} (${flamePercent((100 * tree.total[node]) / all)} of all)`]);
    }
    if (node > 0) {
      lines.push(["Calls", tree.calls[node].toLocaleString("en-US")]);
      if (parent > 0) lines.push(["Of parent", flamePercent((100 * tree.total[node]) / tree.total[parent])]);
    }
    const title = document.createElement("div");
    title.className = "pt-flame-tooltip-name";
    title.textContent = this.frameName(node);
    const table = document.createElement("dl");
    for (const [term, value] of lines) {
      const dt = document.createElement("dt");
      dt.textContent = term;
      const dd = document.createElement("dd");
      dd.textContent = value;
      table.append(dt, dd);
    }
    this.tooltip.replaceChildren(title, table);
    this.tooltip.hidden = false;
    const room = window.innerWidth - this.tooltip.offsetWidth - 8;
    this.tooltip.style.left = `${Math.max(4, Math.min(clientX + 14, room))}px`;
    const below = clientY + 18 + this.tooltip.offsetHeight < window.innerHeight;
    this.tooltip.style.top = `${below ? clientY + 18 : Math.max(4, clientY - 8 - this.tooltip.offsetHeight)}px`;
  }

  hideTooltip() {
    if (this.tooltip) this.tooltip.hidden = true;
  }

  frameName(node) {
    const func = this.tree.func[node];
    return func < 0 ? this.rootLabel() : this.trace.functions[func].name;
  }

  rootLabel() {
    if (this.threadChoice === FLAME_ALL_THREADS) return "all threads";
    return this.app.threadLabel(this.threads[Number(this.threadChoice)]);
  }

  // Canvas pixels per ns at the current zoom.
  scale() {
    const zoomTotal = this.tree.total[this.zoomNode];
    return zoomTotal > 0 ? this.width / zoomTotal : 0;
  }

  draw() {
    if (!this.visible || !this.built) return;
    const tree = this.tree;
    if (tree === null) {
      this.drawn = [];
      this.canvas.getContext("2d").clearRect(0, 0, this.canvas.width, this.canvas.height);
      return;
    }
    const width = this.scroller.clientWidth;
    const height = Math.max(this.scroller.clientHeight, FLAME_ROW_PX);
    this.spacer.style.height = `${(tree.maxDepth + 1) * FLAME_ROW_PX}px`;
    this.scrollTop = this.scroller.scrollTop;
    const ratio = window.devicePixelRatio || 1;
    if (this.canvas.width !== Math.round(width * ratio) || this.canvas.height !== Math.round(height * ratio)) {
      this.canvas.width = Math.round(width * ratio);
      this.canvas.height = Math.round(height * ratio);
      this.canvas.style.width = `${width}px`;
      this.canvas.style.height = `${height}px`;
    }
    this.width = width;
    this.height = height;
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, width, height);
    ctx.translate(0, -this.scrollTop); // from here on, y is the row's place in the whole graph
    ctx.font = FLAME_FONT;
    ctx.textBaseline = "middle";
    this.drawn = [];
    // The zoomed frame's ancestors, full width: they say where the zoomed frame sits.
    for (let at = this.tree.parent[this.zoomNode]; at >= 0; at = tree.parent[at]) {
      this.drawFrame(ctx, at, 0, width, tree.depth[at], true);
    }
    if (tree.total[0] <= 0) {
      ctx.fillStyle = "#667085";
      ctx.fillText("No time was recorded in calls of this selection.", 8, FLAME_ROW_PX / 2);
      return;
    }
    const scale = this.scale();
    const left = tree.x[this.zoomNode];
    const lastRow = Math.floor((this.scrollTop + height) / FLAME_ROW_PX);
    const stack = [this.zoomNode];
    while (stack.length > 0) {
      const node = stack.pop();
      const depth = tree.depth[node];
      const x = (tree.x[node] - left) * scale;
      const frameWidth = tree.total[node] * scale;
      this.drawFrame(ctx, node, x, frameWidth, depth, false);
      if (depth >= lastRow) continue; // its children are below the view
      for (let c = tree.childStart[node]; c < tree.childStart[node + 1]; c++) {
        const child = tree.children[c];
        if (tree.total[child] * scale < FLAME_MIN_FRAME_PX) break; // the rest are narrower still
        stack.push(child);
      }
    }
  }

  drawFrame(ctx, node, x, width, depth, isAncestor) {
    const tree = this.tree;
    const y = depth * FLAME_ROW_PX;
    if (y + FLAME_ROW_PX <= this.scrollTop || y >= this.scrollTop + this.height) return; // out of view
    const func = tree.func[node];
    const dimmed = this.funcMatches !== null && (func < 0 || this.funcMatches[func] !== 1);
    ctx.globalAlpha = isAncestor ? 0.55 : 1;
    ctx.fillStyle = func < 0 ? FLAME_ROOT_COLOUR : dimmed ? this.colours.faded[func] : this.colours.normal[func];
    const gap = width > 3 ? 1 : 0; // a hairline between neighbours, once they are wide enough to spare it
    ctx.fillRect(x, y, width - gap, FLAME_ROW_PX - 1);
    ctx.globalAlpha = 1;
    if (node === this.selectedNode || node === this.hoverNode) {
      ctx.strokeStyle = node === this.selectedNode ? "#1a1a1a" : "#555";
      ctx.lineWidth = node === this.selectedNode ? 2 : 1;
      ctx.strokeRect(x + 0.5, y + 0.5, Math.max(width - gap - 1, 1), FLAME_ROW_PX - 2);
    }
    if (width >= FLAME_MIN_LABEL_PX) {
      const label = flameFitLabel(ctx, this.frameName(node), width - 2 * FLAME_LABEL_PAD_PX);
      if (label) {
        ctx.fillStyle = dimmed ? "#777" : "#111";
        ctx.fillText(label, x + FLAME_LABEL_PAD_PX, y + FLAME_ROW_PX / 2);
      }
    }
    this.drawn.push([node, x, width, depth]);
  }
}

// The largest node of a function in a tree, or -1.
function flameWidestFrame(tree, funcId) {
  let best = -1;
  for (let node = 1; node < tree.size; node++) {
    if (tree.func[node] === funcId && (best < 0 || tree.total[node] > tree.total[best])) best = node;
  }
  return best;
}

// In an inverted tree, the function whose self time a node shows: its ancestor just below the root.
function flameLeaf(tree, node) {
  let at = node;
  while (tree.parent[at] > 0) at = tree.parent[at];
  return at;
}

// 1 for each function whose name or file contains the (lower-case) text.
function flameMatchingFunctions(functions, text) {
  const matches = new Uint8Array(functions.length);
  functions.forEach((info, id) => {
    if (info.name.toLowerCase().includes(text) || info.filename.toLowerCase().includes(text)) matches[id] = 1;
  });
  return matches;
}

// The longest prefix of `text` (with an ellipsis when cut) that fits in `room` pixels, or "".
function flameFitLabel(ctx, text, room) {
  if (ctx.measureText(text).width <= room) return text;
  let low = 0;
  let high = text.length;
  while (low < high) {
    const mid = (low + high + 1) >> 1;
    if (ctx.measureText(`${text.slice(0, mid)}…`).width <= room) low = mid;
    else high = mid - 1;
  }
  return low >= 2 ? `${text.slice(0, low)}…` : "";
}

function flamePercent(value) {
  if (!Number.isFinite(value)) return "–";
  return value >= 10 || value === 0 ? `${value.toFixed(1)}%` : `${value.toFixed(2)}%`;
}
