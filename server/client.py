"""A small HTTP client for the Onset API, used by the CLI (it talks to the server like any client)."""

from __future__ import annotations

from typing import Any

import requests


class ApiFailure(Exception):
    """The server answered with an error, or could not be reached."""

    def __init__(self, message: str, status: int | None = None, body: Any = None):
        super().__init__(message)
        self.status = status
        self.body = body


class ApiClient:
    def __init__(self, url: str, api_key: str | None, timeout: float = 10.0):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        if api_key:
            self.session.headers["Authorization"] = f"Bearer {api_key}"
        self.timeout = timeout

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        try:
            response = self.session.request(method, self.url + path, timeout=self.timeout, **kwargs)
        except requests.RequestException as exc:
            raise ApiFailure(f"cannot reach {self.url}: {exc}") from None
        if response.status_code >= 400:
            try:
                body = response.json()
                message = body["error"]["message"]
            except (ValueError, KeyError, TypeError):
                body, message = response.text, response.text[:200]
            raise ApiFailure(f"{response.status_code}: {message}", response.status_code, body)
        return response

    def get_bytes(self, path: str, **params: Any) -> bytes:
        """The raw response body, as the server sent it."""
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None}).content

    def get_json(self, path: str, **params: Any) -> Any:
        return self.request("GET", path, params={k: v for k, v in params.items() if v is not None}).json()

    def post_json(self, path: str, payload: Any) -> Any:
        return self.request("POST", path, json=payload).json()

    def put_json(self, path: str, payload: Any) -> Any:
        return self.request("PUT", path, json=payload).json()

    def delete(self, path: str) -> Any:
        return self.request("DELETE", path).json()
