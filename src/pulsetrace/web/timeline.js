// The timeline view: a canvas flame chart of every thread of every process, with a time axis,
// zoom (wheel, ctrl+wheel, W/S), pan (drag, A/D, horizontal wheel), double-click to zoom to a slice,
// a reset button, a hover tooltip, click-to-select, and search / function highlighting.
//
// The canvas stays the size of the window; a spacer gives the scroll container the lanes' full height
// so the browser's own scrollbar moves through the lanes. Frames are drawn on requestAnimationFrame,
// only when something changed.

import { formatTick, tickStep } from "./format.js";
import { describeHit, layoutTracks, ROW_HEIGHT, TrackPainter } from "./tracks.js";

const AXIS_HEIGHT = 24;
const ZOOM_PER_WHEEL_PIXEL = 0.0015;
const KEY_ZOOM_PER_SECOND = 2.4; // W/S held: e^2.4, about 11x per second
const KEY_PAN_PER_SECOND = 0.9; // A/D held: 90% of the window per second
const KEY_STEP = 0.12; // a single key press moves at least this much (zoom factor or window share)
const MIN_SPAN_NS = 50;
const DRAG_THRESHOLD_PX = 3;

export class TimelineView {
  constructor(container, trace, app) {
    this.container = container;
    this.trace = trace;
    this.app = app;
    this.painter = new TrackPainter(trace);
    this.collapsed = new Set();
    this.selection = null;
    this.highlightedFunction = null;
    this.searchMatches = null;
    this.searchText = "";
    this.t0 = trace.startNs;
    this.t1 = trace.endNs;
    this.frameRequested = false;
    this.frameCount = 0;
    this.firstFrameAt = null; // performance.now() of the first drawn frame (ms since navigation)
    this.lastDrawMs = 0;
    this.lastDrawnRects = 0;
    this.lastLabels = [];
    this.heldKeys = new Set();
    this.lastKeyFrame = null;
    this.build();
    this.relayout();
  }

  build() {
    const root = element("div", "timeline");
    const tools = element("div", "timeline-tools");
    this.resetButton = element("button", "tool-button", "Reset zoom");
    this.resetButton.type = "button";
    this.resetButton.id = "timeline-reset";
    this.resetButton.addEventListener("click", () => this.resetZoom());
    const hint = element("span", "hint", "Wheel or W/S: zoom · drag or A/D: pan · Shift+wheel: scroll lanes · double-click: zoom to a slice");
    this.windowLabel = element("span", "hint");
    tools.append(this.resetButton, this.windowLabel, hint);
    this.scroller = element("div", "timeline-scroll");
    this.canvas = element("canvas", "timeline-canvas");
    this.canvas.id = "timeline-canvas";
    this.spacer = element("div", "timeline-spacer");
    this.scroller.append(this.canvas, this.spacer);
    this.tooltip = element("div", "tooltip");
    this.tooltip.hidden = true;
    root.append(tools, this.scroller);
    this.container.append(root, this.tooltip);
    this.bindEvents();
  }

  show() {
    this.visible = true;
    this.resize();
  }

  hide() {
    this.visible = false;
    this.tooltip.hidden = true;
    this.heldKeys.clear();
  }

  relayout() {
    const { tracks, height } = layoutTracks(this.trace, this.collapsed, this.app);
    this.tracks = tracks;
    this.spacer.style.height = `${AXIS_HEIGHT + height + 40}px`;
    this.requestFrame();
  }

  resize() {
    const width = this.scroller.clientWidth;
    const height = this.scroller.clientHeight;
    if (width === 0 || height === 0) return;
    const ratio = window.devicePixelRatio || 1;
    if (width === this.width && height === this.height && ratio === this.ratio) return;
    this.canvas.style.width = `${width}px`;
    this.canvas.style.height = `${height}px`;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    this.width = width;
    this.height = height;
    this.ratio = ratio;
    this.requestFrame();
  }

  requestFrame() {
    if (this.frameRequested) return;
    this.frameRequested = true;
    requestAnimationFrame((now) => this.frame(now));
  }

  frame(now) {
    this.frameRequested = false;
    if (!this.visible) return;
    this.applyHeldKeys(now);
    this.draw();
    if (this.heldKeys.size > 0) this.requestFrame();
  }

