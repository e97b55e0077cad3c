"""The share link: a read-only, wrapped text field with a copy button, drawn by a tiny component.

``st.code`` would give the same copy button, but its element loads Streamlit's syntax highlighter
(about 1.5 MB of JavaScript) on every page of the app, the first paint included.
"""

from __future__ import annotations

import functools
import json

import streamlit as st

from leo_core.i18n import DEFAULT_LANGUAGE, _, language

__all__ = ["share_link"]

_JS = """
export default function (component) {
  const { data, parentElement } = component;
  let box = parentElement.querySelector('.leo-share');
  if (!box) {
    box = document.createElement('div');
    box.className = 'leo-share';
    box.innerHTML = '<textarea readonly rows="3"></textarea><button type="button"></button>';
    parentElement.appendChild(box);
    const input = box.querySelector('textarea');
    const button = box.querySelector('button');
    input.setAttribute('aria-label', WORDS.label);
    button.textContent = WORDS.copy;
    input.addEventListener('focus', () => input.select());
    button.addEventListener('click', async () => {
      input.select();
      try { await navigator.clipboard.writeText(input.value); } catch (e) { document.execCommand('copy'); }
      button.textContent = WORDS.copied;
      setTimeout(() => { button.textContent = WORDS.copy; }, 1500);
    });
  }
  box.querySelector('textarea').value = data;
}
"""
_CSS = """
.leo-share { display: flex; flex-direction: column; align-items: flex-end; gap: 0.3rem; }
.leo-share textarea { width: 100%; box-sizing: border-box; resize: none; word-break: break-all;
  font-family: monospace; font-size: 0.8rem; padding: 0.3rem;
  border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.4rem; background: rgba(240, 242, 246, 0.6); }
.leo-share button { border: 1px solid rgba(49, 51, 63, 0.2); border-radius: 0.4rem; background: white;
  padding: 0.2rem 0.6rem; cursor: pointer; }
"""


@functools.cache
def _component(lang: str):
    """The component in ``lang`` (its button's words are in its code): one per language, registered once."""
    words = {"label": _("Share link"), "copy": _("Copy"), "copied": _("Copied")}
    name = "leo_share_link" if lang == DEFAULT_LANGUAGE else f"leo_share_link_{lang}"
    js = "const WORDS = " + json.dumps(words, ensure_ascii=False) + ";\n" + _JS
    return st.components.v2.component(name, js=js, css=_CSS, isolate_styles=False)


def share_link(link: str, *, key: str = "share_link") -> None:
    """Show ``link`` in a read-only, wrapped field with a copy button (in the current container)."""
    _component(language())(data=link, key=key)
