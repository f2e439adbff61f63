// Bring a drawn part of the page up to date with newly made HTML by changing only what differs: the
// elements that stay keep their identity, so a button being clicked, a link being hovered, the
// focus and the scroll position survive a redraw (the live view redraws its index several times a
// second). Children with a data-path or data-group attribute are matched by it (rows and groups
// that moved are moved, not made again); the others by position and tag.

function keyOf(node) {
  if (node.nodeType !== Node.ELEMENT_NODE) return null;
  const key = node.getAttribute("data-path") ?? node.getAttribute("data-group");
  return key === null ? null : `${node.tagName} ${key}`;
}

function sameAttributes(element, fresh) {
  for (const { name } of [...element.attributes]) if (!fresh.hasAttribute(name)) element.removeAttribute(name);
  for (const { name, value } of fresh.attributes) if (element.getAttribute(name) !== value) element.setAttribute(name, value);
}

function sameKind(node, fresh) {
  return node.nodeType === fresh.nodeType && node.nodeName === fresh.nodeName && keyOf(node) === null;
}

// Make the children of `element` those of `fresh` (whose nodes may be moved into `element`).
export function morphChildren(element, fresh) {
  const keyed = new Map();
  for (const child of element.childNodes) {
    const key = keyOf(child);
    if (key !== null) keyed.set(key, child);
  }
  let cursor = element.firstChild;
  for (const next of [...fresh.childNodes]) {
    const key = keyOf(next);
    let match = null;
    if (key !== null) {
      match = keyed.get(key) ?? null;
      keyed.delete(key);
    } else if (cursor && sameKind(cursor, next)) {
      match = cursor;
    }
    if (!match) {
      element.insertBefore(next, cursor);
      continue;
    }
    if (match === cursor) cursor = cursor.nextSibling;
    else element.insertBefore(match, cursor);
    morph(match, next);
  }
  while (cursor) {
    const after = cursor.nextSibling;
    cursor.remove();
    cursor = after;
  }
}

// Make `node` like `fresh` (of the same kind).
export function morph(node, fresh) {
  if (node.nodeType !== Node.ELEMENT_NODE) {
    if (node.nodeValue !== fresh.nodeValue) node.nodeValue = fresh.nodeValue;
    return;
  }
  sameAttributes(node, fresh);
  morphChildren(node, fresh);
}
