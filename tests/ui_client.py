"""Calling the mounted Gradio UI the way an attacker or a script would: over its HTTP routes, by api name and by
fn_index through the queue, with the session cookies of a signed-in browser."""

from __future__ import annotations

import json
import uuid

import httpx

UI = "/studio"


def browser_session(base_url: str, email: str, password: str = "correct horse battery") -> httpx.Client:
    """A client holding a browser's session cookies (sign-up sets them)."""
    client = httpx.Client(base_url=base_url, timeout=120)
    r = client.post("/api/auth/signup", json={"email": email, "password": password})
    assert r.status_code == 201, r.text
    client.token = r.json()["access_token"]
    return client


def file_data(path: str) -> dict:
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


def config(client: httpx.Client) -> dict:
    r = client.get(UI + "/config")
    assert r.status_code == 200, r.text
    return r.json()


def file_events(cfg: dict) -> list[tuple[dict, list[int]]]:
    """Every event whose inputs include a component that takes files, with the positions of those inputs."""
    comps = {c["id"]: c for c in cfg["components"]}
    found = []
    for dep in cfg["dependencies"]:
        slots = [i for i, cid in enumerate(dep["inputs"]) if "FileData" in json.dumps(comps[cid].get("api_info"))]
        if slots:
            found.append((dep, slots))
    return found


def default_inputs(cfg: dict, dep: dict) -> list:
    comps = {c["id"]: c for c in cfg["components"]}
    return [comps[cid]["props"].get("value") for cid in dep["inputs"]]


def with_files(cfg: dict, dep: dict, slots: list[int], path: str) -> list:
    """The event's default inputs with ``path`` in every file slot (a list where the component takes many)."""
    comps = {c["id"]: c for c in cfg["components"]}
    data = default_inputs(cfg, dep)
    for i in slots:
        many = comps[dep["inputs"][i]]["props"].get("file_count") in ("multiple", "directory")
        data[i] = [file_data(path)] if many else file_data(path)
    return data


def call_by_name(client: httpx.Client, api_name: str, data: list) -> tuple[str, object]:
    r = client.post(f"{UI}/gradio_api/call/{api_name}", json={"data": data})
    assert r.status_code == 200, r.text
    event_id = r.json()["event_id"]
    kind = None
    with client.stream("GET", f"{UI}/gradio_api/call/{api_name}/{event_id}") as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line[7:].strip()
            elif line.startswith("data: ") and kind in ("complete", "error"):
                return kind, json.loads(line[6:])
    raise AssertionError("the event ended without a result")


def call_by_index(client: httpx.Client, fn_index: int, data: list, session: str | None = None) -> tuple[str, object]:
    """Through the queue as the page does; calls that share ``session`` share the page's state."""
    session = session or uuid.uuid4().hex
    r = client.post(f"{UI}/gradio_api/queue/join", json={"data": data, "fn_index": fn_index, "session_hash": session,
                                                         "event_data": None, "trigger_id": None})
    assert r.status_code == 200, r.text
    with client.stream("GET", f"{UI}/gradio_api/queue/data", params={"session_hash": session}) as stream:
        for line in stream.iter_lines():
            if not line.startswith("data: "):
                continue
            msg = json.loads(line[6:])
            if msg.get("msg") == "process_completed":
                out = msg.get("output") or {}
                return ("complete", out.get("data")) if msg.get("success") else ("error", out.get("error"))
    raise AssertionError("the queue closed without a result")


def upload(client: httpx.Client, name: str, data: bytes, content_type: str = "application/octet-stream") -> httpx.Response:
    return client.post(f"{UI}/gradio_api/upload", files=[("files", (name, data, content_type))])


def fn_index(cfg: dict, api_name: str) -> int:
    return next(d["id"] for d in cfg["dependencies"] if d.get("api_name") == api_name)


def open_tab(page, name: str) -> None:
    """Open a UI tab as a creator does: its button in the tab bar, or on a narrow screen (where the bar holds fewer
    tabs) Gradio's "More tabs" menu, then the tab."""
    page.get_by_role("tab", name="Create").wait_for(timeout=30_000)
    tab = page.get_by_role("tab", name=name)
    if tab.count():
        tab.click()
    else:
        page.get_by_role("button", name="More tabs").click()
        page.locator(".overflow-dropdown").get_by_role("button", name=name).click()
