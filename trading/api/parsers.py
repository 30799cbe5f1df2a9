"""The API's JSON body parser: DRF's, with the limits of ``trading/json_limits.py`` applied at the edge. A body
nested deeper than MAX_BODY_DEPTH, or holding a NUL character anywhere (PostgreSQL cannot store one), is a
400 naming the limit or the field; nothing reaches a serializer, let alone the database."""

from __future__ import annotations

import codecs
import json

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from trading.json_limits import MAX_BODY_DEPTH, nesting_depth, nul_path


class DeskJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = codecs.getreader(encoding)(stream).read()
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - the body is not {encoding} text") from exc
        depth = nesting_depth(text)
        if depth > MAX_BODY_DEPTH:
            raise ParseError(f"JSON parse error - the body is nested {depth} deep, over the limit of {MAX_BODY_DEPTH}")
        try:
            data = json.loads(text, parse_constant=_refuse_constant)
        except RecursionError as exc:  # belt and braces: the depth check above should catch it first
            raise ParseError("JSON parse error - the body is nested too deeply") from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        where = nul_path(data)
        if where is not None:
            raise ParseError({where: [f"{where}: contains a NUL character (\\u0000), which cannot be stored"]})
        return data


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a valid JSON number")
