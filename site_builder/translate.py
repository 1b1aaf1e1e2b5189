"""Translate stage: replace commentary with a language's translations (placeholder until i18n lands).

Contract: `translate_module(module, lang, locale_dir) -> (translated_module, fallback_ids)`.
`fallback_ids` lists the section ids (and "title"/"summary"/"intro") that kept their English text
because the translation is missing or fuzzy. For the source language the module comes back as is.
"""

from pathlib import Path

from .model import Module


def translate_module(module: Module, lang: str, locale_dir: Path) -> tuple[Module, list[str]]:
    return module, []
