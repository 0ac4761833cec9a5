"""The hello handler: its own unit tests (the ones the image build runs), and served by the template."""

from __future__ import annotations

import unittest

from faasplane.functions.hello import handler, test_handler


def test_the_handler_tests_the_image_build_runs_pass():
    suite = unittest.defaultTestLoader.loadTestsFromModule(test_handler)
    result = unittest.TextTestRunner(verbosity=0).run(suite)
    assert result.testsRun >= 5
    assert result.wasSuccessful(), result.failures + result.errors


def test_served_by_the_python3_http_template(serve):
    with serve(handler.handle) as call:
        status, headers, body = call("GET", "/?name=Ada")
        assert status == 200
        assert headers["Content-Type"] == "application/json"
        assert body["message"] == "Hello, Ada!"
        status, _, body = call("POST", "/", b"Grace")
        assert (status, body["message"]) == (200, "Hello, Grace!")
        status, _, text = call("POST", "/", b"x" * 100)
        assert status == 400
        assert text == "name is longer than 64 characters\n"
