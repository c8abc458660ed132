"""Whole public pages from Redis, invalidated by generations, each visitor's own parts filled in
(issue #12).

A public page that every visitor sees the same, but for a few parts about the visitor, is
rendered once and served from the cache (one Redis round trip, no database query for an
anonymous visitor) until something it shows changes. Which
changes matter is said by **generations**: named tokens in the cache (`all`, a product, a
category, …). A page is stored with the tokens it was rendered under, read *before* the
rendering; a service that changes what pages show replaces the tokens of what it changed
after its transaction commits (`bump`). A stored page whose tokens are no longer the current
ones is a miss. So a page rendered from data older than a bump is never served after it, and
nothing is ever deleted by pattern. A generation missing from the cache (evicted, flushed)
counts as changed, never as "no change".

What is cached, and for whom:
- GET (and HEAD, served from what a GET stored) of a view wrapped by `cached_page`, never
  with an `Authorization` header (API tokens);
- anonymous visitors (no session cookie, no messages cookie) always: what they are shown is
  the same for all of them;
- visitors with a session (signed in, an anonymous cart, messages) as the view's `sessions`
  says: `RENDER` (the default), never (the view renders as usual); `SAME`, the answer
  anonymous visitors get, untouched (the public catalog API: nothing in it is the caller's);
  `HOLES`, the stored page with their own parts filled in (below);
- only 200 responses that set no cookie, did not modify the session and showed no message;
- keyed by scheme, host, path, the query string cut down to the view's known parameters
  (sorted; any other parameter is dropped, and the page is rendered as if it had not been
  given, so the page matches its key) and the active language; a query string longer than
  `MAX_QUERY` is not cached (rendered as usual).

Per-visitor parts (`HOLES`): what a page shows about its visitor (the header's name,
notifications badge, staff link and log in/out, the nav's cart count and "My orders", the
messages, the home page's sign-up prompt) is a small template named by
`{% visitor_part "…" %}`. A page rendered for the cache leaves a hole there (a marker with the
template's name); it is stored as its parts around the holes, with the holes as rendered for
its filler if the filler was anonymous (then an anonymous hit only joins bytes). Every other
answer renders the holes for its own request (one `RequestContext`: its user, cart count,
unread count, messages) and joins them with the stored parts. So one visitor's data is never
stored and never in another's answer; a message is rendered into its visitor's answer only,
once (reading it consumes it, as on any page). The rest of a `HOLES` page must be the same
for every visitor: its view and templates read neither the user, the session nor the
messages outside a `visitor_part`. This is checked on every fill: if the session or the
messages were read by the time the main part is rendered (`request.user` loads the session),
the page is not served to visitors with a session (they get it rendered whole, as with
`RENDER`), and if the filler itself had a session it is not stored at all. A view that reads
the visitor (a buyer's own review form, member prices, "already reviewed") must leave its
main part's per-visitor content to a `visitor_part`, or not take `HOLES`. An answer with a
visitor's own parts carries `Cache-Control: private` and `Vary: Cookie` (every answer of a
cached page varies on the cookie).

The CSRF token of a page's forms (the language switch, add to cart, log out) is per visitor:
a page rendered for the cache, and its holes, carry a placeholder instead (`csrf_placeholder`,
a context processor), replaced in every response, hit or miss, by the visitor's own token
(`get_token`, which also sets the CSRF cookie as an uncached page would). The forms post as
before, without JavaScript. An error raised while filling (a 404) is rendered as usual.

`PAGE_CACHE_TTL` (seconds, settings/env) bounds how long a page lives whatever happens: the
safety net for a change no service announced (a raw SQL fix, time passing a boundary). 0 turns
the cache off, and its invalidations with it (no work on commit): clear the cache before
turning it back on within `PAGE_CACHE_TTL`.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import uuid
from collections.abc import Callable, Iterable
from functools import partial, wraps
from itertools import chain, zip_longest
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.messages.storage.cookie import CookieStorage
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse, QueryDict
from django.middleware.csrf import get_token
from django.template import RequestContext
from django.template.loader import get_template
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.translation import get_language
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

#: Generation of every cached page: bumped when something all pages may show changes (the
#: category tree, tags, a shop opening or closing).
ALL = "all"
MAX_QUERY = 512
#: Marks a request rendered for the cache (the context processor then emits the placeholder).
_FOR_CACHE = "_page_cache_fill"
CSRF_PLACEHOLDER = "csrf-placeholder-6f1d2c0e9b7a4e8d"
_CSRF_BYTES = CSRF_PLACEHOLDER.encode()
_KEEP_HEADERS = ("Content-Type", "Content-Language", "Vary", "Allow")
#: What a page rendered for the cache shows in place of a per-visitor part (`visitor_part`):
#: the fill's own nonce and the part's template name (letters, digits, `_`, `.`, `/`, `-`).
#: The nonce is drawn anew for every fill (the value of the request's `_FOR_CACHE`), so no
#: text a merchant or a buyer wrote can spell a hole, even where `<` is not escaped (the
#: API's JSON): a forged one would render a template of our choice into the answer.
_HOLE = "<!--pc-hole-{}:{}-->"
_NAME = re.compile(r"[\w./-]+", re.ASCII)
#: Who `cached_page` serves from the cache (its `sessions` argument).
RENDER = "render"
HOLES = "holes"
SAME = "same"


def _gen_key(name: str) -> str:
    return f"pc:gen:{name}"


def _page_key(request, variant: str, query: str) -> str:
    raw = "\n".join((request.scheme, request.get_host(), request.path, query, get_language() or "", variant))
    # v2: a page is stored as its parts around the visitor's holes (see _store).
    return "pc:page:v2:" + hashlib.sha256(raw.encode()).hexdigest()


def _normalised_query(request, params: frozenset[str]) -> str:
    pairs = sorted((k, v) for k, values in request.GET.lists() if k in params for v in values)
    return urlencode(pairs)


def _anonymous(request) -> bool:
    """No session and no messages cookie: what such a visitor is shown is the same for all."""
    cookies = request.COOKIES
    return settings.SESSION_COOKIE_NAME not in cookies and CookieStorage.cookie_name not in cookies


def _storable(request, response) -> bool:
    if response.status_code != 200 or response.cookies or response.streaming:
        return False
    session = getattr(request, "session", None)
    if session is not None and session.modified:
        return False
    storage = messages.get_messages(request)
    return not getattr(storage, "used", False) and not getattr(storage, "added_new", False)


def _visitor_read(request) -> bool:
    """Whether the visitor's session or messages were read so far (for a page's main part:
    then it may differ from one visitor to another). Their user, cart and notifications are
    read through the session (`request.user` loads it lazily); the messages of the default
    storage are in their cookie (and the session, when the cookie overflows)."""
    session = getattr(request, "session", None)
    storage = getattr(request, "_messages", None)
    return (session is not None and session.accessed) or (storage is not None and hasattr(storage, "_loaded_data"))


def visitor_part_marker(request, name: str) -> str | None:
    """The hole a page rendered for the cache shows for the per-visitor part `name` (a
    template), or None when the page is not rendered for the cache (then the part is rendered
    in place). For `{% visitor_part %}`."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"a visitor part's template name is letters, digits and _./- only, not {name!r}")
    nonce = getattr(request, _FOR_CACHE, None)
    return _HOLE.format(nonce, name) if nonce else None


