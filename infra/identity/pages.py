"""The dev identity server's HTML: login, device-code and message pages (no external assets, one hashed style)."""

from __future__ import annotations

import base64
import hashlib
from html import escape

from infra.identity.replies import Html

STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1b1d21}"
    "main{max-width:26rem;margin:4rem auto;padding:2rem;background:#fff;border-radius:.5rem;"
    "box-shadow:0 1px 4px #0002}"
    "h1{font-size:1.4rem;margin-top:0}label{display:block;margin-top:1rem;font-weight:600}"
    "input{box-sizing:border-box;width:100%;padding:.5rem;font:inherit;border:1px solid #6b7280;border-radius:.25rem}"
    "input:focus,button:focus{outline:3px solid #2563eb;outline-offset:1px}"
    "button{margin-top:1.5rem;margin-right:.5rem;padding:.5rem 1.25rem;font:inherit;border-radius:.25rem;"
    "border:1px solid #1d4ed8;background:#1d4ed8;color:#fff;cursor:pointer}"
    "button.secondary{background:#fff;color:#1d4ed8}"
    ".error{color:#b91c1c;font-weight:600}.note{color:#4b5563;font-size:.9rem}"
)
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()


def content_security_policy(form_targets: tuple[str, ...]) -> str:
    """A CSP allowing only our own style and forms posting here (and redirecting to `form_targets`)."""
    # Chrome applies form-action to the redirect that follows a form POST, so the client's origin is listed.
    targets = " ".join(["'self'", *form_targets])
    return (
        f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; form-action {targets}; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


def page(title: str, body: str, form_targets: tuple[str, ...] = (), cookies: tuple[str, ...] = ()) -> Html:
    """A whole HTML document around `body` (already escaped)."""
    text = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} - Media Vault</title><style>{STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>\n"
    )
    return Html(text, form_targets, cookies)


def message(title: str, text: str, cookies: tuple[str, ...] = (), error: bool = False) -> Html:
    """A page that only says something (an error is announced to screen readers)."""
    role = ' class="error" role="alert"' if error else ""
    return page(title, f'<p id="message"{role}>{escape(text)}</p>', cookies=cookies)


def _hidden(fields: dict[str, str]) -> str:
    return "".join(f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items())


def login_form(
    title: str,
    action: str,
    hidden: dict[str, str],
    *,
    error: str | None = None,
    username: str = "",
    signed_in_as: str | None = None,
    allow_label: str = "Sign in",
    cancel_label: str = "Cancel",
    form_targets: tuple[str, ...] = (),
    intro: str | None = None,
) -> Html:
    """The sign-in form; with `signed_in_as` it only asks to confirm (the browser session already knows who)."""
    described = ' aria-describedby="error" aria-invalid="true"' if error else ""
    parts = [f'<p class="note">{escape(intro)}</p>' if intro else ""]
    if error:
        parts.append(f'<p id="error" class="error" role="alert">{escape(error)}</p>')
    parts.append(f'<form method="post" action="{escape(action)}">{_hidden(hidden)}')
    if signed_in_as is None:
        parts.append(
            '<label for="username">Username or email</label>'
            f'<input id="username" name="username" type="text" autocomplete="username" required autofocus'
            f' value="{escape(username)}"{described}>'
            '<label for="password">Password</label>'
            f'<input id="password" name="password" type="password" autocomplete="current-password"'
            f" required{described}>"
        )
    else:
        parts.append(f"<p>Signed in as <strong>{escape(signed_in_as)}</strong>.</p>")
    parts.append(
        f'<button type="submit" name="action" value="allow">{escape(allow_label)}</button>'
        f'<button type="submit" name="action" value="deny" class="secondary" formnovalidate>'
        f"{escape(cancel_label)}</button></form>"
    )
    return page(title, "".join(parts), form_targets)


def user_code_form(action: str, error: str | None = None) -> Html:
    """Ask for the code a device shows (RFC 8628 verification page)."""
    described = ' aria-describedby="error" aria-invalid="true"' if error else ""
    body = (
        '<p class="note">Enter the code shown on your device.</p>'
        + (f'<p id="error" class="error" role="alert">{escape(error)}</p>' if error else "")
        + f'<form method="get" action="{escape(action)}"><label for="user_code">Device code</label>'
        f'<input id="user_code" name="user_code" type="text" autocomplete="off" autocapitalize="characters"'
        f' spellcheck="false" required autofocus{described}>'
        '<button type="submit">Continue</button></form>'
    )
    return page("Connect a device", body)
