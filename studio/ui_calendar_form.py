"""The Calendar's schedule form without Gradio: the accounts a creator can tick, each platform's options mapped to the
API's names (PostOptionsIn in studio/api/post_routes.py), TikTok's live posting options in words, and one Schedule
press made into one post per ticked account, each through the same service as POST /api/posts. One account's
refusal is said by its name and does not stop the others."""

from __future__ import annotations

import html
from dataclasses import dataclass

from models.errors import InvalidRequest, StudioError
from studio.publishing.posts import PostSpec
from studio.publishing.tiktok import PRIVACY_WORDS
from studio.remedies import for_ui

_esc = html.escape

# how an account is named in the form (a Facebook account is a Page; Instagram and TikTok names read as handles)
KIND = {"youtube": "YouTube", "instagram": "Instagram", "facebook": "Facebook Page", "tiktok": "TikTok"}
TIKTOK_PRIVACY = PRIVACY_WORDS
TIKTOK_LOCKS = (("allow_comment", "comment_disabled", "comments"), ("allow_duet", "duet_disabled", "Duet"),
                ("allow_stitch", "stitch_disabled", "Stitch"))
BRANDS = (("Your brand", "brand_organic"), ("Branded content", "brand_content"))
MUSIC_TERMS = "https://www.tiktok.com/legal/page/global/music-usage-confirmation/en"
BRANDED_TERMS = "https://www.tiktok.com/legal/page/global/bc-policy/en"
TIKTOK_AUDIT = ("Until this studio's TikTok app has passed TikTok's audit, TikTok accepts its posts only as "
                "“Only me”, from an account set to private: choose Only me, and make the account private in TikTok "
                "first.")


@dataclass(frozen=True)
class TikTokChoice:
    privacy_level: str | None = None  # nothing is chosen for the creator
    allow_comment: bool = False
    allow_duet: bool = False
    allow_stitch: bool = False
    disclose: bool = False  # "this promotes a brand, a product or a service"
    brands: tuple[str, ...] = ()  # brand_organic and/or brand_content


@dataclass(frozen=True)
class ScheduleForm:
    """The form as pressed: what every ticked account's post shares, and each platform's own answers."""

    short_id: str
    accounts: tuple[str, ...]  # connection ids, as ticked
    local_time: str  # "2026-05-05T09:00" in ``timezone``
    timezone: str
    text: dict | None  # None: each platform's own text from the short's post.json (the fields were not edited)
    synthetic_media: bool = True
    privacy: str = "public"  # YouTube
    made_for_kids: bool | None = None  # YouTube: no default
    share_to_feed: bool = True  # Instagram
    tiktok: TikTokChoice = TikTokChoice()


@dataclass(frozen=True)
class Outcome:
    connection_id: str
    label: str  # "TikTok · Cats daily"
    post: dict | None = None
    made: bool = False
    refused: str = ""  # why not, in words


# 1. the accounts ----------------------------------------------------------------------------------------------
def account_label(platform: str, account: dict) -> str:
    name = account.get("name") or account.get("account_id") or "?"
    if platform == "instagram" and not name.startswith("@"):
        name = "@" + name
    return f"{KIND.get(platform, platform)} · {name}"


def account_choices(platforms: list[dict]) -> list[tuple[str, str]]:
    """Every connected account, grouped by platform (in the panel's order), named by its platform."""
    return [(account_label(p["name"], a) + ("" if a["status"] == "active" else " (needs reconnecting)"), a["id"])
            for p in platforms for a in p["accounts"]]


def accounts_by_id(platforms: list[dict]) -> dict[str, tuple[str, dict]]:
    return {a["id"]: (p["name"], a) for p in platforms for a in p["accounts"]}


def ticked_platforms(platforms: list[dict], ticked) -> set[str]:
    known = accounts_by_id(platforms)
    return {known[i][0] for i in ticked or () if i in known}


