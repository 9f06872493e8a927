// Downloads of originals: the API hands out a short-lived URL, and the browser follows it.

import { Api, ApiError, type DownloadLink } from "./api";
import { h } from "./dom";

/** Follow a download link: it answers with Content-Disposition: attachment, so the file is saved in place. */
function follow(link: DownloadLink): void {
  const anchor = h("a", { href: link.url, download: link.filename, hidden: true });
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
}

/**
 * A "Download <name>" button with its status line: on click it asks `fetchLink` for a short-lived URL and
 * follows it; a failure shows `describe(error)` as an alert.
 */
export function downloadAction(
  name: string,
  fetchLink: () => Promise<DownloadLink>,
  describe: (error: unknown) => string = (error) => (error instanceof ApiError ? error.display : String(error)),
): HTMLElement {
  const status = h("span", { class: "download-status", role: "status", "aria-live": "polite" });
  const button = h("button", { type: "button", class: "download", "aria-label": `Download ${name}` }, "Download");
  button.addEventListener("click", () => {
    button.setAttribute("disabled", "");
    status.setAttribute("role", "status");
    status.className = "download-status";
    status.textContent = "";
    fetchLink()
      .then(follow)
      .catch((error: unknown) => {
        status.setAttribute("role", "alert");
        status.className = "download-status error";
        status.textContent = describe(error);
      })
      .finally(() => button.removeAttribute("disabled"));
  });
  return h("span", { class: "download-action" }, button, status);
}

/** A button that fetches a short-lived download URL (GET /media/{id}/download) and follows it. */
export function downloadButton(api: Api, mediaId: string, name: string): HTMLElement {
  return downloadAction(name, () => api.downloadLink(mediaId));
}