  get pxPerNs() {
    return this.width / (this.t1 - this.t0);
  }

  draw() {
    if (!this.width) this.resize();
    if (!this.width) return;
    const began = performance.now();
    const ctx = this.canvas.getContext("2d");
    ctx.setTransform(this.ratio, 0, 0, this.ratio, 0, 0);
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, this.width, this.height);
    const scrollTop = this.scroller.scrollTop;
    const frame = {
      t0: this.t0,
      t1: this.t1,
      pxPerNs: this.pxPerNs,
      width: this.width,
      viewTop: AXIS_HEIGHT,
      viewBottom: this.height,
      collapsed: this.collapsed,
      selection: this.selection,
      drawn: 0,
      labels: [], // {y, x0, x1, text} of every slice label drawn, for the tests
    };
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, AXIS_HEIGHT, this.width, this.height - AXIS_HEIGHT);
    ctx.clip();
    for (const track of this.tracks) {
      const top = AXIS_HEIGHT + track.y - scrollTop;
      if (top + track.height < AXIS_HEIGHT || top > this.height) continue;
      this.painter.draw(ctx, track, top, frame);
    }
    ctx.restore();
    this.drawAxis(ctx);
    this.lastDrawnRects = frame.drawn;
    this.lastLabels = frame.labels;
    this.frameCount++;
    this.lastDrawMs = performance.now() - began;
    if (this.firstFrameAt === null) this.firstFrameAt = performance.now();
    this.windowLabel.textContent = `window ${this.app.formatDuration(this.t1 - this.t0)}`;
  }

  drawAxis(ctx) {
    ctx.fillStyle = "#f6f7f9";
    ctx.fillRect(0, 0, this.width, AXIS_HEIGHT);
    ctx.fillStyle = "#d9dde5";
    ctx.fillRect(0, AXIS_HEIGHT - 1, this.width, 1);
    const step = tickStep(1 / this.pxPerNs, 110);
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillStyle = "#475467";
    for (let t = Math.ceil(this.t0 / step) * step; t <= this.t1; t += step) {
      const x = Math.round((t - this.t0) * this.pxPerNs) + 0.5;
      ctx.fillRect(x, AXIS_HEIGHT - 7, 1, 6);
      ctx.fillText(formatTick(t, step), x + 3, 14);
    }
  }

  // -- moving the window ------------------------------------------------------------------------

  setWindow(t0, t1) {
    const full = this.trace.endNs - this.trace.startNs;
    const margin = full * 0.05;
    let span = Math.max(t1 - t0, MIN_SPAN_NS);
    span = Math.min(span, full + 2 * margin);
    let start = Math.max(t0, this.trace.startNs - margin);
    start = Math.min(start, this.trace.endNs + margin - span);
    this.t0 = start;
    this.t1 = start + span;
    this.requestFrame();
  }

  zoomAt(factor, x) {
    const t = this.t0 + x / this.pxPerNs;
    this.setWindow(t - (t - this.t0) * factor, t + (this.t1 - t) * factor);
  }

  panBy(pixels) {
    const dt = pixels / this.pxPerNs;
    this.setWindow(this.t0 + dt, this.t1 + dt);
  }

  resetZoom() {
    this.setWindow(this.trace.startNs, this.trace.endNs);
  }

  zoomToSlice(thread, index) {
    const { start, end } = thread.slices;
    const span = Math.max(end[index] - start[index], MIN_SPAN_NS);
    this.setWindow(start[index] - span * 0.05, end[index] + span * 0.05);
  }

  applyHeldKeys(now) {
    if (this.heldKeys.size === 0) {
      this.lastKeyFrame = null;
      return;
    }
    const seconds = this.lastKeyFrame === null ? 1 / 60 : Math.min((now - this.lastKeyFrame) / 1000, 0.1);
    this.lastKeyFrame = now;
    const anchor = this.mouseX ?? this.width / 2;
    if (this.heldKeys.has("w")) this.zoomAt(Math.exp(-KEY_ZOOM_PER_SECOND * seconds), anchor);
    if (this.heldKeys.has("s")) this.zoomAt(Math.exp(KEY_ZOOM_PER_SECOND * seconds), anchor);
    if (this.heldKeys.has("a")) this.panBy(-this.width * KEY_PAN_PER_SECOND * seconds);
    if (this.heldKeys.has("d")) this.panBy(this.width * KEY_PAN_PER_SECOND * seconds);
  }

  // A key press moves at once by KEY_STEP; held down, it keeps moving smoothly every frame.
  keyDown(key) {
    if (!this.heldKeys.has(key)) {
      const anchor = this.mouseX ?? this.width / 2;
      if (key === "w") this.zoomAt(1 - KEY_STEP, anchor);
      if (key === "s") this.zoomAt(1 / (1 - KEY_STEP), anchor);
      if (key === "a") this.panBy(-this.width * KEY_STEP);
      if (key === "d") this.panBy(this.width * KEY_STEP);
    }
    this.heldKeys.add(key);
    this.requestFrame();
  }

  // -- events -----------------------------------------------------------------------------------

  bindEvents() {
    new ResizeObserver(() => this.resize()).observe(this.scroller);
    this.scroller.addEventListener("scroll", () => this.requestFrame());
    this.canvas.addEventListener("wheel", (event) => this.onWheel(event), { passive: false });
    this.canvas.addEventListener("mousedown", (event) => this.onMouseDown(event));
    this.canvas.addEventListener("mousemove", (event) => this.onHover(event));
    this.canvas.addEventListener("mouseleave", () => {
      this.tooltip.hidden = true;
      this.mouseX = undefined;
    });
    this.canvas.addEventListener("dblclick", (event) => this.onDoubleClick(event));
    document.addEventListener("keydown", (event) => {
      if (!this.visible || isTyping(event.target) || event.ctrlKey || event.metaKey || event.altKey) return;
      const key = event.key.toLowerCase();
      if (["w", "a", "s", "d"].includes(key)) {
        event.preventDefault();
        this.keyDown(key);
      }
    });
    document.addEventListener("keyup", (event) => this.heldKeys.delete(event.key.toLowerCase()));
    window.addEventListener("blur", () => this.heldKeys.clear());
  }

  localPoint(event) {
    const rect = this.canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top };
  }

  onWheel(event) {
    event.preventDefault();
    const { x } = this.localPoint(event);
    const unit = event.deltaMode === 1 ? 16 : event.deltaMode === 2 ? this.height : 1;
    const dx = event.deltaX * unit;
    const dy = event.deltaY * unit;
    if (event.shiftKey) {
      this.scroller.scrollTop += dy || dx;
    } else if (Math.abs(dx) > Math.abs(dy) && !event.ctrlKey) {
      this.panBy(dx);
    } else {
      this.zoomAt(Math.exp(dy * ZOOM_PER_WHEEL_PIXEL), x);
    }
  }

  onMouseDown(event) {
    if (event.button !== 0) return;
    const startPoint = this.localPoint(event);
    let last = startPoint;
    let dragging = false;
    const move = (moveEvent) => {
      const point = this.localPoint(moveEvent);
      if (!dragging && Math.hypot(point.x - startPoint.x, point.y - startPoint.y) >= DRAG_THRESHOLD_PX) {
        dragging = true;
        this.canvas.classList.add("dragging");
        this.tooltip.hidden = true;
      }
      if (dragging) {
        this.panBy(last.x - point.x);
        this.scroller.scrollTop += last.y - point.y;
      }
      last = point;
    };
    const up = () => {
      window.removeEventListener("mousemove", move);
      window.removeEventListener("mouseup", up);
      this.canvas.classList.remove("dragging");
      if (!dragging) this.onClick(startPoint);
    };
    window.addEventListener("mousemove", move);
    window.addEventListener("mouseup", up);
  }

  onClick({ x, y }) {
    const found = this.trackAt(y);
    if (found === null) return;
    const { track, offset } = found;
    if (track.kind === "header") {
      if (this.collapsed.has(track.key)) this.collapsed.delete(track.key);
      else this.collapsed.add(track.key);
      this.relayout();
      return;
    }
    this.app.select(this.painter.hit(track, x, offset, this.frameInfo()));
  }

  onDoubleClick(event) {
    const { x, y } = this.localPoint(event);
    const found = this.trackAt(y);
    if (found === null || found.track.kind !== "slices") return;
    const hit = this.painter.hit(found.track, x, found.offset, this.frameInfo());
    if (hit !== null) this.zoomToSlice(hit.thread, hit.index);
  }

  onHover(event) {
    const { x, y } = this.localPoint(event);
    this.mouseX = x;
    if (event.buttons !== 0) return;
    const found = this.trackAt(y);
    const hit = found === null ? null : this.painter.hit(found.track, x, found.offset, this.frameInfo());
    if (hit === null) {
      this.tooltip.hidden = true;
      this.canvas.style.cursor = found?.track.kind === "header" ? "pointer" : "default";
      return;
    }
    this.canvas.style.cursor = "pointer";
    this.tooltip.textContent = describeHit(hit, this.trace);
    this.tooltip.hidden = false;
    const left = Math.min(event.clientX + 14, window.innerWidth - this.tooltip.offsetWidth - 8);
    this.tooltip.style.left = `${left}px`;
    this.tooltip.style.top = `${event.clientY + 16}px`;
  }

  frameInfo() {
    return { t0: this.t0, t1: this.t1, pxPerNs: this.pxPerNs };
  }

  // The track at canvas height y and y's offset inside it, or null (the axis, or below the lanes).
  trackAt(y) {
    if (y < AXIS_HEIGHT) return null;
    const laneY = y - AXIS_HEIGHT + this.scroller.scrollTop;
    for (const track of this.tracks) {
      if (laneY >= track.y && laneY < track.y + track.height) return { track, offset: laneY - track.y };
    }
    return null;
  }

  // -- selection, search, highlighting ----------------------------------------------------------

  setSelection(selection) {
    this.selection = selection;
    this.requestFrame();
  }

  highlightFunction(funcId) { // one function id, an array of them, or null
    this.highlightedFunction = funcId ?? null;
    this.updateMatches();
  }

  setSearch(text) {
    this.searchText = text.trim().toLowerCase();
    if (this.searchText === "") {
      this.searchMatches = null;
      this.app.setMatchCount("timeline", 0);
    } else {
      const needle = this.searchText;
      this.searchMatches = new Uint8Array(this.trace.functions.length);
      this.trace.functions.forEach((func, i) => {
        if (func.name.toLowerCase().includes(needle) || func.filename.toLowerCase().includes(needle)) {
          this.searchMatches[i] = 1;
        }
      });
      this.app.setMatchCount("timeline", this.countMatching(this.searchMatches));
    }
    this.updateMatches();
  }

  countMatching(matches) {
    let n = 0;
    for (const thread of this.trace.threads) {
      const { func, count } = thread.slices;
      for (let i = 0; i < count; i++) n += matches[func[i]];
    }
    return n;
  }

  // The painter highlights the search matches, or the highlighted function's slices, or both.
  updateMatches() {
    if (this.searchMatches === null && this.highlightedFunction === null) {
      this.painter.matches = null;
    } else {
      const matches = this.searchMatches ? this.searchMatches.slice() : new Uint8Array(this.trace.functions.length);
      if (this.highlightedFunction !== null) {
        if (this.searchMatches === null) matches.fill(0);
        for (const id of [].concat(this.highlightedFunction)) matches[id] = 1; // one id or several
      }
      this.painter.matches = matches;
    }
    this.requestFrame();
  }

  // Select the next (+1) or previous (-1) search match in time order across all threads. Matches are
  // ordered by (start, thread, slice index); each thread is entered by binary search on its start
  // times, so stepping costs the distance to the next match, not the trace size.
  stepMatch(direction) {
    const matches = this.searchMatches;
    if (matches === null) return;
    const threads = this.trace.threads;
    const current = this.selection?.type === "slice" ? this.selection : null;
    const fromStart = current ? current.thread.slices.start[current.index] : direction > 0 ? -Infinity : Infinity;
    const fromOrder = current ? threads.indexOf(current.thread) : -1;
    const fromIndex = current ? current.index : -1;
    let best = null;
    threads.forEach((thread, order) => {
      const { func, start, count } = thread.slices;
      if (direction > 0) {
        for (let i = firstAtOrAfter(start, count, fromStart); i < count; i++) {
          if (matches[func[i]] !== 1) continue;
          if (start[i] === fromStart && (order < fromOrder || (order === fromOrder && i <= fromIndex))) continue;
          if (best === null || start[i] < best.start || (start[i] === best.start && order < best.order)) {
            best = { start: start[i], order, thread, index: i };
          }
          break;
        }
      } else {
        for (let i = firstAtOrAfter(start, count, fromStart, true) - 1; i >= 0; i--) {
          if (matches[func[i]] !== 1) continue;
          if (start[i] === fromStart && (order > fromOrder || (order === fromOrder && i >= fromIndex))) continue;
          if (best === null || start[i] > best.start || (start[i] === best.start && order > best.order)) {
            best = { start: start[i], order, thread, index: i };
          }
          break;
        }
      }
    });
    if (best === null && current !== null) {
      this.app.select(null); // past the last match: wrap around
      this.stepMatch(direction);
      return;
    }
    if (best === null) return;
    this.app.select({ type: "slice", thread: best.thread, index: best.index });
    this.reveal(best.thread, best.index);
  }

  // Bring a slice into view: expand its lanes, scroll to its depth, move the window if needed.
  reveal(thread, index) {
    const processKey = `p${thread.pid}`;
    const threadKey = `${processKey}t${thread.index}`;
    if (this.collapsed.delete(processKey) | this.collapsed.delete(threadKey)) this.relayout();
    const { start, end, depth } = thread.slices;
    const duration = end[index] - start[index];
    if (start[index] < this.t0 || end[index] > this.t1) {
      if (duration > (this.t1 - this.t0) * 0.8) this.zoomToSlice(thread, index);
      else {
        const middle = (start[index] + end[index]) / 2;
        const half = (this.t1 - this.t0) / 2;
        this.setWindow(middle - half, middle + half);
      }
    }
    const track = this.tracks.find((t) => t.kind === "slices" && t.thread === thread);
    if (track) {
      const y = track.y + depth[index] * ROW_HEIGHT;
      const visibleHeight = this.height - AXIS_HEIGHT;
      if (y < this.scroller.scrollTop || y + ROW_HEIGHT > this.scroller.scrollTop + visibleHeight) {
        this.scroller.scrollTop = Math.max(0, y - visibleHeight / 3);
      }
    }
    this.requestFrame();
  }

  // -- for tests and benchmarks -----------------------------------------------------------------

  // The on-screen rectangle (page CSS pixels) of the visible part of a slice, or null if hidden.
  sliceRect(thread, index) {
    const track = this.tracks.find((t) => t.kind === "slices" && t.thread === thread);
    if (!track) return null;
    const { start, end, depth } = thread.slices;
    const x0 = Math.max((start[index] - this.t0) * this.pxPerNs, 0);
    const x1 = Math.min((end[index] - this.t0) * this.pxPerNs, this.width);
    const top = AXIS_HEIGHT + track.y + depth[index] * ROW_HEIGHT - this.scroller.scrollTop;
    if (x1 < x0 || top < AXIS_HEIGHT || top + ROW_HEIGHT > this.height) return null;
    const rect = this.canvas.getBoundingClientRect();
    return { x: rect.left + x0, y: rect.top + top, width: x1 - x0, height: ROW_HEIGHT - 1 };
  }

  // The tracks as a person reads them (kind, label, collapsed) with their on-screen rectangles.
  describeTracks() {
    const rect = this.canvas.getBoundingClientRect();
    return this.tracks.map((t) => ({
      kind: t.kind,
      label: t.label ?? t.counter?.name ?? "",
      collapsed: t.key ? this.collapsed.has(t.key) : false,
      x: rect.left,
      y: rect.top + AXIS_HEIGHT + t.y - this.scroller.scrollTop,
      width: this.width,
      height: t.height,
    }));
  }

  // The page x coordinate of a time (ns since the trace start).
  timeToPageX(ns) {
    return this.canvas.getBoundingClientRect().left + (ns - this.t0) * this.pxPerNs;
  }
}

// The first index whose start is >= t (or > t with `after`): starts are sorted (slices are in preorder).
function firstAtOrAfter(start, count, t, after = false) {
  let lo = 0;
  let hi = count;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (start[mid] < t || (after && start[mid] === t)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function isTyping(target) {
  return target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement || target?.isContentEditable;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}