# 2. each platform's options ----------------------------------------------------------------------------------
def options_for(platform: str, form: ScheduleForm) -> dict:
    """The post's options for ``platform`` under the API's names; refused in plain words where the creator still
    has to answer (the platform checks them again when the post is recorded)."""
    options: dict = {"synthetic_media": form.synthetic_media}
    if platform == "youtube":
        if form.made_for_kids is None:
            raise InvalidRequest("Say whether the short is made for kids: YouTube requires an answer.",
                                 "Choose Yes or No under 'Made for kids?'.")
        options.update(privacy=form.privacy or "public", made_for_kids=form.made_for_kids)
    elif platform == "instagram":
        options["share_to_feed"] = form.share_to_feed
    elif platform == "tiktok":
        options.update(tiktok_options(form.tiktok))
    return options


def tiktok_options(t: TikTokChoice) -> dict:
    if not t.privacy_level:
        raise InvalidRequest("Choose who can see it on TikTok: nothing is chosen for you.",
                             "Pick one under 'Who can see it on TikTok'.")
    brands = set(t.brands) if t.disclose else set()
    if t.disclose and not brands:
        raise InvalidRequest("Say what the TikTok post promotes: your brand, branded content, or both.",
                             "Tick one under 'Commercial content', or turn the disclosure off.")
    if "brand_content" in brands and t.privacy_level == "SELF_ONLY":
        raise InvalidRequest("Branded content cannot be posted as “Only me” on TikTok.",
                             "Choose who else can see it, or untick Branded content.")
    return {"privacy_level": t.privacy_level, "allow_comment": t.allow_comment, "allow_duet": t.allow_duet,
            "allow_stitch": t.allow_stitch, "brand_organic": "brand_organic" in brands,
            "brand_content": "brand_content" in brands}


# 3. TikTok's live posting options in words -------------------------------------------------------------------
@dataclass(frozen=True)
class TikTokView:
    """What the TikTok part of the form offers for the ticked TikTok accounts (several: what all of them allow)."""

    about: str  # HTML: who it posts as, what failed, warnings, notes
    privacy: list[tuple[str, str]]  # (words, privacy_level)
    locked: dict[str, str]  # allow_* → why it cannot be ticked


def tiktok_view(answers: list[tuple[str, dict | StudioError]], seconds: float | None) -> TikTokView:
    """``answers``: each ticked TikTok account's label with its posting_info, or the error asking for it raised.
    (posting_info's own notes name the API's values; the form says the same in the creator's words.)"""
    lines, notes, locked = [], [TIKTOK_AUDIT], {}
    levels: list[str] | None = None
    for label, info in answers:
        if isinstance(info, StudioError):
            lines.append(f'<p class="cal-bad" role="alert">⚠ Could not ask TikTok how {_esc(label)} may post: '
                         f"{_esc(plain(info))} The other accounts still schedule.</p>")
            continue
        who = info.get("nickname") or info.get("username") or info.get("account") or label
        handle = f" (@{info['username']})" if info.get("username") and info.get("username") != who else ""
        lines.append(f'<p class="tt-who">Posting to TikTok as <b>{_esc(str(who))}</b>{_esc(handle)}</p>')
        offered = [str(x) for x in info.get("privacy_options") or []]
        levels = offered if levels is None else [x for x in levels if x in offered]
        for option, off, what in TIKTOK_LOCKS:
            if info.get(off):
                locked[option] = f"{who} turned {what} off in TikTok's settings"
        limit = info.get("max_duration_s")
        if not isinstance(limit, (int, float)):
            continue
        if isinstance(seconds, (int, float)) and seconds > limit:
            lines.append(f'<p class="cal-bad" role="alert">⚠ This short lasts {seconds:.0f} s; TikTok takes up to '
                         f"{limit:.0f} s from {_esc(str(who))}, so it would be refused. Choose a shorter short.</p>")
        else:
            notes.append(f"TikTok takes videos up to {limit:.0f} s long from {who}.")
    privacy = [(TIKTOK_PRIVACY.get(x, x.replace("_", " ").capitalize()), x) for x in levels or []]
    note_html = "".join(f"<li>{_esc(n)}</li>" for n in notes)
    return TikTokView("".join(lines) + f'<ul class="tt-notes">{note_html}</ul>', privacy, locked)


