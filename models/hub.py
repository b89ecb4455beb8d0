"""Where weights live: a local folder, or a Hugging Face Hub repo pinned by revision in the local cache."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from models.errors import EngineUnavailable


@dataclass(frozen=True)
class ModelRef:
    """A model for one stage: a Hub repo id (with revision) or a local folder or file."""

    repo: str
    revision: str | None = None

    @property
    def is_local(self) -> bool:
        return Path(self.repo).expanduser().exists()


def locate(ref: ModelRef, *, stage: str, local_files_only: bool = True, cache_dir: str | None = None,
           allow_patterns: list[str] | None = None, fetch_hint: str = "") -> Path:
    """The local path of ``ref``'s files; never downloads when ``local_files_only``."""
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
                                fetch_hint or f"Fetch them with: studio models pull --model {stage}={ref.repo}") from None
    except (RepositoryNotFoundError, RevisionNotFoundError) as exc:
        raise EngineUnavailable(f"The {stage} model {ref.repo}@{ref.revision or 'main'} does not exist on the Hub "
                                f"({type(exc).__name__}).", "Check the repo id and revision.") from None
    return Path(path)
