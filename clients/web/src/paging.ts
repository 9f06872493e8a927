// Cursor-paged lists, as every listing page shows them: fetch a page, append its cards, "Load more" (and, where
// asked, on scroll) while the API gives a next_cursor, with the list's aria-busy and a status line following along.

import { h, replaceChildren } from "./dom";

/** One page of a cursor-paged listing. */
export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** Where a list reports how loading went: `say` politely, `fail` as an alert; `loading`, if given, shows the loading text. */
export interface ListStatus {
  say(text: string): void;
  fail(error: unknown): void;
  loading?(text: string): void;
}

/** A `.message` line: polite (role="status") while things go well, an alert with the error's text when not. */
export function messageStatus(el: HTMLElement, describe: (error: unknown) => string): ListStatus {
  return {
    say(text) {
      el.setAttribute("role", "status");
      el.textContent = text;
    },
    fail(error) {
      el.setAttribute("role", "alert");
      el.textContent = describe(error);
    },
  };
}

/** The hidden "Load more" button a paged list shows while there is a next page. */
export function moreButton(text = "Load more"): HTMLButtonElement {
  return h("button", { type: "button", class: "load-more", hidden: true }, text);
}

export interface PagedListOptions<T> {
  /** The element the cards go into; its aria-busy is "true" while a page loads (unless `ariaBusy` is false). */
  list: HTMLElement;
  /** The "Load more" button (see moreButton): clicking it loads the next page; hidden on the last page. */
  more: HTMLButtonElement;
  status: ListStatus;
  fetch(cursor: string | null): Promise<Page<T>>;
  /** The card of an item, or null when there is nothing to append (the page placed or skipped it itself). */
  render(item: T): Node | null;
  /** The status once a page is in, from the number of cards in the list and whether more pages follow. */
  doneText(count: number, hasMore: boolean): string;
  /** Said while a page loads ("Loading…" unless given; null: nothing is said). */
  loadingText?: string | null;
  ariaBusy?: boolean;
  /** Also load the next page when the "Load more" button scrolls into view (it stays for keyboard users). */
  infiniteScroll?: boolean;
}

export class PagedList<T> {
  private cursor: string | null = null;
  private loading = false;
  private generation = 0;
  private readonly observer: IntersectionObserver | null = null;

  constructor(private readonly options: PagedListOptions<T>) {
    options.more.addEventListener("click", () => void this.loadMore());
    if (options.infiniteScroll) {
      this.observer = new IntersectionObserver((entries) => {
        if (entries.some((e) => e.isIntersecting)) void this.loadMore();
      });
      this.observer.observe(options.more);
    }
  }

  /** Stop loading on scroll (the page is being replaced). */
  dispose(): void {
    this.observer?.disconnect();
  }

  /** Empty the list and load the first page; a page still loading from before is dropped. */
  reload(): Promise<void> {
    this.generation += 1;
    this.cursor = null;
    replaceChildren(this.options.list);
    return this.load(null);
  }

  /** The next page, unless one is loading already or this was the last. */
  loadMore(): Promise<void> {
    if (this.loading || !this.cursor) return Promise.resolve();
    return this.load(this.cursor);
  }

  private async load(cursor: string | null): Promise<void> {
    const { list, more, status, loadingText = "Loading…", ariaBusy = true } = this.options;
    const generation = this.generation;
    this.loading = true;
    if (ariaBusy) list.setAttribute("aria-busy", "true");
    if (loadingText !== null) {
      if (status.loading) status.loading(loadingText);
      else status.say(loadingText);
    }
    try {
      const page = await this.options.fetch(cursor);
      if (generation !== this.generation) return; // reloaded meanwhile
      for (const item of page.items) {
        const card = this.options.render(item);
        if (card) list.append(card);
      }
      this.cursor = page.next_cursor;
      more.hidden = !this.cursor;
      status.say(this.options.doneText(list.childElementCount, this.cursor !== null));
    } catch (error) {
      if (generation === this.generation) status.fail(error);
    } finally {
      if (generation === this.generation) {
        this.loading = false;
        if (ariaBusy) list.setAttribute("aria-busy", "false");
      }
    }
  }
}
