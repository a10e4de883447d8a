"""gunicorn settings read from the project root (`scripts/run`, the contract tests).

gunicorn's own request-line limit (4094 bytes by default) answered longer lines with an HTML 414
before the app could speak. A request our schemas accept can be longer: a 512-character cursor
of 4-byte characters alone is 6 KB once percent-encoded. So gunicorn takes any length and the app
refuses lines beyond MAX_REQUEST_LINE (app/content_types.py) with a problem+json 414.
"""

limit_request_line = 0  # unlimited here; bounded by the app
