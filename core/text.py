"""Shared text analysis: token counting and Chinese-aware search tokens.

Used by the splitter (chunk sizes), the full-text index and keyword extraction, so all
three agree on what a "token" and a "word" are. Everything here works offline and does
no I/O at import time.
"""

from __future__ import annotations

import base64
import hashlib
import html
import importlib.util
import logging
import re
import threading
import unicodedata
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

# Han ideographs (CJK unified, extension A, compatibility). Kana/Hangul are not routed
# through jieba: it only knows Chinese, and they are kept as whole runs instead.
_HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_HAN_RE = re.compile(f"[{_HAN}]")
# One pass over the text: a Han run (for jieba), a number (3.14, 1,000) or a word of
# any other script. Punctuation and whitespace match nothing and are thus dropped.
_TOKEN_RE = re.compile(rf"(?P<han>[{_HAN}]+)|(?P<num>\d+(?:[.,]\d+)*)|(?P<word>[^\W\d_{_HAN}]+(?:\d+[^\W\d_{_HAN}]+)*\d*)")

# Chinese function words that only add noise to BM25 and keywords.
CHINESE_STOPWORDS: frozenset[str] = frozenset(
    "的 了 是 在 和 与 及 或 也 就 都 而 又 被 把 让 给 对 从 向 于 以 之 其 这 那 "
    "有 个 上 下 中 着 过 吗 呢 吧 啊 呀 么 并 且 但 等 为 将 由 该 此 各 每 "
    "我 你 他 她 它 我们 你们 他们 她们 它们 这个 那个 这些 那些 一个 什么 怎么 如何 "
    "因为 所以 但是 而且 如果 虽然 然后 可以 没有 不是 就是 还是 以及 或者 并且 "
    "进行 通过 其中 之一 已经 非常 一些 这样 那样 不 很 会 要 能".split()
)

# Fallback when llama-index's bundled NLTK list is unavailable (same core words).
_FALLBACK_EN_STOPWORDS = (
    "a about above after again against all am an and any are as at be because been before "
    "being below between both but by can could did do does doing down during each few for "
    "from further had has have having he her here hers herself him himself his how i if in "
    "into is it its itself just me more most my myself no nor not now of off on once only "
    "or other our ours ourselves out over own same she should so some such than that the "
    "their theirs them themselves then there these they this those through to too under "
    "until up very was we were what when where which while who whom why will with would "
    "you your yours yourself yourselves s t d ll m o re ve y"
)

_jieba_lock = threading.Lock()
_jieba_ready = False


def human_size(n: float, sep: str = " ") -> str:
    """A byte count for people: 512 B, 1.5 KB, 3.2 MB (`sep` between number and unit)."""
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f}{sep}{unit}" if unit == "B" else f"{n:.1f}{sep}{unit}"
        n /= 1024


def has_cjk(text: str) -> bool:
    """True when the text contains Chinese (Han) characters."""
    return _HAN_RE.search(text) is not None


