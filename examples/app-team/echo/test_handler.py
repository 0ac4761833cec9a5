"""Unit tests of the echo handler: run by the image build (python -m unittest)."""

import unittest
from types import SimpleNamespace

from . import handler


def event(body=b""):
    return SimpleNamespace(body=body, method="POST", query={}, headers={}, path="/")


class HandleTest(unittest.TestCase):
    def test_answers_with_the_body(self):
        result = handler.handle(event(b"ping"), None)
        self.assertEqual(result["statusCode"], 200)
        self.assertEqual(result["body"], b"ping")

    def test_an_empty_body_is_echoed_empty(self):
        self.assertEqual(handler.handle(event(), None)["body"], b"")


if __name__ == "__main__":
    unittest.main()