def _render_holes(request, names: Iterable[str]) -> list[bytes]:
    """Each part, rendered for this request: one context, its processors run once, the CSRF
    placeholder in place of a token (replaced in the whole page afterwards)."""
    names = list(names)
    if not names:
        return []
    templates = {name: get_template(name).template for name in dict.fromkeys(names)}
    context = RequestContext(request)
    with context.bind_template(next(iter(templates.values()))), context.push(csrf_token=CSRF_PLACEHOLDER):
        rendered = {name: template.render(context).encode() for name, template in templates.items()}
    return [rendered[name] for name in names]


def _join(parts, fills) -> bytes:
    return b"".join(chain.from_iterable(zip_longest(parts, fills, fillvalue=b"")))


def _with_token(request, response):
    """The visitor's own CSRF token in place of the placeholder (and its cookie set)."""
    if not response.streaming and _CSRF_BYTES in response.content:
        response.content = response.content.replace(_CSRF_BYTES, get_token(request).encode())
    return response


def _current(names: Iterable[str], found: dict) -> tuple | None:
    tokens = tuple(found.get(_gen_key(name)) for name in names)
    return None if None in tokens else tokens


def cached_page(
    generations: Callable[..., Iterable[str]],
    *,
    params: Iterable[str] = (),
    variant: Callable[..., str | None] | None = None,
    sessions: str = RENDER,
):
    """Serve the wrapped view's GETs from the cache (see the module docstring).

    `generations(request, *args, **kwargs)` names what the page shows, beside `ALL` (e.g.
    `["list", "category:lamps"]`); `params` are the query parameters the view reads, any other
    is dropped; `variant(request)` tells apart responses the same URL gives to different
    requests (e.g. the API's JSON and HTML), or None for a request not to cache.
    `sessions` says what a visitor with a session (or messages) gets: `RENDER`, the view
    rendered as usual (never the cache); `HOLES`, the stored page with its per-visitor parts
    (`{% visitor_part %}`) rendered for them, the view's main part being the same for every
    visitor (checked on every fill: a fill that read the visitor is not served to them);
    `SAME`, the stored answer as anonymous visitors get it, for a view whose answer does not
    depend on the visitor at all (the public catalog API).
    """
    if sessions not in (RENDER, HOLES, SAME):
        raise ValueError(f"sessions must be RENDER, HOLES or SAME, not {sessions!r}")
    params = frozenset(params)

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not enabled() or request.method not in ("GET", "HEAD") or "HTTP_AUTHORIZATION" in request.META:
                return view(request, *args, **kwargs)
            anonymous = _anonymous(request)
            if not anonymous and sessions == RENDER:
                return view(request, *args, **kwargs)
            response = _cached(request, anonymous, args, kwargs)
            if not anonymous and sessions == HOLES:
                # Their own name, cart, notifications or messages: no shared cache may keep it.
                patch_cache_control(response, private=True)
            return response

        def _cached(request, anonymous, args, kwargs):
            kind = "" if variant is None else variant(request)
            query = _normalised_query(request, params)
            if kind is None or len(query) > MAX_QUERY:
                return view(request, *args, **kwargs)
            names = (ALL, *generations(request, *args, **kwargs))
            key = _page_key(request, kind, query)
            try:
                found = cache.get_many([key, *map(_gen_key, names)])
                tokens = _current(names, found)
                stored = found.get(key)
                if stored is not None and tokens is not None and stored[0] == tokens:
                    response = _hit(request, stored, anonymous=anonymous, sessions=sessions)
                    if response is not None:
                        return response
                    # Stored from a fill whose main part read its visitor: theirs is rendered.
                    return view(request, *args, **kwargs)
                if tokens is None:
                    tokens = _start(names, found)
            except RedisError:
                logger.exception("page cache unavailable; rendering %s", request.path)
                return view(request, *args, **kwargs)
            # Render the page of the key: the known parameters only, in key order.
            request.GET = QueryDict(query)
            request.META["QUERY_STRING"] = query
            setattr(request, _FOR_CACHE, secrets.token_hex(16))
            try:
                response = view(request, *args, **kwargs)
            except BaseException:
                # The error page (404, …) is rendered for this visitor, not for the cache.
                delattr(request, _FOR_CACHE)
                raise
            store = partial(_store, request, key, tokens, anonymous=anonymous, sessions=sessions)
            if getattr(response, "is_rendered", True):
                return store(response)
            response.add_post_render_callback(store)
            return response

        return wrapper

    return decorator


