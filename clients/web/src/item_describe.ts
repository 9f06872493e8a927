// The item's AI description: what the analyzer wrote, and (for whoever may ask) a "Describe with AI" button that
// queues a new one and shows it when it arrives. The API's refusals (a limit's 429, a 409 while processing) are
// shown in its own words.

import { h, replaceChildren } from "./dom";
import { AiDescription, ItemApi, ItemMedia, pause } from "./item_api";
import { statusLine } from "./item_versions";

// The analyzer usually answers within seconds; past about two minutes, polling stops and says so.
const POLLS = 40;
const FIRST_POLL_MS = 1000;
const MAX_POLL_MS = 4000;

export class DescriptionPanel {
  readonly root: HTMLElement;
  private readonly text = h("p", { class: "ai-description", "aria-live": "polite" });
  private readonly status = statusLine("form-status describe-status");
  private readonly button = h("button", { type: "button", "aria-describedby": "describe-hint" }, "Describe with AI");
  private readonly hint = h("small", { id: "describe-hint" }, "A description is written from the picture; it replaces the current one.");
  private asking = false;

  /** `mayAsk`: the caller may request descriptions (the owner; a grant never allows it). */
  constructor(
    private readonly items: ItemApi,
    private media: ItemMedia,
    mayAsk: boolean,
  ) {
    this.button.addEventListener("click", () => void this.ask());
    this.root = h(
      "section",
      { class: "describe", "aria-labelledby": "describe-heading" },
      h("h2", { id: "describe-heading" }, "AI description"),
      this.text,
      mayAsk ? h("p", { class: "actions" }, this.button, this.hint) : null,
      this.status.el,
    );
    this.update(media);
  }

  /** Show the item's description as the API has it now. */
  update(media: ItemMedia): void {
    this.media = media;
    const description: AiDescription | null = media.ai_description;
    const state = description?.status ?? (description ? "ready" : "none");
    this.root.dataset.status = state;
    const words = description?.text ? description.text : state === "pending" ? "" : "No description yet.";
    const when = description?.generated_at ? ` (written ${new Date(description.generated_at).toLocaleString()})` : "";
    replaceChildren(this.text, words, words && when ? h("small", { class: "ai-when" }, when) : null);
    // Only a ready item can be described (the API answers 409 otherwise); a trashed one is on its way out.
    this.button.disabled = this.asking || media.status !== "ready" || Boolean(media.trashed_at);
  }

  private async ask(): Promise<void> {
    if (this.asking) return;
    this.asking = true;
    this.button.disabled = true;
    this.status.say("Asking for a description…");
    try {
      const queued = await this.items.describe(this.media.media_id);
      this.update({ ...this.media, ai_description: queued.ai_description });
      this.status.say("Describing…");
      const arrived = await this.follow();
      if (arrived === null) return;
      if (arrived.status === "failed") this.status.fail(new Error(arrived.error ? `The description failed: ${arrived.error}` : "The description failed."));
      else if (arrived.status === "pending") this.status.say("The description is taking long; it will appear here when you come back.");
      else this.status.say("Description ready.");
    } catch (error) {
      this.status.fail(error);
    } finally {
      this.asking = false;
      this.update(this.media);
    }
  }

  /** Poll the item (a bounded number of times, slowing down) until its description is no longer pending. */
  private async follow(): Promise<AiDescription | null> {
    let wait = FIRST_POLL_MS;
    let description: AiDescription | null = this.media.ai_description;
    for (let poll = 0; poll < POLLS; poll += 1) {
      await pause(wait);
      if (!this.root.isConnected) return null;
      const media = await this.items.get(this.media.media_id);
      this.update(media);
      description = media.ai_description;
      if (description?.status !== "pending") return description ?? { status: "failed" };
      wait = Math.min(MAX_POLL_MS, wait * 1.5);
    }
    return description;
  }
}
