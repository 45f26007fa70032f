"""Extraction: the answer a model gave, as text. One implementation of each extractor and of the normaliser.

* :func:`boxed_all`: every ``\\boxed{...}`` / ``\\fbox{...}`` (and ``\\boxed 5``), one linear pass;
* :func:`extract_answer`: the last boxed answer, else the text after the last "Answer:" / "answer is";
* :func:`gpqa_letter`: one clear letter A-D, strictly;
* :func:`aime_int`: an AIME answer as an integer;
* :func:`normalize_answer`: the canonical text two answers are compared by before symbolic equivalence.

Model output is untrusted: every function here is linear (or bounded) in the length of its input and
executes nothing.
"""

from __future__ import annotations

import re

MAX_KEY_CHARS = 1_000  # longer "answers" have no normal form (they are never equal to anything)

_BOX_TOKEN = re.compile(r"\\(?:boxed|fbox)\s*\{|[{}]")
_BOX_BARE = re.compile(r"\\(?:boxed|fbox)(?![a-zA-Z])\s*(?!\s|\{)([^\s$]+)")


def box_spans(text: str) -> list[tuple[int, int]]:
    r"""(start, end) of the content of every ``\boxed{...}`` / ``\fbox{...}`` (braces matched) and
    ``\boxed 5``, ordered by start.

    One pass over the text with a stack of open boxes, so deeply nested or unclosed boxes cost linear
    time. An unclosed box yields nothing.
    """
    spans: list[tuple[int, int]] = []
    stack: list[tuple[int, int]] = []  # (content start, brace depth outside the box)
    depth = 0
    for m in _BOX_TOKEN.finditer(text):
        tok = m.group()
        if tok == "}":
            if depth == 0:
                continue
            depth -= 1
            if stack and stack[-1][1] == depth:
                spans.append((stack.pop()[0], m.start()))
        elif tok == "{":
            depth += 1
        else:  # \boxed{
            stack.append((m.end(), depth))
            depth += 1
    spans.extend(m.span(1) for m in _BOX_BARE.finditer(text))
    spans.sort()
    return spans


def boxed_all(text: str) -> list[str]:
    r"""Contents of every box, in order (see :func:`box_spans`)."""
    return [text[a:b].strip() for a, b in box_spans(text)]


def last_boxed(text: str) -> str | None:
    """The content of the last box (the one that starts last), or None; linear time."""
    spans = box_spans(text)
    if not spans:
        return None
    a, b = spans[-1]
    return text[a:b].strip()


_ANSWER_RE = re.compile(r"answer\s*(?:is\s*:?|:)", re.IGNORECASE)


def extract_answer(text: str) -> str | None:
    """The last boxed answer, else what follows the last "Answer:"/"answer is" on its line."""
    box = last_boxed(text)
    if box is not None:
        return box
    last = None
    for m in _ANSWER_RE.finditer(text):
        last = m
    if last is None:
        return None
    rest = text[last.end() :].lstrip(" \t*:")
    line = rest.split("\n\n")[0].split("\n")[0] if rest.strip() else ""
    line = line.strip().strip("*").strip().rstrip(".").strip()
    line = re.sub(r"^\$+|\$+$", "", line).strip()
    line = re.sub(r"^\\\(|\\\)$|^\\\[|\\\]$", "", line).strip()
    line = re.split(r"\.\s+(?=[A-Z])", line)[0]  # "12. I hope it is correct." -> "12"
    line = line.rstrip(".").strip()
    return line or None