def tiktok_terms(disclose: bool, brands, privacy_level: str | None) -> str:
    """What posting means (TikTok's wording rules): the music confirmation, and with a disclosure, its label."""
    brands = set(brands or ()) if disclose else set()
    out = []
    if "brand_content" in brands:
        out.append("<p>Your video will be labelled “Paid partnership”.</p>")
    elif "brand_organic" in brands:
        out.append("<p>Your video will be labelled “Promotional content”.</p>")
    if disclose and not brands:
        out.append('<p class="cal-bad">Tick what it promotes: your brand, branded content, or both.</p>')
    if "brand_content" in brands and privacy_level == "SELF_ONLY":
        out.append('<p class="cal-bad" role="alert">⚠ Branded content cannot be “Only me”: choose who else can see '
                   "it.</p>")
    link = f'<a href="{MUSIC_TERMS}" target="_blank" rel="noopener noreferrer">Music Usage Confirmation</a>'
    if "brand_content" in brands:
        link = (f'<a href="{BRANDED_TERMS}" target="_blank" rel="noopener noreferrer">Branded Content Policy</a> '
                f"and {link}")
    out.append(f"<p>By posting, you agree to TikTok's {link}.</p>")
    return "".join(out)


# 4. one press, one post per ticked account -------------------------------------------------------------------
def plain(exc: StudioError) -> str:
    """An error in the words studio.ui_edit.plain_errors shows."""
    return f"{exc.message} {for_ui(exc)}".strip()


def schedule_all(schedule, form: ScheduleForm, platforms: list[dict], key: str) -> list[Outcome]:
    """One post per ticked account through ``schedule(spec, idempotency_key)`` (hooks.schedule for the caller). The
    key is the form's and the account's: pressing twice, or again after one account was refused, makes none twice."""
    known = accounts_by_id(platforms)
    out = []
    for connection_id in form.accounts:
        if connection_id not in known:  # gone since the form was drawn
            out.append(Outcome(connection_id, "An account", refused="It is no longer connected."))
            continue
        name, account = known[connection_id]
        label = account_label(name, account)
        try:
            spec = PostSpec(short_id=form.short_id, connection_id=connection_id, local_time=form.local_time,
                            timezone=form.timezone, text=form.text, options=options_for(name, form))
            post, made = schedule(spec, f"{key}:{connection_id}")
        except StudioError as exc:
            out.append(Outcome(connection_id, label, refused=plain(exc)))
            continue
        out.append(Outcome(connection_id, label, post, made))
    return out


def outcome_html(outcomes: list[Outcome], when: str, timezone: str, short_title: str = "") -> str:
    """What the press did, by account: scheduled, already scheduled (a second press), not scheduled and why."""
    made = [o for o in outcomes if o.post is not None and o.made]
    again = [o for o in outcomes if o.post is not None and not o.made]
    out = []
    for group, words in ((made, "Scheduled"), (again, "Already scheduled")):
        if group:
            post = group[0].post or {}
            title = (post.get("text") or {}).get("title") or short_title or "your short"
            names = ", ".join(o.label for o in group)
            out.append(f'<p class="cal-ok" role="status">✓ {words} “{_esc(title)}” for {_esc(when)} '
                       f"({_esc(timezone)}) to {_esc(names)}.</p>")
    for o in outcomes:
        if o.post is None:
            out.append(f'<p class="cal-bad" role="alert">✗ Not scheduled to {_esc(o.label)}: {_esc(o.refused)}</p>')
    return "".join(out)
