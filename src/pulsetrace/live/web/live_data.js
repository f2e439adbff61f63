// The live page's copy of the heatmap document (reports/heatmap.py's shape), kept whole from the
// ticks of the server, each of which holds only what changed since the page's last tick (see
// live/documents.py): a file's entry replaces the one held, its lines are added into the ones held.
// The files' text, read once per file, is put into their entries here.

export class LiveDocument {
  constructor() {
    this.files = new Map(); // path -> {entry, rows: Map line -> [line, hits, selfNs, totalNs]}
    this.sources = new Map(); // path -> {code, tokens}
    this.classes = [""]; // the token classes the sources index (the longest list seen)
    this.edges = [];
    this.callees = [];
    this.head = null; // the latest document's own fields (title, totals, groups, ...)
    this.cached = null;
  }

  // Take in one tick's heatmap document (full: it replaces all that is held).
  apply(delta, full) {
    if (full) {
      this.files.clear();
      this.edges = [];
      this.callees = [];
    }
    for (const file of delta.files) {
      const held = this.files.get(file.path);
      const rows = held ? held.rows : new Map();
      for (const row of file.lines) rows.set(row[0], row);
      const entry = { ...file, lines: [...rows.values()].sort((a, b) => a[0] - b[0]) };
      this.files.set(file.path, { entry: this.withSource(entry), rows });
    }
    if (delta.edges) {
      this.edges = delta.edges;
      this.callees = delta.callees;
    }
    if (full && delta.tokenClasses.length > this.classes.length) this.classes = delta.tokenClasses;
    // a full document has every part; the others only the parts that change (the totals)
    this.head = full ? delta : { ...this.head, totals: delta.totals };
    this.cached = null;
  }

  // A file's text ({code, tokens, classes} as /api/source gives it), once: its entry shows it from now on.
  addSource(path, code, tokens, classes) {
    this.sources.set(path, { code, tokens });
    if (classes.length > this.classes.length) this.classes = classes;
    const held = this.files.get(path);
    if (held) held.entry = this.withSource({ ...held.entry });
    this.cached = null;
  }

  withSource(entry) {
    const source = this.sources.get(entry.path);
    if (source) Object.assign(entry, { code: source.code, tokens: source.tokens, source: "live" });
    return entry;
  }

  has(path) {
    return this.files.has(path);
  }

  idOf(path) {
    return this.files.get(path)?.entry.id ?? null;
  }

  // The whole document, as the heatmap page takes it (made again only after a change). Files are in
  // path order, as the server lists them; edges and callees point at them by their index here.
  document() {
    if (this.cached) return this.cached;
    const files = [...this.files.values()].map((held) => held.entry)
      .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const index = new Map(files.map((file, i) => [file.path, i]));
    const edges = this.edges.map((edge) => ({ ...edge, fileId: index.get(edge.file) ?? -1 }));
    const callees = this.callees.map((callee) => ({ ...callee, fileId: index.get(callee.file) ?? -1 }));
    const { title, version, projectRoot, totals, groups } = this.head;
    this.cached = {
      title, version, projectRoot, totals, groups, tokenClasses: this.classes, files, edges, callees, summaries: [],
    };
    return this.cached;
  }
}
