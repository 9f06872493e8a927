// A tiny element builder: the console needs no framework, only readable DOM construction.

type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;
type Child = Node | string | null | undefined | false;

/** Build an element: attributes (`on…` become listeners, `false`/`null` are left out) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (value === true) {
      el.setAttribute(name, "");
    } else {
      el.setAttribute(name, String(value));
    }
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

/** Replace an element's children. */
export function replaceChildren(el: Element, ...children: Child[]): void {
  el.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
}

/** Human-readable byte size. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** A card's picture: its thumbnail, else a placeholder glyph (▶ a video, ▦ an album, … anything else). */
export function cardPicture(thumbnail: { url: string; width: number; height: number } | null | undefined, alt: string, kind: string): HTMLElement {
  return thumbnail
    ? h("img", { src: thumbnail.url, alt, width: thumbnail.width, height: thumbnail.height, loading: "lazy" })
    : h("div", { class: "thumb-placeholder", "aria-hidden": "true" }, kind === "video" ? "▶" : kind === "album" ? "▦" : "…");
}
