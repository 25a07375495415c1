"""Confluence storage format (XHTML + ``ac:``/``ri:`` elements) -> sections of structured text lines.

Built on the stdlib ``html.parser.HTMLParser`` (tolerant, no dependency). CDATA sections are turned
into escaped text before parsing rather than via ``unknown_decl``: recent CPython security releases
changed how HTMLParser treats ``<![CDATA[`` outside foreign content, so doing it ourselves keeps the
behaviour identical on every 3.11+ patch release, and lets us recover an unterminated CDATA.
The parser never raises on bad markup: it builds a small tree with error recovery, renders it to
lines, and records one warning string per kind of problem.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.entities import html5
from html.parser import HTMLParser
from typing import NamedTuple

from core.text import BIDI_CONTROLS, CONTROLS

__all__ = ["ParsedPage", "Section", "parse_storage"]


@dataclass(frozen=True, slots=True)
class Section:
    heading: str  # "" for content before the first heading
    level: int  # 0 for that preamble, else 1..6
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ParsedPage:
    sections: tuple[Section, ...]
    warnings: tuple[str, ...]

    def text(self) -> str:
        """The whole page as text: ``## heading`` then the section's lines; sections blank-line separated."""
        return "\n\n".join("\n".join(((f"## {s.heading}",) if s.heading else ()) + s.lines) for s in self.sections)


_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_INLINE = {
    "a", "abbr", "b", "big", "br", "cite", "code", "del", "em", "font", "i", "ins", "kbd", "mark", "q", "s",
    "small", "span", "strike", "strong", "sub", "sup", "time", "tt", "u", "var", "ac:link", "ac:emoticon",
    "ac:placeholder", "ac:inline-comment-marker", "ac:plain-text-link-body", "ac:link-body",
}  # fmt: skip
_BLOCK_HTML = {
    "p", "div", "ul", "ol", "li", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption", "colgroup",
    "col", "pre", "blockquote", "hr", "img", "center", "dl", "dt", "dd", "section", "article", "header",
    "footer", "html", "body", "head", "title", "meta", "link", "script", "style", "figure", "figcaption",
}  # fmt: skip
_KNOWN_HTML = _INLINE | _BLOCK_HTML | _HEADINGS | {"wbr"}
_VOID = {"br", "img", "hr", "col", "wbr", "meta", "link", "input", "area", "base", "source", "ac:emoticon"}
_SKIP = {
    "hr", "col", "colgroup", "script", "style", "head", "title", "meta", "link", "ac:parameter", "ac:task-id",
    "ac:task-uuid", "ac:task-status", "ac:adf-attribute",
}  # fmt: skip
# start tag -> (open elements it closes implicitly, elements that bound the search)
_IMPLICIT_SCAN = 64  # stack entries an opening tag looks through for an element it closes implicitly
_IMPLICIT = {
    "li": ({"li"}, {"ul", "ol", "td", "th", "table", "ac:rich-text-body", "ac:layout-cell", "ac:task-body"}),
    "td": ({"td", "th"}, {"tr", "table"}),
    "th": ({"td", "th"}, {"tr", "table"}),
    "tr": ({"tr"}, {"table", "thead", "tbody", "tfoot"}),
}
_MACRO_TAGS = {"ac:structured-macro", "ac:macro"}
CALLOUT_KINDS = {"info": "Info", "note": "Note", "warning": "Warning", "tip": "Tip", "panel": "Panel",
                 "expand": "Expand"}  # fmt: skip
_TITLED_PREFIX = {"panel", "expand"}  # title goes into the prefix; other callouts get it as a first line
_DROP_MACROS = {
    "toc", "children", "anchor", "pagetree", "pagetreesearch", "recently-updated", "contentbylabel",
    "content-report-table", "livesearch", "attachments", "gallery", "include", "excerpt-include", "profile",
    "space-details", "viewfile", "view-file", "multimedia", "widget", "create-from-template", "blog-posts",
    "change-history", "contributors", "contributors-summary", "listlabels", "popular-labels",
    "related-labels", "detailssummary", "tasks-report-macro", "page-index", "index", "navmap",
    "recently-used-labels",
}  # fmt: skip
_TRANSPARENT_MACROS = {"section", "column", "excerpt", "details", "toc-zone", "div", "span", "center"}
_INLINE_MACROS = {"status": "title", "jira": "key", "anchor": ""}  # name -> parameter rendered inline
_WS = re.compile(r"\s+")
# Zero-width characters, bidi embeddings/overrides/isolates and control characters (but tab, newline, CR): a page
# cannot reverse or hide the text it shows, or send escapes to a terminal.
_INVISIBLE = str.maketrans("", "", "\u200b\u200c\u200d\ufeff" + BIDI_CONTROLS + CONTROLS)
_PLAIN_BODY_END = re.compile(r"</ac:plain-text-(?:link-)?body\s*>", re.IGNORECASE)
_COND_COMMENT = re.compile(r"<!\[(?!CDATA\[)[^\]<>]*\]>")
_TRUNCATED_TAG = re.compile(r"<[A-Za-z!/?]")
_BARE_AMP = re.compile(r"&(?!#\d+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")
_NAMED_REF = re.compile(r"&([A-Za-z][A-Za-z0-9]*);")

