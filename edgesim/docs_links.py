"""The AWS documentation pages edgesim's messages point users to: one table, one wording.

A message that names the rule it enforces ends with `(CloudFront docs: "<page title>")`, the page
of the Amazon CloudFront Developer Guide that states the rule: the page the spec section encoding
that rule cites as its source (spec §0 source key: AD/x and DG/x are the guide's page x), checked
against the live guide. Users do not have the spec, so messages never cite it; comments and
docstrings, written for edgesim's developers, still do. The README lists the same pages with
their URLs (tests/test_docs_links.py keeps the two in step).
"""

from __future__ import annotations

from typing import Final, NamedTuple

GUIDE: Final = "https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/"


class DocPage(NamedTuple):
    title: str  # the page's own title, as the guide shows it
    url: str


def _page(title: str, slug: str) -> DocPage:
    return DocPage(title, f"{GUIDE}{slug}.html")


# Keyed by the page's file name in the guide, which is also the spec's AD/x or DG/x tag.
PAGES: Final[dict[str, DocPage]] = {
    "edge-function-restrictions-all": _page("Restrictions on all edge functions", "edge-function-restrictions-all"),
    "cloudfront-function-restrictions": _page("Restrictions on CloudFront Functions",
                                              "cloudfront-function-restrictions"),
    "lambda-at-edge-function-restrictions": _page("Restrictions on Lambda@Edge", "lambda-at-edge-function-restrictions"),
    "cloudfront-limits": _page("Quotas", "cloudfront-limits"),
    "function-code-choose-purpose": _page("Determine function purpose", "function-code-choose-purpose"),
    "functions-event-structure": _page("CloudFront Functions event structure", "functions-event-structure"),
    "functions-javascript-runtime-features": _page("JavaScript runtime features for CloudFront Functions",
                                                   "functions-javascript-runtime-features"),
    "kvs-with-functions": _page("Amazon CloudFront KeyValueStore", "kvs-with-functions"),
    "kvs-with-functions-create-s3-kvp": _page("File format for key-value pairs", "kvs-with-functions-create-s3-kvp"),
    "lambda-include-body-access": _page("Accessing the request body by choosing the include body option",
                                        "lambda-include-body-access"),
    "adding-cloudfront-headers": _page("Add CloudFront request headers", "adding-cloudfront-headers"),
    "understanding-response-headers-policies": _page("Understand response headers policies",
                                                     "understanding-response-headers-policies"),
    "RequestAndResponseBehaviorCustomOrigin": _page("Request and response behavior for custom origins",
                                                    "RequestAndResponseBehaviorCustomOrigin"),
    "add-origin-custom-headers": _page("Add custom headers to origin requests", "add-origin-custom-headers"),
}


def cite(page: str) -> str:
    """`CloudFront docs: "<title>"`: what a message puts in its parentheses to name the rule's page.

    Raises KeyError for a page not in PAGES, so a misspelt key fails the first test that builds
    the message rather than printing a reference nobody can follow."""
    return f'CloudFront docs: "{PAGES[page].title}"'