def _hit(request, stored, *, anonymous: bool, sessions: str) -> HttpResponse | None:
    """The stored page for this visitor: an anonymous one gets the holes as the anonymous
    filler rendered them (no rendering), a visitor with a session their own. None: the page is
    not for this visitor (its main part read its filler's session)."""
    _tokens, parts, holes, anonymous_fills, shared, headers = stored
    if anonymous and anonymous_fills is not None:
        fills = anonymous_fills
    elif anonymous or sessions == SAME or shared:
        fills = _render_holes(request, holes)
    else:
        return None
    response = HttpResponse(_join(parts, fills))
    for name, value in headers.items():
        response[name] = value
    # As on a miss, where the visitor's session is read to render the header.
    patch_vary_headers(response, ("Cookie",))
    return _with_token(request, response)


def _start(names: Iterable[str], found: dict) -> tuple | None:
    """Give a token to the generations missing from the cache; the tokens now current."""
    keys = [_gen_key(name) for name in names]
    return _current(names, {**found, **_give_tokens([k for k in keys if found.get(k) is None])})


def _give_tokens(keys: list[str]) -> dict:
    """A token for each of these generation keys (missing from an MGET), unless another process
    gave one meanwhile (add), and the tokens now: one round trip, were one per key and an MGET."""
    return cache.get_or_add_many({key: uuid.uuid4().hex for key in keys}, timeout=None)