def normalize_answer(text: str) -> str | None:
    r"""The canonical form of an extracted answer: ``$``, ``\text{}``, spacing commands, spaces and case
    dropped, ``dfrac``/``tfrac`` as ``frac``, numbers canonical ("18.0" and "18" agree, "1,000" and "1000"
    agree). None for an empty or over-long answer."""
    s = text.strip()
    if not s or len(s) > MAX_KEY_CHARS:
        return None
    s = re.sub(r"\\(?:text|textbf|mathrm|mbox)\{([^{}]*)\}", r"\1", s)
    s = re.sub(r"\\[,;!: ]|\\left|\\right|\$|\s", "", s)
    s = s.replace("dfrac", "frac").replace("tfrac", "frac").rstrip(".").lower()
    num = s.replace(",", "") if re.fullmatch(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", s) else s
    if re.fullmatch(r"[-+]?\d+(?:\.\d+)?", num) and len(num) < 30:
        v = float(num)
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return s or None


def aime_int(s: str) -> int | None:
    """An AIME answer as an integer ("025", "$25$", "25.0", "1,000", "25^\\circ"), else None."""
    t = normalize_answer(s) or ""
    t = re.sub(r"\^\{?\\circ\}?|\\%|%|^\\\(|\\\)$", "", t)
    t = re.sub(r"(?<=\d),(?=\d{3}\b)", "", t)
    m = re.fullmatch(r"\+?(\d+)(?:\.0*)?", t)
    return int(m.group(1)) if m else None


_LETTER_INNER = re.compile(r"\(?([A-Da-d])\)?(?:[.):]|\s|$)")
_GPQA_MARKER = re.compile(r"answer\s*(?:is|:)", re.IGNORECASE)
_CHOICE = re.compile(r"(?<![A-Za-z0-9\\'’-])(\()?([A-Da-d])(\))?(?![A-Za-z0-9'’-])")
# Words after "A" that make it the letter, not the article ("A is correct", "A or C"; "A tricky one": article).
_AFTER_LETTER = frozenset(
    {
        "is",
        "was",
        "or",
        "and",
        "nor",
        "because",
        "since",
        "as",
        "seems",
        "looks",
        "appears",
        "would",
        "should",
        "must",
        "fits",
        "matches",
        "holds",
        "remains",
        "only",
        "alone",
        "then",
        "so",
        "but",
        "with",
        "for",
        "here",
        "again",
        "also",
        "still",
        "too",
        "now",
    }
)
_LIST_JOIN = re.compile(r"\s*(?:,|/|&|\+|or|and|nor|vs\.?|versus)\s*(?:maybe\s*|perhaps\s*)?", re.IGNORECASE)
_CONCLUDE = re.compile(
    r"(?:\bso|\bthus|\btherefore|\bhence|\bi\.e\.|\bleaving|\bleaves|=>|→)[\s,:]*"
    r"(?:the\s+answer\s+is\s*|option\s*|choice\s*)?$",
    re.IGNORECASE,
)


def _choices(line: str) -> list[re.Match[str]]:
    """The standalone choice letters of one line, without articles ("a tricky one") and negated letters."""
    out = []
    for m in _CHOICE.finditer(line):
        letter, paren = m.group(2), bool(m.group(1) or m.group(3))
        after = line[m.end() :]
        if re.search(r"(?:\bnot|n't)\s*$", line[: m.start()], re.IGNORECASE):
            continue  # "not A"
        if not paren:
            word = re.match(r"\s+([a-z]+)", after)
            if letter.islower() and not re.match(r"\s*(?:$|[.,;:!?])", after):
                continue  # a lowercase letter counts only on its own: "answer: b", not "a tricky one"
            if letter == "A" and word and word.group(1) not in _AFTER_LETTER:
                continue  # "A tricky one": the article
        out.append(m)
    return out


def _stated_letter(line: str) -> str | None:
    """The one letter stated by the text after "Answer:": the first choice letter, unless it starts a
    list ("A or C", "A and B are wrong"): then the letter a conclusion names ("..., so C"), else None."""
    found = _choices(line[:300])
    if not found:
        return None
    first = found[0]
    if len(found) > 1 and _LIST_JOIN.fullmatch(line[first.end() : found[1].start()]):
        for m in found[2:]:
            if _CONCLUDE.search(line[: m.start()]):
                return m.group(2).upper()
        return None  # a hedge between letters is no answer
    return first.group(2).upper()


def gpqa_letter(text: str) -> str | None:
    """Strict letter extraction: a boxed letter, else the letter stated after the last "Answer:" /
    "answer is" (articles are not letters, a hedge "A or C" is nothing), else a bare letter."""
    box = last_boxed(text)
    if box is not None:
        inner = re.sub(r"\\(?:text|textbf|mathrm|mathbf)\{([^{}]*)\}", r"\1", box[:MAX_KEY_CHARS]).strip()
        inner = re.sub(r"^(?:option|choice)\s*", "", inner, flags=re.IGNORECASE)
        m = _LETTER_INNER.match(inner)
        if m and (len(inner) <= 3 or inner[1:2] in (")", ".", ":") or inner[2:3] == ")"):
            return m.group(1).upper()
        return None
    last = None
    for m in _GPQA_MARKER.finditer(text):
        last = m
    if last is not None:
        rest = text[last.end() : last.end() + 1000].lstrip(" \t\n*:")
        return _stated_letter(rest.split("\n")[0])
    bare = re.fullmatch(r"\s*\**\s*\(?([A-D])\)?[.)]?\s*\**\s*(?:\)\s*.*)?", text.strip().split("\n")[0])
    return bare.group(1) if bare and len(text.strip()) < 200 else None


__all__ = [
    "aime_int",
    "box_spans",
    "boxed_all",
    "extract_answer",
    "gpqa_letter",
    "last_boxed",
    "normalize_answer",
]
