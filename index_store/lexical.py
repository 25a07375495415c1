"""A small BM25 index stored as plain arrays (CSC postings), so it loads without pickle or re-tokenising."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

_TOKEN = re.compile(r"[a-z0-9]+(?:[-'][a-z0-9]+)*")
STOPWORDS = frozenset(
    """
    a about after again all also am an and any are as at be been before being both but by can could
    did do does doing done for from get gets getting got had has have having he her here hers him
    his how i if in into is it its just me more most my need needs no not now of off on once only
    or other our out over own please same she should so some such than that the their them then
    there these they this those through to too under until up use using very was we were what when
    where which while who why will with would you your yours hi hello hey thanks thank
    """.split()
)


def _stem(token: str) -> str:
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if token.endswith(suffix) and len(token) - len(suffix) >= 3 and not token.endswith("ss"):
            return token[: len(token) - len(suffix)] + keep
    return token


@lru_cache(maxsize=1 << 17)
def _term(token: str) -> str:
    """The index term of one lowercased word ("" for a stopword); cached, since a corpus repeats its words."""
    return "" if token in STOPWORDS else _stem(token.replace("'", ""))


def tokenize(text: str) -> list[str]:
    """Lowercased word tokens without stopwords, lightly stemmed ("printers" -> "printer")."""
    return [t for t in map(_term, _TOKEN.findall(text.lower())) if t]


@dataclass
class LexicalIndex:
    vocab: dict[str, int]
    indptr: np.ndarray  # int64 [n_terms + 1]
    doc_ids: np.ndarray  # int32 postings
    tf: np.ndarray  # float32 term frequencies, aligned with doc_ids
    doc_len: np.ndarray  # float32 [n_docs]
    k1: float = 1.2
    b: float = 0.75

    @property
    def n_docs(self) -> int:
        return int(self.doc_len.shape[0])

    @classmethod
    def build(cls, texts: Sequence[str]) -> LexicalIndex:
        postings: dict[str, list[tuple[int, int]]] = {}
        doc_len = np.zeros(len(texts), dtype=np.float32)
        for doc, text in enumerate(texts):
            counts = Counter(tokenize(text))
            doc_len[doc] = sum(counts.values())
            for term, n in counts.items():
                postings.setdefault(term, []).append((doc, n))
        terms = sorted(postings)
        vocab = {t: i for i, t in enumerate(terms)}
        indptr = np.zeros(len(terms) + 1, dtype=np.int64)
        for i, t in enumerate(terms):
            indptr[i + 1] = indptr[i] + len(postings[t])
        doc_ids = np.empty(int(indptr[-1]), dtype=np.int32)
        tf = np.empty(int(indptr[-1]), dtype=np.float32)
        for i, t in enumerate(terms):
            pairs = postings[t]
            doc_ids[indptr[i] : indptr[i + 1]] = [d for d, _ in pairs]
            tf[indptr[i] : indptr[i + 1]] = [n for _, n in pairs]
        return cls(vocab=vocab, indptr=indptr, doc_ids=doc_ids, tf=tf, doc_len=doc_len)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every document for the query (zeros when no term matches)."""
        scores = np.zeros(self.n_docs, dtype=np.float32)
        if self.n_docs == 0:
            return scores
        avgdl = float(self.doc_len.mean()) or 1.0
        for term in set(tokenize(query)):
            t = self.vocab.get(term)
            if t is None:
                continue
            lo, hi = int(self.indptr[t]), int(self.indptr[t + 1])
            docs, tf = self.doc_ids[lo:hi], self.tf[lo:hi]
            idf = np.log(1.0 + (self.n_docs - (hi - lo) + 0.5) / ((hi - lo) + 0.5))
            denom = tf + self.k1 * (1.0 - self.b + self.b * self.doc_len[docs] / avgdl)
            scores[docs] += idf * tf * (self.k1 + 1.0) / denom
        return scores

    def search(self, query: str, limit: int) -> list[tuple[int, float]]:
        """The `limit` best (document, BM25) for the query, best first; [] when no term matches."""
        scores = self.scores(query)
        nz = int(np.count_nonzero(scores))
        if not nz or limit <= 0:
            return []
        top = np.argpartition(-scores, min(limit, nz) - 1)[: min(limit, nz)]
        return [(int(i), float(scores[i])) for i in top[np.argsort(-scores[top], kind="stable")]]

    def query_terms_known(self, query: str) -> tuple[int, int]:
        """(query terms found in the vocabulary, query terms in all): a coverage signal for confidence."""
        terms = set(tokenize(query))
        return sum(1 for t in terms if t in self.vocab), len(terms)

    def max_score(self, query: str) -> float:
        """An upper bound of any document's BM25 for the query: sum of idf * (k1 + 1) over its distinct terms.

        Terms the index has never seen count with the largest idf, so a query about something absent scores low
        against this ceiling (a confidence signal: how much of the question the best chunk matches).
        """
        if self.n_docs == 0:
            return 0.0
        total = 0.0
        for term in set(tokenize(query)):
            t = self.vocab.get(term)
            df = int(self.indptr[t + 1] - self.indptr[t]) if t is not None else 0
            total += float(np.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))) * (self.k1 + 1.0)
        return total

    def to_arrays(self) -> tuple[dict[str, np.ndarray], list[str]]:
        terms = [""] * len(self.vocab)
        for t, i in self.vocab.items():
            terms[i] = t
        arrays = {"indptr": self.indptr, "doc_ids": self.doc_ids, "tf": self.tf, "doc_len": self.doc_len}
        return arrays, terms

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], terms: Sequence[str]) -> LexicalIndex:
        index = cls(
            vocab={t: i for i, t in enumerate(terms)},
            indptr=np.asarray(arrays["indptr"], dtype=np.int64),
            doc_ids=np.asarray(arrays["doc_ids"], dtype=np.int32),
            tf=np.asarray(arrays["tf"], dtype=np.float32),
            doc_len=np.asarray(arrays["doc_len"], dtype=np.float32),
        )
        index.validate(terms)
        return index

    def validate(self, terms: Sequence[str]) -> None:
        """Raise ValueError unless the arrays form a usable index over `terms` (pure): one-dimensional arrays,
        postings inside the document range, offsets that start at 0 and never go back, finite counts."""
        distinct = len(self.vocab) == len(terms)
        if not isinstance(terms, list | tuple) or not all(isinstance(t, str) for t in terms) or not distinct:
            raise ValueError("lexical vocabulary is not a list of distinct terms")
        arrays = (self.indptr, self.doc_ids, self.tf, self.doc_len)
        if any(a.ndim != 1 for a in arrays):
            raise ValueError("lexical arrays are not one-dimensional")
        if self.indptr.shape[0] != len(terms) + 1 or int(self.indptr[-1]) != self.doc_ids.shape[0]:
            raise ValueError("lexical arrays do not match the vocabulary")
        if self.doc_ids.shape != self.tf.shape:
            raise ValueError("lexical postings and frequencies differ in length")
        if int(self.indptr[0]) != 0 or bool(np.any(np.diff(self.indptr) < 0)):
            raise ValueError("lexical posting offsets are not in order")
        if self.doc_ids.size and (int(self.doc_ids.min()) < 0 or int(self.doc_ids.max()) >= self.n_docs):
            raise ValueError("lexical postings name documents outside the index")
        for name, values in (("term frequencies", self.tf), ("document lengths", self.doc_len)):
            if not bool(np.all(np.isfinite(values))) or bool(np.any(values < 0)):
                raise ValueError(f"lexical {name} are not finite non-negative numbers")