def llama_index_static() -> Path:
    """llama-index-core's bundled data files, found without importing it (that takes seconds)."""
    spec = importlib.util.find_spec("llama_index.core")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("llama-index-core is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "_static"


@lru_cache(maxsize=1)
def english_stopwords() -> frozenset[str]:
    """NLTK's English list as shipped inside llama-index-core (no download)."""
    try:
        words = (llama_index_static() / "nltk_cache/corpora/stopwords/english").read_text(encoding="utf-8").split()
    except (ImportError, OSError):
        words = _FALLBACK_EN_STOPWORDS.split()
    return frozenset(w.strip().lower() for w in words if w.strip())


def jieba_module():  # type: ignore[no-untyped-def]
    """Import and initialise jieba once, quietly (its dictionary load takes ~1 s)."""
    global _jieba_ready
    import jieba

    if not _jieba_ready:
        with _jieba_lock:
            if not _jieba_ready:
                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba_ready = True
    return jieba


# --- token counting -------------------------------------------------------------------

# cl100k_base, read from the copy llama-index-core bundles. We load the file directly
# instead of via tiktoken.get_encoding(): that path consults TIKTOKEN_CACHE_DIR and
# falls back to downloading, which must never happen here.
_CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"
_CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
_CL100K_PAT = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
_CL100K_SPECIAL = {
    "<|endoftext|>": 100257,
    "<|fim_prefix|>": 100258,
    "<|fim_middle|>": 100259,
    "<|fim_suffix|>": 100260,
    "<|endofprompt|>": 100276,
}


@lru_cache(maxsize=1)
def _encoding():  # type: ignore[no-untyped-def]
    import tiktoken

    cache_dir = llama_index_static() / "tiktoken_cache"
    blob = (cache_dir / hashlib.sha1(_CL100K_URL.encode()).hexdigest()).read_bytes()
    if hashlib.sha256(blob).hexdigest() != _CL100K_SHA256:
        raise RuntimeError("Bundled cl100k_base tokenizer file is corrupt")
    ranks = {
        base64.b64decode(tok): int(rank)
        for tok, rank in (line.split() for line in blob.splitlines() if line)
    }
    return tiktoken.Encoding(
        name="cl100k_base",
        pat_str=_CL100K_PAT,
        mergeable_ranks=ranks,
        special_tokens=_CL100K_SPECIAL,
    )


def get_tokenizer() -> Callable[[str], list[int]]:
    """Token encoder for LlamaIndex splitters (special tokens are treated as text)."""
    return _encoding().encode_ordinary


def count_tokens(text: str) -> int:
    """Number of cl100k_base tokens in `text`."""
    if not text:
        return 0
    return len(_encoding().encode_ordinary(text))


# --- search tokens --------------------------------------------------------------------


def normalize(text: str) -> str:
    """NFKC + lowercase: full-width ＡＢＣ１２３ and ASCII match each other."""
    return unicodedata.normalize("NFKC", text).lower()


def search_tokens(text: str) -> list[str]:
    """Terms for the full-text (BM25) index, in text order, duplicates kept (term frequency).

    Han runs go through jieba's search mode (which also emits the sub-words of long words,
    so "北京大学" matches a query for "大学"); other words and numbers are taken as they are.
    """
    if not text:
        return []
    stop_en = english_stopwords()
    tokens: list[str] = []
    cut = None
    for m in _TOKEN_RE.finditer(normalize(text)):
        han = m.group("han")
        if han is not None:
            if cut is None:
                cut = jieba_module().cut_for_search
            tokens.extend(w for w in cut(han) if w not in CHINESE_STOPWORDS)
        elif m.group("num") is not None:
            tokens.append(m.group("num"))
        else:
            word = m.group("word")
            if word not in stop_en:
                tokens.append(word)
    return tokens


# ------------------------------------------------------------------ markdown
_BLOCK_END = re.compile(r"</(p|h[1-6]|li|tr|pre|blockquote)>|<br\s*/?>")
_ANY_TAG = re.compile(r"<[^>]+>")


@lru_cache(maxsize=1)
def _markdown():  # type: ignore[no-untyped-def]
    """CommonMark with tables: raw HTML in the text is escaped, never passed through; links keep markdown-it's
    URL check (no javascript:); an image shows as its alt text, so a chunk never makes the browser fetch."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False, "breaks": True}).enable(["table", "strikethrough"])
    md.renderer.rules["image"] = lambda tokens, idx, options, env: html.escape(tokens[idx].content)
    return md


def markdown_html(text: str) -> str:
    """A chunk's Markdown as safe HTML (see _markdown)."""
    return _markdown().render(text or "")


def markdown_plain(text: str) -> str:
    """A chunk's Markdown as plain text: "## Exceptions" -> "Exceptions", "**gift cards**" -> "gift cards"."""
    rendered = _BLOCK_END.sub("\n", markdown_html(text))
    return html.unescape(_ANY_TAG.sub("", rendered)).strip()


def words(text: str) -> list[str]:
    """Every word of `text` in order, for comparing two texts (BLEU, ROUGE): Han runs in jieba's precise
    mode (no overlapping sub-words, unlike search_tokens), other words and numbers as they are, and no
    stopword dropped: function words are part of an answer's wording."""
    if not text:
        return []
    out: list[str] = []
    for m in _TOKEN_RE.finditer(normalize(text)):
        han = m.group("han")
        out.extend(jieba_module().lcut(han) if han is not None else [m.group()])
    return out

# ------------------------------------------------------------------ speech
SPOKEN_CHARS = 3000  # a long answer: its first part is read (speech of it all would take minutes to make and hear)

_CITATION = re.compile(r"\s*\[\d{1,3}\](?:\s*\[\d{1,3}\])*")
_CODE_BLOCK = re.compile(r"```.*?(?:```|$)", re.DOTALL)
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_TAG = re.compile(r"<[^>]+>")
_MARKUP = re.compile(r"(^|\n)\s{0,3}(?:#{1,6}\s+|>\s?|[-*+]\s+|\d+[.)]\s+)|[*_`~|]+")


def speakable(markdown: str, limit: int = SPOKEN_CHARS) -> str:
    """An answer as plain text to read out: no citation marks, markup, HTML or code; cut at a sentence end."""
    text = _CODE_BLOCK.sub(" ", markdown or "")
    text = _LINK.sub(r"\1", _TAG.sub(" ", text))
    text = _CITATION.sub("", text)
    text = _MARKUP.sub(r"\1", text)
    text = re.sub(r"\s*\n\s*", "\n", re.sub(r"[ \t]+", " ", text)).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    end = max(cut.rfind(mark) for mark in (". ", "! ", "? ", "。", "！", "？", "\n"))
    return (cut[:end + 1] if end > limit // 2 else cut).strip()