def _store(request, key: str, tokens: tuple | None, response, *, anonymous: bool, sessions: str):
    """Store the page rendered for the cache (its parts around the holes), fill its holes for
    this request and answer it.

    Stored with: the holes as this filler rendered them if it is anonymous (what every
    anonymous visitor gets), and whether visitors with a session may be served it: not if the
    page's main part read the filler's session or messages (`HOLES`; then a filler with a
    session stores nothing: the page is theirs). Nothing reads them before the view (the
    middleware reads them lazily); if something did, the page counts as having read them."""
    nonce = getattr(request, _FOR_CACHE)
    delattr(request, _FOR_CACHE)
    shared = sessions == SAME or (sessions == HOLES and not _visitor_read(request))
    storable = tokens is not None and _storable(request, response) and (anonymous or shared)
    if response.streaming:
        return response
    pieces = re.split(rb"<!--pc-hole-" + nonce.encode() + rb":([\w./-]+)-->", response.content)
    parts, holes = tuple(pieces[0::2]), tuple(name.decode() for name in pieces[1::2])
    # The holes after the storing checks: the messages they show are the visitor's alone.
    fills = _render_holes(request, holes)
    if storable:
        headers = {name: response[name] for name in _KEEP_HEADERS if response.has_header(name)}
        stored = (tokens, parts, holes, tuple(fills) if anonymous else None, shared, headers)
        try:
            cache.set(key, stored, timeout=settings.PAGE_CACHE_TTL)
        except RedisError:
            logger.exception("page cache unavailable; %s not stored", request.path)
    if holes:
        response.content = _join(parts, fills)
    return _with_token(request, response)


def enabled() -> bool:
    """Whether pages are cached (then changes must invalidate them)."""
    return settings.PAGE_CACHE_TTL > 0


def csrf_placeholder(request) -> dict:
    """Context processor: a page rendered for the cache shows the placeholder, not a token."""
    return {"csrf_token": CSRF_PLACEHOLDER} if getattr(request, _FOR_CACHE, False) else {}


def bump(names: Iterable[str]) -> None:
    """After the transaction commits (at once outside one), make every page rendered under
    these generations stale. A rollback bumps nothing. Redis being down is logged, not raised:
    the change is committed, and the pages expire by `PAGE_CACHE_TTL`."""
    names = sorted(set(names))
    if names and enabled():
        transaction.on_commit(partial(_bump_now, names), robust=True)


def _bump_now(names: list[str]) -> None:
    try:
        cache.set_many({_gen_key(name): uuid.uuid4().hex for name in names}, timeout=None)
    except RedisError:
        logger.exception("page cache generations %s not bumped", names)


def invalidate_all() -> None:
    """After commit, every cached page is stale (e.g. a shop opened or closed: its products
    appear in or leave every list)."""
    bump([ALL])


def generation_key(name: str) -> str:
    """The cache key of a generation's token (for fragments read in the same MGET as theirs)."""
    return _gen_key(name)


def generation_tokens(names: Iterable[str], found: dict) -> dict[str, str | None]:
    """The current token of each generation, from `found` (an MGET that included
    `generation_key(name)`), giving a token to those missing from the cache as a page does."""
    names = list(dict.fromkeys(names))
    if any(found.get(_gen_key(name)) is None for name in names):
        keys = [_gen_key(name) for name in names if found.get(_gen_key(name)) is None]
        found = {**found, **_give_tokens(keys)}
    return {name: found.get(_gen_key(name)) for name in names}
