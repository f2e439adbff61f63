// A file's lines as HTML, coloured as Pygments lexed them when the report was made. The data
// carries, for each line, its runs [length, class, length, class, ...] (lengths in UTF-16 units,
// as JavaScript counts; class indexes data.tokenClasses, Pygments' short CSS class names, 0 is
// plain text); the text after the last run is plain. Tokens that spanned lines were cut at each
// line break when the report was made, so every line stands alone.

import { escapeHtml } from "./heatmap_common.js";

// text: one line of source; runs: its runs (or null / undefined: all plain); classes: the table.
// skip: leave out this many characters from the start (the index shows lines without their indent).
export function lineHtml(text, runs, classes, skip = 0) {
  if (!runs || !runs.length) return escapeHtml(text.slice(skip));
  let html = "";
  let at = 0;
  for (let i = 0; i < runs.length; i += 2) {
    const end = at + runs[i];
    const from = Math.max(at, skip);
    if (end > from) {
      const piece = escapeHtml(text.slice(from, end));
      const css = classes[runs[i + 1]];
      html += css ? `<span class="${css}">${piece}</span>` : piece;
    }
    at = end;
  }
  if (at < text.length) html += escapeHtml(text.slice(Math.max(at, skip)));
  return html;
}

// Every line of a file as HTML, in order (file.code and file.tokens from the data).
export function highlightFile(file, classes) {
  const tokens = file.tokens || [];
  return file.code.map((text, index) => lineHtml(text, tokens[index], classes));
}
