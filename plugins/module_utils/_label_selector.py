# Copyright (c) virt.kubevirt contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Label selector syntax, checked before a request is sent (modules and the inventory plugin).

The API server answers a bad selector with a 400 only once the lists are sent (and, for an
inventory of several clusters, after other clusters were read); the same grammar is checked
here so the option error names ``label_selector`` and the offending part. The grammar is
apimachinery's: comma-separated requirements ``key``, ``!key``, ``key=value``, ``key==value``,
``key!=value``, ``key in (a,b)``, ``key notin (a,b)``, ``key>N``, ``key<N``.
"""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

_TOKEN = re.compile(r"\s*(?:(!=|==|=|!|\(|\)|,|<|>)|([^\s!=(),<>]+))")
_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_VALUE_RULE = "at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
_END = "the end"
# (kind, text, position): kind is "op", "word" or "end".
Token = Tuple[str, str, int]


class SelectorError(ValueError):
    """What is wrong with a selector, without the option name (the caller adds it)."""


def _tokenize(text: str) -> List[Token]:
    tokens: List[Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:  # pragma: no cover - every character is an operator, a word or a space
            raise SelectorError("unexpected %r at position %d" % (text[pos], pos + 1))
        start = match.start(1) if match.group(1) else match.start(2)
        tokens.append(("op", match.group(1), start) if match.group(1) else ("word", match.group(2), start))
        pos = match.end()
    tokens.append(("end", _END, len(text)))
    return tokens


def check_label_key(key: str) -> None:
    """A qualified name: ``[prefix/]name``, the prefix a DNS subdomain."""
    prefix, slash, name = key.rpartition("/")
    if len(name) > 63 or not _NAME.match(name):
        raise SelectorError("label key %r is not valid: the name%s must be %s"
                            % (key, " after the prefix" if slash else "", _VALUE_RULE))
    if slash and (len(prefix) > 253 or not _SUBDOMAIN.match(prefix)):
        raise SelectorError("label key %r is not valid: the prefix %r must be a DNS subdomain "
                            "(lowercase letters, digits, '-' and '.')" % (key, prefix))


def check_label_value(key: str, value: str) -> None:
    if len(value) > 63 or not _VALUE.match(value):
        raise SelectorError("value %r of %s is not a valid label value: %s" % (value, key, _VALUE_RULE))


def _shown(token: Token) -> str:
    return token[1] if token[0] == "end" else "%r at position %d" % (token[1], token[2] + 1)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.index = 0

    def peek(self) -> Token:
        return self.tokens[self.index]

    def take(self) -> Token:
        token = self.tokens[self.index]
        if token[0] != "end":
            self.index += 1
        return token

    def key(self) -> str:
        token = self.take()
        if token[0] != "word" or token[1] in ("in", "notin"):
            raise SelectorError("expected a label key, found %s" % _shown(token))
        check_label_key(token[1])
        return token[1]

    def values(self, key: str, operator: str) -> None:
        opening = self.take()
        if opening[1] != "(" or opening[0] != "op":
            raise SelectorError("%s needs a list of values in parentheses, such as %s %s (a,b); found %s"
                                % (operator, key, operator, _shown(opening)))
        count = 0
        while True:
            token = self.peek()
            if token[0] == "word":
                check_label_value(key, self.take()[1])
                count += 1
                token = self.peek()
            if token[1] == ")" and token[0] == "op":
                self.take()
                break
            if token[1] == "," and token[0] == "op":
                self.take()
                continue
            raise SelectorError("expected a value, ',' or ')' in the values of %s, found %s" % (key, _shown(token)))
        if count == 0:
            raise SelectorError("%s %s () has no values" % (key, operator))

    def exact_value(self, key: str, operator: str) -> Optional[str]:
        token = self.peek()
        if token[0] == "word":
            self.take()
            check_label_value(key, token[1])
            return token[1]
        if token[0] == "end" or token[1] == ",":
            return ""  # key= means "the label is empty", as for the API server
        raise SelectorError("expected a value after %s%s, found %s" % (key, operator, _shown(token)))

    def requirement(self) -> None:
        if self.peek()[:2] == ("op", "!"):
            self.take()
            self.key()
            return
        key = self.key()
        token = self.peek()
        if token[0] == "end" or token[:2] == ("op", ","):
            return
        self.take()
        if token[0] == "word" and token[1] in ("in", "notin"):
            self.values(key, token[1])
        elif token[0] == "op" and token[1] in ("=", "==", "!="):
            self.exact_value(key, token[1])
        elif token[0] == "op" and token[1] in ("<", ">"):
            value = self.exact_value(key, token[1])
            if not value or not value.isdigit():
                raise SelectorError("%s%s needs an integer, got %r" % (key, token[1], value))
        else:
            raise SelectorError("expected an operator (=, ==, !=, in, notin, >, <) after %s, found %s"
                                % (key, _shown(token)))

    def selector(self) -> None:
        while True:
            self.requirement()
            token = self.take()
            if token[0] == "end":
                return
            if token[:2] != ("op", ","):
                raise SelectorError("expected ',' or the end after a requirement, found %s" % _shown(token))


def check_label_selector(text: str) -> None:
    """Raise SelectorError saying what is wrong when ``text`` is not a label selector."""
    if not text.strip():
        raise SelectorError("it is empty")
    _Parser(text).selector()