Item = str | tuple[int, str]  # a text line, or (level, heading)
Warn = Callable[[str], object]  # records one warning string (duplicates collapse)


def _norm(text: str) -> str:
    return _WS.sub(" ", text.translate(_INVISIBLE)).strip()


class _El:
    __slots__ = ("attrs", "children", "tag")

    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag = tag
        self.attrs = attrs
        self.children: list[_El | str] = []

    def child(self, tag: str) -> _El | None:
        return next((c for c in self.children if isinstance(c, _El) and c.tag == tag), None)


class _TreeBuilder(HTMLParser):
    """Builds an ``_El`` tree, recovering from unclosed, stray and mis-nested tags."""

    def __init__(self, warn: Warn) -> None:
        super().__init__(convert_charrefs=True)
        self.warn = warn
        self.root = _El("#root", {})
        self.stack = [self.root]

    def _open(self, tag: str, attrs: list[tuple[str, str | None]], void: bool) -> None:
        if ":" not in tag and tag not in _KNOWN_HTML:
            self.warn(f"unknown element <{tag}>")
        elif tag in ("script", "style"):
            self.warn(f"unsupported element <{tag}> dropped")
        closes, bounds = _IMPLICIT.get(tag, ((), ()))
        # Only a tag that can close another implicitly scans the stack, and only its top: real pages nest a few
        # levels, and a page of thousands of unclosed tags must not cost quadratic time.
        top = len(self.stack) - 1
        lowest = top if not (closes or tag == "p") else max(0, top - _IMPLICIT_SCAN)
        for i in range(len(self.stack) - 1, lowest, -1):
            t = self.stack[i].tag
            if t in closes or (tag == "p" and t == "p"):
                self.warn(f"unclosed <{t}> closed implicitly")
                del self.stack[i:]
                break
            if t in bounds or (tag == "p" and t not in _INLINE):
                break
        el = _El(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(el)
        if not void:
            self.stack.append(el)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open(tag, attrs, tag in _VOID or tag.startswith("ri:"))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open(tag, attrs, True)

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or tag.startswith("ri:"):
            return
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                if i != len(self.stack) - 1:
                    inner = ", ".join(f"<{e.tag}>" for e in self.stack[i + 1 :])
                    self.warn(f"mismatched nesting: </{tag}> closes {inner}")
                del self.stack[i:]
                return
        self.warn(f"stray end tag </{tag}>")

    def handle_data(self, data: str) -> None:
        top = self.stack[-1]
        if top.tag in ("script", "style"):
            return
        if top is self.root and data.strip():
            self.warn("text outside any element")
        if top.children and isinstance(top.children[-1], str):
            top.children[-1] += data
        else:
            top.children.append(data)

    def handle_decl(self, decl: str) -> None:
        self.warn("ignored declaration <!...>")

    def handle_pi(self, data: str) -> None:
        self.warn("ignored processing instruction <?...>")

    def finish(self) -> _El:
        self.close()
        if len(self.stack) > 1:
            tags = ", ".join(dict.fromkeys(f"<{e.tag}>" for e in self.stack[1:]))
            self.warn(f"unclosed tags at end of document: {tags}")
        return self.root


def _raw_text(node: _El | str) -> str:
    """Text with whitespace kept (code bodies, CDATA link bodies); <br> and block ends become newlines."""
    if isinstance(node, str):
        return node.translate(_INVISIBLE)
    if node.tag == "br":
        return "\n"
    text = "".join(_raw_text(c) for c in node.children)
    return text + "\n" if node.tag in ("p", "div", "li", "tr", "pre") else text


class _Ctx(NamedTuple):
    depth: int = 0  # list nesting
    flat: bool = False  # headings become plain text (inside lists, cells, inline content)
    cell: bool = False  # inside a table cell: no list markers, no code fences

    def deeper(self) -> _Ctx:
        return _Ctx(self.depth + 1, True, self.cell)


_CELL = _Ctx(0, True, True)


class _Renderer:
    def __init__(self, warn: Warn) -> None:
        self.warn = warn

    @staticmethod
    def _macro_name(el: _El) -> str:
        return el.attrs.get("ac:name", "").strip().lower()

    def _is_inline(self, el: _El) -> bool:
        if el.tag in _MACRO_TAGS:
            return self._macro_name(el) in _INLINE_MACROS
        tag = el.tag
        return tag in _INLINE or tag.startswith("ri:") or (":" not in tag and tag not in _KNOWN_HTML)

    def flow(self, nodes: list[_El | str], ctx: _Ctx) -> list[Item]:
        """Mixed content: each run of text/inline elements becomes a line; block children render in place."""
        out: list[Item] = []
        buf: list[str] = []
        for n in nodes:
            if isinstance(n, str) or self._is_inline(n):
                buf.append(n if isinstance(n, str) else self.inline(n))
                continue
            if buf:
                out.append(_norm("".join(buf)))
                buf.clear()
            out.extend(self.block(n, ctx))
        if buf:
            out.append(_norm("".join(buf)))
        return [i for i in out if i]

    def inline(self, el: _El) -> str:
        t = el.tag
        if t in ("br", "ac:emoticon", "ac:placeholder") or t.startswith("ri:"):
            return " "
        if t == "time":
            return el.attrs.get("datetime") or self.inline_children(el)
        if t == "ac:link":
            return self._link(el)
        if t in _MACRO_TAGS:
            param = _INLINE_MACROS.get(self._macro_name(el), "")
            return f" {self._params(el).get(param, '')} " if param else " "
        return self.inline_children(el)

    def inline_children(self, el: _El) -> str:
        parts = []
        for c in el.children:
            if isinstance(c, str):
                parts.append(c)
            elif self._is_inline(c):
                parts.append(self.inline(c))
            else:  # a block inside inline content: flatten it in place
                parts.append(" " + " ".join(_item_text(i) for i in self.block(c, _CELL)) + " ")
        return "".join(parts)

    def _link(self, el: _El) -> str:
        kids = [c for c in el.children if isinstance(c, _El)]
        if any(c.tag == "ri:user" for c in kids):
            return ""
        for c in kids:
            if c.tag in ("ac:plain-text-link-body", "ac:link-body"):
                text = _raw_text(c) if c.tag == "ac:plain-text-link-body" else self.inline_children(c)
                if text.strip():
                    return text
        for c in kids:
            for key in ("ri:content-title", "ri:filename", "ri:space-key"):
                if c.tag.startswith("ri:") and c.attrs.get(key):
                    return c.attrs[key]
        return el.attrs.get("ac:anchor", "")

    def _params(self, el: _El) -> dict[str, str]:
        return {
            c.attrs.get("ac:name", "").lower(): _norm(self.inline_children(c))
            for c in el.children
            if isinstance(c, _El) and c.tag == "ac:parameter"
        }

    def block(self, el: _El, ctx: _Ctx) -> list[Item]:
        t = el.tag
        if t in _HEADINGS:
            text = _norm(self.inline_children(el))
            return [] if not text else [text] if ctx.flat else [(int(t[1]), text)]
        if t in ("ul", "ol"):
            return self._list(el, ctx)
        if t == "li":
            return self._item(el.children, "" if ctx.cell else "- ", ctx)
        if t == "ac:task-list":
            return self._tasks(el, ctx)
        if t == "ac:task":
            return self._task(el, ctx)
        if t == "table":
            return self._table(el)
        if t == "tr":
            row = self._row(el)
            return [row] if row else []
        if t == "pre":
            code = _raw_text(el).strip("\r\n")
            return [] if not code.strip() else [_norm(code)] if ctx.cell else [f"```\n{code}\n```"]
        if t in _MACRO_TAGS:
            return self._macro(el, ctx)
        if t in ("ac:image", "img"):
            return self._image(el)
        if t == "ac:adf-extension" and (fallback := el.child("ac:adf-fallback")) is not None:
            return self.flow(fallback.children, ctx)
        if t in _SKIP:
            return []
        return self.flow(el.children, ctx)

    def _image(self, el: _El) -> list[Item]:
        a = el.attrs
        alt = a.get("ac:alt") or a.get("ac:title") if el.tag == "ac:image" else a.get("alt") or a.get("title")
        if not alt and (caption := el.child("ac:caption")) is not None:
            alt = self.inline_children(caption)
        alt = _norm(alt or "")
        return [f"[image: {alt}]"] if alt else []

    def _list(self, el: _El, ctx: _Ctx) -> list[Item]:
        ordered = el.tag == "ol"
        start = el.attrs.get("start", "1").strip()
        n = int(start) if start.isdigit() else 1
        out: list[Item] = []
        for c in el.children:
            if isinstance(c, _El) and c.tag == "li":
                marker = "" if ctx.cell else f"{n}. " if ordered else "- "
                out.extend(self._item(c.children, marker, ctx))
                n += 1
            elif isinstance(c, _El) and c.tag in ("ul", "ol"):  # list directly inside a list
                out.extend(self._list(c, ctx.deeper()))
            else:
                out.extend("  " * ctx.depth + _item_text(i) for i in self.flow([c], ctx.deeper()))
        return out

    def _item(self, nodes: list[_El | str], marker: str, ctx: _Ctx) -> list[Item]:
        """A list item or task body: text goes on the marker line, nested lists indent one level deeper."""
        indent, sub = "  " * ctx.depth, ctx.deeper()
        head: list[str] = []
        out: list[Item] = []
        nested = False
        buf: list[str] = []

        def text(piece: str) -> None:
            if piece and nested:
                out.append(f"{indent}  {piece}")
            elif piece:
                head.append(piece)

        for n in nodes:
            if isinstance(n, str) or self._is_inline(n):
                buf.append(n if isinstance(n, str) else self.inline(n))
                continue
            text(_norm("".join(buf)))
            buf.clear()
            if n.tag in ("ul", "ol", "ac:task-list"):
                out.extend(self.block(n, sub))
                nested = True
            else:
                for item in self.block(n, sub):
                    text(_item_text(item))
        text(_norm("".join(buf)))
        return ([f"{indent}{marker}{' '.join(head)}"] if head else []) + out

    def _tasks(self, el: _El, ctx: _Ctx) -> list[Item]:
        out: list[Item] = []
        for c in el.children:  # ac:task children; a nested ac:task-list indents one level
            if isinstance(c, _El):
                out.extend(self._tasks(c, ctx.deeper()) if c.tag == "ac:task-list" else self.block(c, ctx))
        return out

    def _task(self, el: _El, ctx: _Ctx) -> list[Item]:
        status = el.child("ac:task-status")
        done = status is not None and _norm(_raw_text(status)).lower() == "complete"
        body = el.child("ac:task-body")
        return self._item(body.children if body else [], "[x] " if done else "[ ] ", ctx)

    def _table(self, el: _El) -> list[Item]:
        out: list[Item] = []
        loose = _El("tr", {})  # cells outside any <tr>
        for c in el.children:
            if not isinstance(c, _El):
                continue
            if c.tag in ("thead", "tbody", "tfoot"):
                out.extend(self._table(c))
            elif c.tag == "tr":
                out.extend(self.block(c, _CELL))
            elif c.tag in ("td", "th"):
                loose.children.append(c)
            elif c.tag == "caption":
                out.extend(self.flow(c.children, _CELL))
        row = self._row(loose)
        return [*out, row] if row else out

    def _row(self, tr: _El) -> str:
        cells = []
        for c in tr.children:
            if isinstance(c, _El) and c.tag in ("td", "th"):
                lines = (_norm(_item_text(i)) for i in self.flow(c.children, _CELL))
                cells.append("; ".join(line for line in lines if line).replace("|", "\\|"))
        return "| " + " | ".join(cells) + " |" if any(cells) else ""

    def _macro(self, el: _El, ctx: _Ctx) -> list[Item]:
        name, params = self._macro_name(el), self._params(el)
        rich, plain = el.child("ac:rich-text-body"), el.child("ac:plain-text-body")
        if name in ("code", "noformat"):
            code = _raw_text(plain or rich or _El("", {})).replace("\r\n", "\n").strip("\n")
            if not code.strip():
                return []
            return [_norm(code)] if ctx.cell else [f"```{params.get('language', '')}\n{code.rstrip()}\n```"]
        if name in _DROP_MACROS:
            return []
        if name in _INLINE_MACROS:
            return [x] if (x := _norm(self.inline(el))) else []
        body: list[Item] = []
        if rich is not None:
            body = self.flow(rich.children, ctx)
        elif plain is not None:
            body = [x for x in (_norm(s) for s in _raw_text(plain).splitlines()) if x]
        if name in CALLOUT_KINDS:
            kind, title = CALLOUT_KINDS[name], params.get("title", "")
            if name in _TITLED_PREFIX:
                if not body:
                    return []
                prefix = f"{kind} ({title}): " if title else f"{kind}: "
            else:
                prefix, body = f"{kind}: ", ([title] if title else []) + body
            return [prefix + i if isinstance(i, str) else i for i in body]
        if name not in _TRANSPARENT_MACROS:
            self.warn(f"unknown macro '{name}'" if name else "macro without a name")
        return body


def _item_text(item: Item) -> str:
    return item if isinstance(item, str) else item[1]


def _preprocess(src: str, warn: Warn) -> str:
    """CDATA -> escaped text (recovers unterminated ones); drops `<![if ...]>` junk and a cut-off last tag."""
    out, pos = [], 0
    while (i := src.find("<![CDATA[", pos)) >= 0:
        out.append(src[pos:i])
        j = src.find("]]>", i + 9)
        if j >= 0:
            pos = j + 3
        else:
            warn("unterminated CDATA section")
            m = _PLAIN_BODY_END.search(src, i + 9)
            j = pos = m.start() if m else len(src)
        out.append(html.escape(src[i + 9 : j], quote=False))
    out.append(src[pos:])
    text = "".join(out)
    if _COND_COMMENT.search(text):
        warn("ignored markup declaration <![...]>")
        text = _COND_COMMENT.sub("", text)
    text = text.replace("<![", "&lt;![")
    tail = text.rfind(">") + 1  # only look after the last ">": linear even on junk
    if m := _TRUNCATED_TAG.search(text, tail):
        warn("truncated tag at end of document")
        text = text[: m.start()]
    if _BARE_AMP.search(text):
        warn("unescaped '&' in text")
    for m in _NAMED_REF.finditer(text):
        if m.group(1) + ";" not in html5:
            warn(f"unknown entity '&{m.group(1)};'")
    return text


def _sections(items: list[Item]) -> tuple[Section, ...]:
    sections: list[Section] = []
    heading, level, lines = "", 0, []
    for item in items:
        if isinstance(item, tuple):
            sections.append(Section(heading, level, tuple(lines)))
            (level, heading), lines = item, []
        else:
            lines.append(item)
    sections.append(Section(heading, level, tuple(lines)))
    if not any(s.lines for s in sections):  # a page of headings only keeps them
        return tuple(s for s in sections if s.heading)
    # Drop empty sections, except an empty heading over sub-sections with text ("Troubleshooting" then
    # "macOS"): the chunker needs it to build heading paths.
    return tuple(s for i, s in enumerate(sections) if s.lines or (s.level and _has_content_below(sections, i)))


def _has_content_below(sections: list[Section], i: int) -> bool:
    level = sections[i].level
    for s in sections[i + 1 :]:
        if s.level <= level:
            return False
        if s.lines:
            return True
    return False


def parse_storage(xhtml: str) -> ParsedPage:
    """Parse a Confluence storage-format body. Never raises on bad markup (TypeError only for a non-str)."""
    if not isinstance(xhtml, str):
        raise TypeError(f"parse_storage expects str, got {type(xhtml).__name__}")
    seen: dict[str, None] = {}

    def warn(message: str) -> None:  # junk tag names can be huge: keep warnings short
        seen.setdefault(message if len(message) <= 160 else message[:157] + "...")

    if not xhtml.strip():
        warn("empty document")
        return ParsedPage((), tuple(seen))
    try:
        builder = _TreeBuilder(warn)
        builder.feed(_preprocess(xhtml, warn))
        root = builder.finish()
        sections = _sections(_Renderer(warn).flow(root.children, _Ctx()))
    except Exception as exc:  # last resort (e.g. RecursionError on absurd nesting): keep the bare text
        warn(f"markup could not be parsed ({type(exc).__name__}); kept plain text only")
        bare = re.sub(r"<[^>]*>", " ", xhtml.replace("<![CDATA[", "").replace("]]>", ""))
        text = _norm(html.unescape(bare))
        sections = (Section("", 0, (text,)),) if text else ()
    return ParsedPage(sections, tuple(seen))
