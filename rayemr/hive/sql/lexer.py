"""A small HiveQL tokenizer for the statements rayemr parses itself (DDL, DML heads).

Tokens keep their line, column and offset so errors point at the spot and the rest of a
statement (a query) can be handed on as text. String literals are unescaped as Hive does
(``BaseSemanticAnalyzer.unescapeSQLString``): ``\\001`` octal, ``\\t``, ``\\n``, ``\\u0001``.
"""
from __future__ import annotations

from dataclasses import dataclass

from rayemr.core.errors import UserError


class HiveParseError(UserError):
    """A statement does not parse; the message carries ``line L:C``."""

    sql_state = "42000"

    def __init__(self, message: str, line: int = 0, col: int = 0, *, hint: str | None = None):
        where = f"line {line}:{col} " if line else ""
        super().__init__(f"ParseException {where}{message}", hint=hint)
        self.line, self.col = line, col


@dataclass(frozen=True)
class Token:
    kind: str  # word, ident (backquoted), string, number, op, eof
    value: str
    line: int
    col: int
    pos: int
    end: int

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.value.upper() in words


_ESC = {"b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a", "0": "\0",
        "'": "'", '"': '"', "\\": "\\", "%": "\\%", "_": "\\_"}


def unescape(body: str) -> str:
    out, i = [], 0
    while i < len(body):
        c = body[i]
        if c != "\\" or i + 1 >= len(body):
            out.append(c)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt == "u" and i + 6 <= len(body):
            try:
                out.append(chr(int(body[i + 2:i + 6], 16)))
                i += 6
                continue
            except ValueError:
                pass
        octal = body[i + 1:i + 4]
        if len(octal) == 3 and all(ch in "01234567" for ch in octal):
            out.append(chr(int(octal, 8)))
            i += 4
            continue
        out.append(_ESC.get(nxt, nxt))
        i += 2
    return "".join(out)


def tokenize(text: str) -> list[Token]:
    toks: list[Token] = []
    i, line, col = 0, 1, 1
    n = len(text)

    def adv(k: int) -> None:
        nonlocal i, line, col
        for ch in text[i:i + k]:
            if ch == "\n":
                line, col = line + 1, 1
            else:
                col += 1
        i += k

    while i < n:
        c = text[i]
        if c.isspace():
            adv(1)
            continue
        if text.startswith("--", i):  # to the end of the line: \n or \r, as Hive's lexer
            j = i + 2
            while j < n and text[j] not in "\r\n":
                j += 1
            adv(j - i)
            continue
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise HiveParseError("unterminated comment", line, col - 1)
            adv(j + 2 - i)
            continue
        start, sl, sc = i, line, col
        if c in "'\"":
            j, body = i + 1, []
            while j < n and text[j] != c:
                if text[j] == "\\" and j + 1 < n:
                    body.append(text[j:j + 2])
                    j += 2
                else:
                    body.append(text[j])
                    j += 1
            if j >= n:
                raise HiveParseError("unterminated string literal", sl, sc - 1)
            adv(j + 1 - i)
            toks.append(Token("string", unescape("".join(body)), sl, sc - 1, start, i))
            continue
        if c == "`":
            j = text.find("`", i + 1)
            if j < 0:
                raise HiveParseError("unterminated quoted identifier", sl, sc - 1)
            adv(j + 1 - i)
            toks.append(Token("ident", text[start + 1:j], sl, sc - 1, start, i))
            continue
        if c.isalpha() or c == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] in "_$"):
                j += 1
            adv(j - i)
            toks.append(Token("word", text[start:j], sl, sc - 1, start, i))
            continue
        if c.isdigit():
            j = i
            while j < n and (text[j].isalnum() or text[j] == "."):
                j += 1
            adv(j - i)
            toks.append(Token("number", text[start:j], sl, sc - 1, start, i))
            continue
        two = text[i:i + 2]
        if two in ("<=", ">=", "<>", "!=", "==", "||"):
            adv(2)
            toks.append(Token("op", two, sl, sc - 1, start, i))
            continue
        adv(1)
        toks.append(Token("op", c, sl, sc - 1, start, i))
    toks.append(Token("eof", "", line, col - 1, n, n))
    return toks


def split_statements(script: str) -> list[str]:
    """The statements of a script: split at ``;`` tokens of :func:`tokenize` (so strings,
    quoted identifiers and comments are read exactly as the parser reads them), each
    stripped; pieces with no tokens (blank, comments only) are dropped."""
    out: list[str] = []
    start, has_code = 0, False
    for t in tokenize(script):
        if t.kind == "op" and t.value == ";" or t.kind == "eof":
            if has_code:
                out.append(script[start:t.pos].strip())
            start, has_code = t.end, False
        else:
            has_code = True
    return out
