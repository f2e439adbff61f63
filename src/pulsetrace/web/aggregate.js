// Aggregations over the viewer's trace for the flamegraph and the function table.
//
// Everything here reads the Slices struct of arrays (web/model.js) in plain typed-array loops: no
// object per slice, so a 10M-slice trace is aggregated in well under a second per pass. The rules are
// the ones of pulsetrace.reports.callstats, which the browser tests use as the oracle:
//   - calls count slices that start a call; a resumed generator or coroutine (FLAG_RESUMED) adds time
//     but is not a new call;
//   - the self time of a slice is its duration minus the durations of the slices directly inside it;
//   - a function's total time counts a slice only when no slice of the same function encloses it
//     (recursion is not counted twice), as cProfile does;
//   - max is the longest single slice.

import { FLAG_RESUMED } from "./model.js";

/** Every thread of the trace, in process order: the default selection of the aggregations below. */
export function allThreads(trace) {
  const threads = [];
  for (const process of trace.processes) {
    for (const thread of process.threads) threads.push(thread);
  }
  return threads;
}

/** The self time of each slice of one thread, as a Float64Array parallel to the slices. */
export function sliceSelfTimes(slices) {
  const n = slices.count;
  const { start, end, parent } = slices;
  const self = new Float64Array(n);
  for (let i = 0; i < n; i++) self[i] = end[i] - start[i];
  for (let i = 0; i < n; i++) {
    const p = parent[i];
    if (p >= 0) self[p] -= end[i] - start[i];
  }
  return self;
}

/**
 * Per-function statistics over the given threads (all of them by default), indexed by function id:
 * typed arrays of length trace.functions.length. `ran[f]` is 1 for functions with at least one slice.
 */
export function functionTotals(trace, threads = allThreads(trace)) {
  const count = trace.functions.length;
  const totals = {
    count,
    calls: new Float64Array(count),
    slices: new Float64Array(count),
    total: new Float64Array(count),
    self: new Float64Array(count),
    max: new Float64Array(count),
    ran: new Uint8Array(count),
  };
  // How many slices of each function enclose the current one; reset to zeros after every thread.
  const open = new Int32Array(count);
  for (const thread of threads) addThreadTotals(thread.slices, totals, open);
  return totals;
}

function addThreadTotals(slices, totals, open) {
  const n = slices.count;
  const { start, end, func, parent, flags } = slices;
  const { calls, total, self, max, ran } = totals;
  const sliceCount = totals.slices;
  // The chain of open slices from the outermost to the current one: popped back to a slice's parent
  // before it is pushed, which is O(1) amortised because slices come in preorder.
  const path = new Int32Array(maxDepthOf(slices) + 2);
  let top = 0;
  for (let i = 0; i < n; i++) {
    const p = parent[i];
    while (top > 0 && path[top - 1] !== p) open[func[path[--top]]]--;
    const f = func[i];
    const duration = end[i] - start[i];
    if (open[f] === 0) total[f] += duration;
    self[f] += duration;
    if (p >= 0) self[func[p]] -= duration;
    if ((flags[i] & FLAG_RESUMED) === 0) calls[f]++;
    sliceCount[f]++;
    if (duration > max[f]) max[f] = duration;
    ran[f] = 1;
    open[f]++;
    path[top++] = i;
  }
  while (top > 0) open[func[path[--top]]]--;
}

function maxDepthOf(slices) {
  let deepest = 0;
  const depth = slices.depth;
  for (let i = 0; i < slices.count; i++) if (depth[i] > deepest) deepest = depth[i];
  return deepest;
}

/**
 * A merged call tree: one node per distinct stack (root first), node 0 being the root above every
 * thread's outermost slices (func -1). Nodes are struct-of-arrays too; `childStart`/`children` list
 * each node's children (CSR layout), heaviest first, and `x` is each node's offset from the left edge
 * of the root in the tree's weight unit (ns), so a view lays frames out without walking the tree.
 */
export class CallTree {
  constructor(capacity = 1024) {
    this.size = 1;
    this.func = new Int32Array(capacity);
    this.parent = new Int32Array(capacity);
    this.depth = new Uint16Array(capacity);
    this.total = new Float64Array(capacity);
    this.self = new Float64Array(capacity);
    this.calls = new Float64Array(capacity);
    this.func[0] = -1;
    this.parent[0] = -1;
    this.maxDepth = 0;
    this.childStart = null;
    this.children = null;
    this.x = null;
    // (parent, func) -> node for nodes not found by the per-node cache of the last child looked up.
    this.index = new Map();
    this.lastFunc = new Int32Array(capacity).fill(-1);
    this.lastNode = new Int32Array(capacity);
    this.funcCount = 0;
  }

