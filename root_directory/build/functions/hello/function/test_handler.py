"""Unit tests of the hello handler: run by the image build (python -m unittest) and by the test suite."""

import unittest
from types import SimpleNamespace

from . import handler

CONTEXT = SimpleNamespace(hostname="hello-7d9f")


def event(body=b"", query=None):
    return SimpleNamespace(body=body, method="POST", query=query or {}, headers={}, path="/")


class HandleTest(unittest.TestCase):
    def test_greets_the_world_by_default(self):
        result = handler.handle(event(), CONTEXT)
        self.assertEqual(result["statusCode"], 200)
        self.assertEqual(result["body"]["message"], "Hello, world!")

    def test_greets_the_name_in_the_body(self):
        self.assertEqual(handler.handle(event(b"  Ada\n"), CONTEXT)["body"]["message"], "Hello, Ada!")

    def test_query_wins_over_body(self):
        result = handler.handle(event(b"Ada", {"name": "Grace"}), CONTEXT)
        self.assertEqual(result["body"]["message"], "Hello, Grace!")

    def test_reports_the_host(self):
        self.assertEqual(handler.handle(event(), CONTEXT)["body"]["host"], "hello-7d9f")

    def test_rejects_a_long_name(self):
        result = handler.handle(event(b"x" * (handler.MAX_NAME + 1)), CONTEXT)
        self.assertEqual(result["statusCode"], 400)


if __name__ == "__main__":
    unittest.main()
