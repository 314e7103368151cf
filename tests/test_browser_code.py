"""The browser test on the pages of code: the API reference (Chapter 5.1) and the package's highlighted source.

The same checks as every other page (:func:`test_browser.check_page`), in a file of their own so that
``--dist loadfile`` gives the two halves of the browser test to two workers (the API page of the
studies layer alone takes half a minute).
"""
import pytest

from test_browser import CODE_PAGES, book_server, browser, check_page, screenshots  # noqa: F401 (fixtures)


@pytest.mark.parametrize("page", CODE_PAGES)
def test_code_page(browser, book_server, screenshots, page):
    check_page(browser, book_server, page)