  /** The child of `node` for function `f`, created if needed. */
  child(node, f) {
    if (this.lastFunc[node] === f) return this.lastNode[node];
    const key = node * this.funcCount + f;
    let found = this.index.get(key);
    if (found === undefined) {
      found = this.size;
      if (found === this.func.length) this.grow();
      this.size++;
      this.func[found] = f;
      this.parent[found] = node;
      const depth = this.depth[node] + 1;
      this.depth[found] = depth;
      if (depth > this.maxDepth) this.maxDepth = depth;
      this.lastFunc[found] = -1;
      this.index.set(key, found);
    }
    this.lastFunc[node] = f;
    this.lastNode[node] = found;
    return found;
  }

  grow() {
    const capacity = this.func.length * 2;
    for (const name of ["func", "parent", "depth", "total", "self", "calls", "lastFunc", "lastNode"]) {
      const bigger = new this[name].constructor(capacity);
      bigger.set(this[name]);
      this[name] = bigger;
    }
  }

  /** Sort children heaviest first, lay out x offsets and drop the construction index. */
  finish() {
    const n = this.size;
    const counts = new Int32Array(n + 1);
    for (let node = 1; node < n; node++) counts[this.parent[node] + 1]++;
    for (let node = 0; node < n; node++) counts[node + 1] += counts[node];
    const children = new Int32Array(Math.max(n - 1, 0));
    const fill = counts.slice(0, n);
    for (let node = 1; node < n; node++) children[fill[this.parent[node]]++] = node;
    const total = this.total;
    for (let node = 0; node < n; node++) {
      const from = counts[node];
      const to = counts[node + 1];
      if (to - from > 1) {
        const sorted = Array.from(children.subarray(from, to)).sort((a, b) => total[b] - total[a] || a - b);
        children.set(sorted, from);
      }
    }
    this.childStart = counts;
    this.children = children;
    // Nodes are created after their parent, so one pass in creation order sees every parent placed.
    const x = new Float64Array(n);
    for (let node = 0; node < n; node++) {
      let offset = x[node];
      for (let c = counts[node]; c < counts[node + 1]; c++) {
        const child = children[c];
        x[child] = offset;
        offset += total[child];
      }
    }
    this.x = x;
    this.index = null;
    this.lastFunc = null;
    this.lastNode = null;
    return this;
  }

  /** The node's stack as function ids, root first (the root itself left out). */
  stack(node) {
    const funcs = [];
    for (let at = node; at > 0; at = this.parent[at]) funcs.push(this.func[at]);
    return funcs.reverse();
  }
}

/**
 * The top-down merged call tree of the given threads: every slice adds its duration to the node of
 * its stack, so a node's width is the total time spent in that call path and its self time the part
 * spent in no recorded callee. Threads are merged by stack: the outermost functions of every thread
 * are the root's children.
 */
export function buildCallTree(trace, threads = allThreads(trace)) {
  const tree = new CallTree();
  tree.funcCount = Math.max(trace.functions.length, 1);
  for (const thread of threads) addThreadToTree(thread.slices, tree);
  let rootTotal = 0;
  for (let node = 1; node < tree.size; node++) if (tree.parent[node] === 0) rootTotal += tree.total[node];
  tree.total[0] = rootTotal;
  return tree.finish();
}

function addThreadToTree(slices, tree) {
  const n = slices.count;
  const { start, end, func, parent, flags } = slices;
  const nodeOf = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const p = parent[i];
    const node = tree.child(p < 0 ? 0 : nodeOf[p], func[i]);
    nodeOf[i] = node;
    // tree.child may have grown the arrays: read them after the call.
    const duration = end[i] - start[i];
    tree.total[node] += duration;
    tree.self[node] += duration;
    if (p >= 0) tree.self[nodeOf[p]] -= duration;
    if ((flags[i] & FLAG_RESUMED) === 0) tree.calls[node]++;
  }
}

/**
 * The bottom-up ("inverted") tree of a top-down tree, weighted by self time: the root's children are
 * the functions where time was spent, each as wide as its self time, and a node's children are the
 * callers through which that time was reached. Every inverted node describes the leaf function's self
 * time and calls along one caller path, so its `self` equals its `total`. Built from the merged nodes,
 * not the slices, so its cost depends on the number of distinct stacks.
 */
export function invertCallTree(tree, funcCount) {
  const inverted = new CallTree();
  inverted.funcCount = Math.max(funcCount, 1);
  for (let node = 1; node < tree.size; node++) {
    const weight = tree.self[node];
    const calls = tree.calls[node];
    let at = 0;
    for (let caller = node; caller > 0; caller = tree.parent[caller]) {
      at = inverted.child(at, tree.func[caller]);
      inverted.total[at] += weight;
      inverted.self[at] += weight;
      inverted.calls[at] += calls;
    }
  }
  inverted.total[0] = tree.total[0];
  return inverted.finish();
}
