// Just enough of the DOM for the console's modules to build elements under Node's test runner: elements with
// attributes, children, text, listeners and click(); `document.createElement` and `document.body`.
// It models no layout and no CSS: tests that need those belong to the browser tier (tests/browser).

type Listener = (event: { type: string; target: FakeElement; preventDefault(): void }) => void;

export class FakeElement {
  readonly attributes = new Map<string, string>();
  children: (FakeElement | string)[] = [];
  parent: FakeElement | null = null;
  private readonly listeners = new Map<string, Listener[]>();

  constructor(readonly tagName: string) {}

  setAttribute(name: string, value: string): void {
    this.attributes.set(name, String(value));
  }
  getAttribute(name: string): string | null {
    return this.attributes.get(name) ?? null;
  }
  hasAttribute(name: string): boolean {
    return this.attributes.has(name);
  }
  removeAttribute(name: string): void {
    this.attributes.delete(name);
  }
  toggleAttribute(name: string, force?: boolean): boolean {
    const on = force ?? !this.attributes.has(name);
    if (on) this.attributes.set(name, "");
    else this.attributes.delete(name);
    return on;
  }
  get hidden(): boolean {
    return this.attributes.has("hidden");
  }
  set hidden(value: boolean) {
    this.toggleAttribute("hidden", value);
  }
  get className(): string {
    return this.getAttribute("class") ?? "";
  }
  set className(value: string) {
    this.setAttribute("class", value);
  }
  get textContent(): string {
    return this.children.map((c) => (typeof c === "string" ? c : c.textContent)).join("");
  }
  set textContent(value: string) {
    this.replaceChildren(value);
  }
  get childElementCount(): number {
    return this.children.filter((c) => typeof c !== "string").length;
  }
  append(...nodes: (FakeElement | string)[]): void {
    for (const node of nodes) {
      if (typeof node !== "string") {
        node.remove();
        node.parent = this;
      }
      this.children.push(node);
    }
  }
  replaceChildren(...nodes: (FakeElement | string)[]): void {
    for (const child of this.children) if (typeof child !== "string") child.parent = null;
    this.children = [];
    this.append(...nodes);
  }
  remove(): void {
    if (!this.parent) return;
    this.parent.children = this.parent.children.filter((c) => c !== this);
    this.parent = null;
  }
  addEventListener(type: string, listener: Listener): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }
  click(): void {
    for (const listener of this.listeners.get("click") ?? []) listener({ type: "click", target: this, preventDefault() {} });
  }
  /** Every element below this one, depth first. */
  descendants(): FakeElement[] {
    return this.children.flatMap((c) => (typeof c === "string" ? [] : [c, ...c.descendants()]));
  }
  /** The first element below this one with the tag name (lower case). */
  find(tag: string): FakeElement | undefined {
    return this.descendants().find((e) => e.tagName === tag);
  }
}

/** Install `document` on the global object (a fresh body each call); returns it for the test to inspect. */
export function installDocument(): { body: FakeElement; createElement(tag: string): FakeElement } {
  const doc = { body: new FakeElement("body"), createElement: (tag: string) => new FakeElement(tag) };
  (globalThis as unknown as { document: unknown }).document = doc;
  return doc;
}

/** A DOM element as the module under test typed it, for passing fakes into the console's code. */
export function asElement<T>(element: FakeElement): T {
  return element as unknown as T;
}
