// Python source as one HTML string per line, highlighted in the browser when a file is opened.
// A small tokenizer of our own rather than a library on the Python side: it costs a few
// milliseconds per thousand lines, only for the files a reader opens, and the page carries plain
// text. Tokens that span lines (triple-quoted strings) are cut at each line break, each piece in
// its own <span>, so every line stands alone. Classes: k keyword, b builtin, s string, c comment,
// n number, d decorator, f name being defined.

import { escapeHtml } from "./heatmap_common.js";

const KEYWORDS = new Set((
  "False None True and as assert async await break class continue def del elif else except finally for " +
  "from global if import in is lambda nonlocal not or pass raise return try while with yield match case"
).split(" "));

const BUILTINS = new Set((
  "abs all any ascii bin bool breakpoint bytearray bytes callable chr classmethod compile complex delattr " +
  "dict dir divmod enumerate eval exec filter float format frozenset getattr globals hasattr hash help hex " +
  "id input int isinstance issubclass iter len list locals map max memoryview min next object oct open ord " +
  "pow print property range repr reversed round set setattr slice sorted staticmethod str sum super tuple " +
  "type vars zip self cls __name__ __file__ Exception BaseException ValueError TypeError KeyError " +
  "IndexError AttributeError RuntimeError StopIteration NotImplementedError OSError"
).split(" "));

// One alternation, matched token after token from the start (sticky): comment | string | number |
// decorator | name | a run of anything else (spaces, operators, brackets) | any one character.
// Names are consumed whole, so a digit inside one is never taken for a number.
const TOKEN = new RegExp([
  /(#[^\n]*)/.source,
  /((?:[rRbBuUfF]{1,2})?(?:"""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|"(?:[^"\\\n]|\\[\s\S])*"?|'(?:[^'\\\n]|\\[\s\S])*'?))/.source,
  /((?:0[xXoObB][0-9a-fA-F_]+|(?:\d[\d_]*\.?[\d_]*|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?[jJ]?))/.source,
  /(@[\p{L}_][\p{L}\p{N}_.]*)/.source,
  /([\p{L}_][\p{L}\p{N}_]*)/.source,
  /([^\p{L}\p{N}_#'"@.]+|[\s\S])/.source,
].join("|"), "uy");

function classOf(match, previousName) {
  if (match[1] !== undefined) return "c";
  if (match[2] !== undefined) return "s";
  if (match[3] !== undefined) return "n";
  if (match[4] !== undefined) return "d";
  const name = match[5];
  if (KEYWORDS.has(name)) return "k";
  if (previousName === "def" || previousName === "class") return "f";
  return BUILTINS.has(name) ? "b" : "";
}

// lines: the file's lines (as Python numbers them); returns the same number of HTML strings.
export function highlightLines(lines) {
  const text = lines.join("\n");
  const out = [];
  let current = "";
  const emit = (piece, css) => {
    if (!piece.includes("\n")) { // most tokens: no line break to cut at
      current += css ? `<span class="${css}">${escapeHtml(piece)}</span>` : escapeHtml(piece);
      return;
    }
    const parts = piece.split("\n");
    parts.forEach((part, index) => {
      if (index) {
        out.push(current);
        current = "";
      }
      if (part) current += css ? `<span class="${css}">${escapeHtml(part)}</span>` : escapeHtml(part);
    });
  };
  let at = 0;
  let previousName = "";
  TOKEN.lastIndex = 0; // sticky: every match starts where the last one ended, so nothing is skipped
  while (at < text.length) {
    const match = TOKEN.exec(text);
    emit(match[0], match[6] !== undefined ? "" : classOf(match, previousName));
    if (match[5] !== undefined) previousName = match[5];
    at = TOKEN.lastIndex;
  }
  out.push(current);
  return out.slice(0, lines.length);
}
