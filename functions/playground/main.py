"""Playground function (streaming, behind the Lambda Web Adapter): the page at / and /playground/…"""

from bytespike.http.app import create_app

app = create_app("playground")
