"""Full-text search text for products, with Chinese handled by bigrams.

PostgreSQL's parsers split words on spaces, which Chinese does not use. Before indexing and
before querying, every run of CJK characters is expanded into its single characters and its
overlapping two-character pairs ("台灯罩" → "台 灯 罩 台灯 灯罩"), the approach of Lucene's
CJK analyser. The 'simple' configuration then indexes those tokens as they are.
"""

from __future__ import annotations

import itertools
import re

from django.contrib.postgres.search import SearchQuery

_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[\w]+", re.UNICODE)
CONFIG = "simple"


def _expand(run: str) -> list[str]:
    chars = list(run)
    return chars + [a + b for a, b in itertools.pairwise(chars)]


def index_text(*parts: str) -> str:
    """The text stored for indexing: lower-cased words plus CJK characters and pairs."""
    text = " ".join(p for p in parts if p).lower()
    tokens: list[str] = []
    for match in _CJK_RUN.finditer(text):
        tokens.extend(_expand(match.group()))
    latin = _CJK_RUN.sub(" ", text)
    tokens.extend(_WORD.findall(latin))
    return " ".join(tokens)


def query_tokens(q: str) -> list[str]:
    """Tokens a query must all match: CJK pairs (or the single character), and words."""
    text = (q or "").lower()
    tokens: list[str] = []
    for match in _CJK_RUN.finditer(text):
        run = match.group()
        tokens.extend([run] if len(run) == 1 else [a + b for a, b in itertools.pairwise(run)])
    tokens.extend(_WORD.findall(_CJK_RUN.sub(" ", text)))
    return list(dict.fromkeys(t for t in tokens if t))


def search_query(q: str) -> SearchQuery | None:
    """A query matching documents that contain every token (prefix match on words)."""
    tokens = query_tokens(q)
    if not tokens:
        return None
    # Raw tsquery: tokens are \w+ or CJK only (regexes above), so nothing needs escaping.
    expression = " & ".join(f"{t}:*" if t.isascii() else t for t in tokens)
    return SearchQuery(expression, config=CONFIG, search_type="raw")
