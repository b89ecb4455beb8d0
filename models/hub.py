"""Where weights live: a local folder, or a Hugging Face Hub repo pinned by revision in the local cache."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from models.errors import EngineUnavailable, Remedy


@dataclass(frozen=True)
class ModelRef:
    """A model for one stage: a Hub repo id (with revision) or a local folder or file."""

    repo: str
    revision: str | None = None

    @property
    def is_local(self) -> bool:
        return Path(self.repo).expanduser().exists()


def locate(ref: ModelRef, *, stage: str, local_files_only: bool = True, cache_dir: str | None = None,
           allow_patterns: list[str] | None = None, profile: str = "") -> Path:
    """The local path of ``ref``'s files; never downloads when ``local_files_only``. ``profile`` (whose weights
    these are) is named in the remedy when they are missing."""
    if ref.is_local:
        return Path(ref.repo).expanduser().resolve()
    if "/" not in ref.repo or ref.repo.startswith((".", "/", "~")):
        raise EngineUnavailable(f"The {stage} model {ref.repo!r} is neither a local folder nor a Hub repo id.",
                                "Give a folder that exists, or a repo id like owner/name.")
    try:
        from huggingface_hub import snapshot_download
        from huggingface_hub.errors import LocalEntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError
    except ImportError:
        raise EngineUnavailable("huggingface_hub is not installed.", "pip install huggingface_hub") from None
    try:
        path = snapshot_download(ref.repo, revision=ref.revision, local_files_only=local_files_only,
                                 cache_dir=cache_dir, allow_patterns=allow_patterns)
    except LocalEntryNotFoundError:
        raise EngineUnavailable(f"The {stage} weights ({ref.repo}@{ref.revision or 'main'}) are not downloaded.",
                                "Fetch them ahead of time (this machine never downloads while making a short).",
                                Remedy("pull_weights", profile=profile or None, stage=stage, repo=ref.repo)) from None
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        raise EngineUnavailable(f"The {stage} model {ref.repo}@{ref.revision or 'main'} does not exist on the Hub "
                                f"({type(exc).__name__}).", "Check the repo id and revision.") from None
    return Path(path)


@dataclass(frozen=True)
class PullResult:
    repo: str
    revision: str
    commit: str
    path: Path
    files: int
    bytes: int


def _free_bytes(path: Path) -> int:
    import shutil

    path.mkdir(parents=True, exist_ok=True)
    return shutil.disk_usage(path).free


def _cache_root(cache_dir: str | None) -> Path:
    if cache_dir:
        return Path(cache_dir)
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE)


def _git_blob_sha1(path: Path) -> str:
    import hashlib

    h = hashlib.sha1()
    h.update(f"blob {path.stat().st_size}\0".encode())
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def sha256_file(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class PullCancelled(EngineUnavailable):
    """The person pulling stopped it; what was fetched stays, and the same pull continues from there."""


def pull(ref: ModelRef, *, cache_dir: str | None = None, allow_patterns: list[str] | None = None,
         on_bytes: Callable[[int, int], None] | None = None, cancel: threading.Event | None = None) -> PullResult:
    """Download a repo at a pinned revision into the Hub cache: space checked first, resumable, verified after.

    Large (LFS) files are fetched first by ``_fetch_blob`` into the cache's ``blobs/<sha256>`` through a partial
    file that outlives the process, so a pull that is killed or loses its connection resumes each file where it
    stopped (HTTP Range). huggingface_hub keeps its partial files private to one process (PR #4228) and would
    restart them; it then only links the finished blobs and fetches the small files. Every file is checked
    against the Hub's own checksum, and the disk space is checked before anything is downloaded.
    ``on_bytes(done, total)`` reports progress; setting ``cancel`` stops at the next megabyte (PullCancelled).
    """
    import fnmatch

    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError
    from huggingface_hub.hf_api import RepoFile

    check_reachable()
    api = HfApi()
    try:
        info = api.repo_info(ref.repo, revision=ref.revision)
        commit = info.sha
        if commit is None:
            raise EngineUnavailable(f"The Hub did not name the commit of {ref.repo}@{ref.revision or 'main'}.",
                                    "Run the same pull again.")
        files = [f for f in api.list_repo_tree(ref.repo, revision=commit, recursive=True) if isinstance(f, RepoFile)]
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        raise EngineUnavailable(f"{ref.repo}@{ref.revision or 'main'} does not exist on the Hub ({type(exc).__name__}).",
                                "Check the repo id and revision.") from None
    except HfHubHTTPError as exc:
        raise EngineUnavailable(f"The Hub refused {ref.repo}: {exc}", "Check your network or HF_TOKEN.") from None
    except Exception as exc:  # no network: httpx's transport errors, or huggingface_hub's offline mode
        if not _unreachable(exc):
            raise
        raise hub_unreachable() from None
    if allow_patterns:
        files = [f for f in files if any(fnmatch.fnmatch(f.path, p) for p in allow_patterns)]
    needed = sum(f.size for f in files)
    root = _cache_root(cache_dir)
    free = _free_bytes(root)
    if needed * 1.05 > free:
        raise EngineUnavailable(f"{ref.repo} needs {needed / 2**30:.2f} GiB but only {free / 2**30:.2f} GiB is free "
                                f"in {root}.", "Free some space, or point HF_HOME at a larger disk.")
    done = 0
    for f in files:
        if f.lfs is not None:
            _fetch_blob(ref.repo, commit, f.path, f.lfs.sha256, f.size, root, cancel=cancel,
                        on_bytes=_offset(on_bytes, done, needed))
            done += f.size
    try:
        # by the name asked for (not the commit), so the cache records refs/<revision> for offline loads
        path = Path(snapshot_download(ref.repo, revision=ref.revision, cache_dir=cache_dir, allow_patterns=allow_patterns))
    except OSError as exc:
        raise EngineUnavailable(f"Downloading {ref.repo} failed: {exc}", "Run the same pull again to resume.") from None
    if on_bytes:
        on_bytes(needed, needed)
    for f in files:
        local = path / f.path
        expected = f.lfs.sha256 if f.lfs is not None else f.blob_id
        actual = sha256_file(local) if f.lfs is not None else _git_blob_sha1(local)
        if actual != expected:
            local.resolve().unlink(missing_ok=True)
            local.unlink(missing_ok=True)
            raise EngineUnavailable(f"{ref.repo}/{f.path} failed its checksum (got {actual[:12]}, the Hub says "
                                    f"{expected[:12]}); the damaged file was removed.",
                                    "Run the same pull again to fetch it afresh.")
    return PullResult(ref.repo, ref.revision or "main", commit, path, len(files), needed)


def _offset(on_bytes: Callable[[int, int], None] | None, base: int, total: int) -> Callable[[int], None] | None:
    """One file's byte count as the whole pull's progress."""
    if on_bytes is None:
        return None
    report = on_bytes
    return lambda n: report(base + n, total)


def hub_unreachable() -> EngineUnavailable:
    """One line: the Hub cannot be reached, and what to do instead."""
    from huggingface_hub import constants

    return EngineUnavailable(f"The Hugging Face Hub ({constants.ENDPOINT}) cannot be reached from this machine: "
                             "connect it to the internet, set HF_ENDPOINT to a mirror you can reach, or copy the "
                             "Hub cache (HF_HOME) over from a machine that has the weights, then pull again.")


def check_reachable(timeout: float = 4.0) -> None:
    """Raise the one-line error at once when the Hub cannot be reached (huggingface_hub itself retries for ~25 s)."""
    import httpx
    from huggingface_hub import constants

    try:
        httpx.head(constants.ENDPOINT, timeout=timeout, follow_redirects=False)
    except httpx.TransportError:
        raise hub_unreachable() from None


def _unreachable(exc: BaseException) -> bool:
    """A network failure, from whichever HTTP client huggingface_hub uses (httpx, or its own fork httpx2)."""
    from huggingface_hub.errors import OfflineModeIsEnabled

    names = {c.__name__ for c in type(exc).__mro__}
    return bool(names & {"TransportError", "NetworkError", "TimeoutException"}) or isinstance(
        exc, (OfflineModeIsEnabled, ConnectionError, TimeoutError))


def _fetch_blob(repo: str, commit: str, filename: str, sha256: str, size: int, cache: Path, attempts: int = 5,
                cancel: threading.Event | None = None, on_bytes: Callable[[int], None] | None = None) -> None:
    """Download one large file into ``<cache>/models--…/blobs/<sha256>``, the name huggingface_hub gives it, via
    ``<sha256>.partial`` beside it: a later pull (or a later attempt after a dropped connection) continues that
    file with a Range request. Verified before it becomes the blob; a mismatch is deleted and reported."""
    import httpx
    from filelock import FileLock
    from huggingface_hub import hf_hub_url
    from huggingface_hub.file_download import repo_folder_name
    from huggingface_hub.utils import build_hf_headers, tqdm

    folder = repo_folder_name(repo_id=repo, repo_type="model")
    blob = cache / folder / "blobs" / sha256
    if blob.exists():
        return
    blob.parent.mkdir(parents=True, exist_ok=True)
    partial = blob.with_name(f"{sha256}.partial")
    lock = cache / ".locks" / folder / f"{sha256}.lock"  # the lock huggingface_hub itself takes for this blob
    lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock)):
        if blob.exists():
            return
        url = hf_hub_url(repo, filename, revision=commit)
        for attempt in range(attempts):
            have = partial.stat().st_size if partial.exists() else 0
            if have >= size:
                break
            headers = build_hf_headers()
            if have:
                headers["Range"] = f"bytes={have}-"
            try:
                with httpx.stream("GET", url, headers=headers, follow_redirects=True, timeout=60) as r:
                    if r.status_code == 416 or (have and r.status_code == 200):
                        have = 0  # the server will not continue this file: start it again
                    elif r.status_code >= 400:
                        raise EngineUnavailable(f"The Hub refused {repo}/{filename} (HTTP {r.status_code}).",
                                                "Check your network or HF_TOKEN, then run the same pull again.")
                    with open(partial, "ab" if have else "wb") as out, tqdm(
                            total=size, initial=have, unit="B", unit_scale=True, desc=filename) as bar:
                        for chunk in r.iter_bytes(1 << 20):
                            out.write(chunk)
                            bar.update(len(chunk))
                            have += len(chunk)
                            if on_bytes:
                                on_bytes(have)
                            if cancel is not None and cancel.is_set():
                                raise PullCancelled(f"The download of {repo} was stopped.",
                                                    "Start it again to continue where it stopped.")
            except httpx.TransportError:
                if attempt == attempts - 1:
                    raise EngineUnavailable(f"The connection kept dropping while downloading {repo}/{filename}.",
                                            "Run the same pull again: it continues where it stopped.") from None
        if sha256_file(partial) != sha256:
            partial.unlink(missing_ok=True)
            raise EngineUnavailable(f"{repo}/{filename} failed its checksum; the damaged download was removed.",
                                    "Run the same pull again to fetch it afresh.")
        os.replace(partial, blob)
