"""The Calendar tab (hosted studio, signed-in creators): connect accounts, schedule a short to several of them at
once (each ticked platform asks its own questions), and see every post on a week or month calendar in the creator's
own time zone, each with its own status; drag a waiting post to another day or hour to move it (or pick it and change
its time: touch and keyboard), cancel it.

Everything goes through the same services as /api/connections and /api/posts (studio.ui_hooks); connecting is the
plain link /studio/connect/<platform> (studio/web.py), which starts the platform's OAuth flow in this browser. The
grids are drawn by studio.ui_calendar_html; the schedule form's rules are studio.ui_calendar_form."""

from __future__ import annotations

import html
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, available_timezones

import gradio as gr

from models.errors import InvalidRequest, StudioError
from studio.remedies import for_ui
from studio.ui_calendar_form import (
    BRANDS,
    TIKTOK_LOCKS,
    ScheduleForm,
    TikTokChoice,
    account_choices,
    account_label,
    accounts_by_id,
    outcome_html,
    schedule_all,
    ticked_platforms,
    tiktok_terms,
    tiktok_view,
)
from studio.ui_calendar_html import (
    accounts_html,
    calendar_html,
    connect_notice,
    local_of,
    movable,
    platform_heading,
    shift,
    status_of,
    title_of,
    window,
    words_of,
)
from studio.ui_calendar_style import ACCOUNTS_CSS, CAL_CSS, DRAG_JS, FORM_CSS, NOTICE_CSS
from studio.ui_edit import plain_errors

FALLBACK_ZONE = "UTC"
IN_FLIGHT = ("claimed", "publishing")
AI_LABEL_INFO = ("The platforms ask creators to say when realistic content is made or altered with AI (YouTube's "
                 "\"altered or synthetic content\", TikTok's \"AI-generated\" label). The studio's voices and pictures "
                 "are AI-made, so this is on; turn it off only if nothing in the short could be taken for real.")
TEXT_INFO = ("Each platform gets its own text from the short unless you change it here; changed text goes to every "
             "ticked account.")

# the browser's own time zone (shown, changeable) and the page's ?connected=… after a connect; the address is then
# cleaned so a reload does not say it again
OPENED_JS = """(zone, query, view, anchor, day, short, targets) => {
    const own = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
    const q = window.location.search;
    if (/[?&](connected|connect_error)=/.test(q)) history.replaceState(null, "", window.location.pathname);
    return [zone || own, q, view, anchor, day, short, targets];
}"""

# on every page load: back from connecting an account, open this tab
OPEN_AFTER_CONNECT_JS = """() => {
    if (!/[?&](connected|connect_error)=/.test(window.location.search)) return;
    let tries = 0;
    const open = () => {
        // on a narrow screen the tab sits in the tab bar's "More tabs" menu, as a button without the id
        const button = document.getElementById("calendar-tab-button") || [...document.querySelectorAll(
            ".overflow-dropdown button")].find(b => b.textContent.trim() === "Calendar");
        if (button) button.click(); else if (tries++ < 50) setTimeout(open, 100);
    };
    open();
}"""


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or FALLBACK_ZONE)
    except (ValueError, KeyError):  # zoneinfo's not-found error is a KeyError
        raise InvalidRequest(f"Unknown time zone {str(name)[:60]!r}.", "Choose one from the list.") from None


def _today(zone: ZoneInfo) -> date:
    return datetime.now(UTC).astimezone(zone).date()


def _anchor(text: str | None, zone: ZoneInfo) -> date:
    try:
        return date.fromisoformat((text or "")[:10])
    except ValueError:
        return _today(zone)


def _time_of_day(text: str) -> str:
    try:
        return f"{datetime.strptime((text or '').strip(), '%H:%M'):%H:%M}"
    except ValueError:
        raise InvalidRequest(f"{(text or '')[:20]!r} is not a time of day.", "Write it as 09:00 (24-hour).") from None


def _day(value) -> str:
    """A date from the date picker ("2026-05-05", or with a time after it)."""
    text = str(value or "").strip()[:10]
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise InvalidRequest("Choose a date.", "Pick it in the calendar next to the date box.") from None


def build_calendar_tab(hooks, demo: gr.Blocks) -> None:
    """Lay out the Calendar tab inside ``demo`` (only where creators have accounts)."""
    if not hooks.accounts_on:
        return
    zones = sorted(available_timezones())

    with gr.Tab("Calendar", elem_id="calendar-tab") as tab:
        query = gr.Textbox(visible=False)
        notice = gr.HTML("", elem_id="cal-notice", css_template=NOTICE_CSS, js_on_load=None)
        zone = gr.Dropdown(zones, value=None, label="Your time zone", elem_id="cal-zone", allow_custom_value=True,
                           info="Your browser's own at first. Times you schedule, and the calendar, are in it.")
        with gr.Accordion("Accounts", open=True, elem_id="cal-accounts-box") as accounts_box:
            accounts = gr.HTML("", elem_id="cal-accounts", css_template=ACCOUNTS_CSS, js_on_load=None)
            with gr.Row():
                slot_account = gr.Dropdown([], label="Preset times for", min_width=200, elem_id="cal-slot-account")
                slot_text = gr.Textbox(label="Preset times (24-hour, comma-separated)", placeholder="09:00, 18:30",
                                       min_width=200, elem_id="cal-slot-text")
                save_slots = gr.Button("Save times", min_width=100, scale=0, elem_id="cal-save-slots")
        with gr.Accordion("Schedule a short", open=True, elem_id="cal-form") as form_box:
            short = gr.Dropdown([], label="Short", elem_id="cal-short")
            targets = gr.CheckboxGroup([], label="Post to (tick one or more accounts)", elem_id="cal-account")
            with gr.Row():
                day = gr.DateTime(include_time=False, type="string", label="Date", min_width=150, elem_id="cal-day")
                at = gr.Textbox(label="Time (24-hour, your time zone)", placeholder="09:00", min_width=110,
                                elem_id="cal-time")
            slot_pick = gr.Radio([], label="Preset times of the ticked accounts", visible=False, elem_id="cal-slots")
            title = gr.Textbox(label="Title", elem_id="cal-title", info=TEXT_INFO)
            caption = gr.Textbox(label="Caption (as posted, hashtags included)", lines=3, max_lines=12,
                                 elem_id="cal-caption")
            hashtags = gr.Textbox(label="Hashtags (sent as the video's tags)", elem_id="cal-tags")
            ai = gr.Checkbox(value=True, label="Label it as AI-generated content", info=AI_LABEL_INFO,
                             elem_id="cal-ai")
            with gr.Column(visible=False, variant="panel", elem_id="cal-yt", elem_classes="cal-platform-box") as yt_box:
                gr.HTML(platform_heading("youtube", "YouTube"), css_template=FORM_CSS, js_on_load=None)
                privacy = gr.Radio([("Public", "public"), ("Unlisted", "unlisted"), ("Private", "private")],
                                   value="public", label="Who can see it once it goes out", elem_id="cal-privacy")
                kids = gr.Radio([("No, it is not made for kids", "no"), ("Yes, it is made for kids", "yes")],
                                value=None, label="Made for kids? (YouTube requires an answer)", elem_id="cal-kids")
            with gr.Column(visible=False, variant="panel", elem_id="cal-ig", elem_classes="cal-platform-box") as ig_box:
                gr.HTML(platform_heading("instagram", "Instagram"), css_template=FORM_CSS, js_on_load=None)
                ig_feed = gr.Checkbox(value=True, label="Also show in the profile grid", elem_id="cal-ig-feed",
                                      info="Off: the Reel shows in the Reels tab only.")
            with gr.Column(visible=False, variant="panel", elem_id="cal-tt", elem_classes="cal-platform-box") as tt_box:
                gr.HTML(platform_heading("tiktok", "TikTok"), css_template=FORM_CSS, js_on_load=None)
                tt_about = gr.HTML("", elem_id="cal-tt-about", css_template=FORM_CSS + NOTICE_CSS, js_on_load=None)
                tt_privacy = gr.Radio([], value=None, label="Who can see it on TikTok (choose one: nothing is chosen "
                                      "for you)", elem_id="cal-tt-privacy")
                tt_allow = [gr.Checkbox(value=False, label=words, elem_id=f"cal-tt-{name}") for name, words in
                            (("allow_comment", "Allow comments"), ("allow_duet", "Allow Duet"),
                             ("allow_stitch", "Allow Stitch"))]
                tt_disclose = gr.Checkbox(value=False, label="Disclose commercial content", elem_id="cal-tt-disclose",
                                          info="Turn on if this short promotes you, a brand, a product or a service.")
                tt_brands = gr.CheckboxGroup(list(BRANDS), value=[], label="What it promotes", visible=False,
                                             elem_id="cal-tt-brands",
                                             info="Your brand: yourself or your own business. Branded content: "
                                                  "another brand, paid or in exchange for something.")
                tt_terms = gr.HTML(tiktok_terms(False, (), None), elem_id="cal-tt-terms",
                                   css_template=FORM_CSS + NOTICE_CSS, js_on_load=None)
            go = gr.Button("Schedule", variant="primary", elem_id="cal-schedule")
            said = gr.HTML("", elem_id="cal-said", css_template=NOTICE_CSS, js_on_load=None)
        with gr.Row(elem_id="cal-nav"):
            view = gr.Radio([("Week", "week"), ("Month", "month")], value="week", show_label=False, min_width=160,
                            elem_id="cal-viewpick", container=False)
            with gr.Row():
                prev = gr.Button("‹ Earlier", size="sm", min_width=60, elem_id="cal-prev")
                today = gr.Button("Today", size="sm", min_width=60, elem_id="cal-today")
                after = gr.Button("Later ›", size="sm", min_width=60, elem_id="cal-next")
                refresh = gr.Button("Refresh", size="sm", min_width=60, elem_id="cal-refresh")
        moved = gr.HTML("", elem_id="cal-moved", css_template=NOTICE_CSS, js_on_load=None)
        anchor = gr.Textbox(visible=False)  # the day the calendar shows (ISO); a page value, read by OPENED_JS
        cal = gr.HTML("", elem_id="cal-view", js_on_load=DRAG_JS, css_template=CAL_CSS)
        with gr.Accordion("Move or cancel a waiting post", open=True, elem_id="cal-move-box"):
            pick = gr.Dropdown([], label="Post", elem_id="cal-pick", allow_custom_value=True)
            with gr.Row():
                move_day = gr.DateTime(include_time=False, type="string", label="New date", min_width=150,
                                       elem_id="cal-move-day")
                move_at = gr.Textbox(label="New time (24-hour)", placeholder="10:00", min_width=110,
                                     elem_id="cal-move-time")
            with gr.Row():
                move = gr.Button("Move", variant="primary", min_width=100, elem_id="cal-move")
                drop = gr.Button("Cancel this post", variant="stop", min_width=120, elem_id="cal-cancel")
        # the schedule form's Idempotency-Key (each account's post adds its id), new for each page and after each
        # press that scheduled: a double click schedules once
        key = gr.State(lambda: uuid.uuid4().hex)
        prefilled = gr.State(None)  # the text last filled in from post.json: unchanged, each platform gets its own
        timer = gr.Timer(10, active=False)  # while a post in view is being posted, or soon due

    # -- drawing -----------------------------------------------------------------------------------------------
    def labels(platforms: list[dict]) -> dict[str, str]:
        return {p["name"]: p["label"] for p in platforms}

    def drawn(who, view_name: str, anchor_text: str, zone_name: str, platforms: list[dict] | None = None,
              keep_pick: bool = False):
        """The calendar, the waiting posts to pick from (the one picked stays picked with ``keep_pick``: a refresh
        must not undo what the creator is choosing), and whether to look again soon."""
        z = _zone(zone_name)
        platforms = hooks.platforms(who) if platforms is None else platforms
        win = window(view_name, _anchor(anchor_text, z), z)
        posts = hooks.posts(who, win.start, win.end)
        reconnect = {a["id"] for p in platforms for a in p["accounts"] if a["status"] != "active"}
        names = labels(platforms)
        choices = [(f"{local_of(p, z):%a %d %b %H:%M} · {title_of(p)} · {names.get(p['platform'], p['platform'])}"
                    f" · {words_of(p, status_of(p, reconnect), names)}", p["id"]) for p in posts if movable(p)]
        soon = datetime.now(UTC) + timedelta(hours=3)
        busy = any(p["status"] in IN_FLIGHT or (p["status"] == "scheduled" and local_of(p, UTC) <= soon)
                   for p in posts)
        grid = calendar_html(posts, win, _today(z), reconnect=reconnect, labels=names)
        picks = gr.Dropdown(choices=choices) if keep_pick else gr.Dropdown(choices=choices, value=None)
        return grid, picks, gr.Timer(active=busy), win.anchor.isoformat()

    # -- events ------------------------------------------------------------------------------------------------
    @plain_errors
    def opened(zone_name, page_query, view_name, anchor_text, day_value, short_id, ticked, request: gr.Request):
        """The tab shown: accounts, shorts, the calendar; after a connect, what happened."""
        who = hooks.account(request)
        zone_name = zone_name if zone_name in zones else FALLBACK_ZONE
        platforms = hooks.platforms(who)
        slots = hooks.slots(who)
        accts = account_choices(platforms)
        ids = [a for _, a in accts]
        # what was ticked stays ticked; at first, the account connected last
        ticked = [a for a in ticked or [] if a in ids] or ids[-1:]
        shorts = [(f"{s['title'] or s['id']} · {s['created']}", s["id"]) for s in hooks.my_shorts(who)]
        short_id = short_id if short_id in {v for _, v in shorts} else (shorts[0][1] if shorts else None)
        tomorrow = (_today(_zone(zone_name)) + timedelta(days=1)).isoformat()
        # once an account is connected and posts are planned, the calendar matters most (on a phone it would be far
        # below): the accounts panel and the form fold, unless an account needs attention or one was just connected
        attention = not ids or any(a["status"] != "active" for p in platforms for a in p["accounts"])
        planned = bool(hooks.posts(who, datetime.now(UTC), None))
        first = ids[-1] if ids else None
        return (zone_name, "", connect_notice(page_query, platforms), gr.Accordion(open=attention or bool(page_query)),
                gr.Accordion(open=not planned or bool(page_query)), accounts_html(platforms, slots),
                gr.Dropdown(choices=accts, value=first), ", ".join(slots.get(first or "", [])),
                gr.CheckboxGroup(choices=accts, value=ticked),
                gr.Dropdown(choices=shorts, value=short_id), day_value or tomorrow,
                *drawn(who, view_name, anchor_text, zone_name, platforms))

    def edited(title_text, caption_text, tags, filled) -> bool:
        """The creator wrote the text (it is not what post.json filled in): it goes to every ticked account."""
        mine = [title_text or "", caption_text or "", tags or ""]
        return any(mine) and mine != list(filled or [])

    def offered_slots(slots: dict[str, list[str]], ticked) -> gr.Radio:
        times = sorted({t for a in ticked or [] for t in slots.get(a, [])})
        return gr.Radio(choices=times, value=None, visible=bool(times))

    @plain_errors
    def prefill(short_id, ticked, title_text, caption_text, tags, filled, request: gr.Request):
        """A short or the accounts chosen: the first ticked platform's text from the short's post.json (unless the
        creator changed the text: that is kept), and the ticked accounts' preset times."""
        who = hooks.account(request)
        ticked = list(ticked or [])
        same = gr.update()
        text = hooks.post_text(who, short_id, ticked[0]) if short_id and ticked else None
        if text is None or edited(title_text, caption_text, tags, filled):
            return offered_slots(hooks.slots(who), ticked), same, same, same, filled
        new = (text["title"], text["caption"], " ".join(text["hashtags"]))
        return (offered_slots(hooks.slots(who), ticked), *new, list(new))

    @plain_errors
    def options_shown(short_id, ticked, tt_level, request: gr.Request):
        """Each ticked platform's own questions; TikTok's asked from TikTok now, for each ticked TikTok account."""
        who = hooks.account(request)
        platforms = hooks.platforms(who)
        names = ticked_platforms(platforms, ticked)
        boxes = [gr.Column(visible=name in names) for name in ("youtube", "instagram", "tiktok")]
        if "tiktok" not in names:
            return *boxes, gr.update(), gr.update(), *(gr.update() for _ in TIKTOK_LOCKS)
        known = accounts_by_id(platforms)
        answers: list = []
        for a in ticked:
            if known.get(a, ("",))[0] != "tiktok":
                continue
            try:
                answers.append((account_label("tiktok", known[a][1]), hooks.posting_info(who, a)))
            except StudioError as exc:  # TikTok down, or the account needs reconnecting: said by its choice
                answers.append((account_label("tiktok", known[a][1]), exc))
        shown = tiktok_view(answers, hooks.short_seconds(who, short_id) if short_id else None)
        levels = [v for _, v in shown.privacy]
        # the creator's own choices are never set back to what they were when this look started: ticking a second
        # account while TikTok answers for the first, the answer arrives after they chose. A level is cleared only
        # when TikTok no longer offers it, a toggle only when the creator turned it off on TikTok.
        checks = [gr.Checkbox(value=False, interactive=False, info=shown.locked[name] + ".") if name in shown.locked
                  else gr.Checkbox(interactive=True, info=None) for name, _, _ in TIKTOK_LOCKS]
        level = gr.Radio(choices=shown.privacy) if tt_level in (None, *levels) else \
            gr.Radio(choices=shown.privacy, value=None)
        return (*boxes, shown.about, level, *checks)

    @plain_errors
    def schedule(short_id, ticked, day_value, time_text, zone_name, title_text, caption_text, tags, filled, ai_value,
                 privacy_value, kids_value, feed, tt_level, comment, duet, stitch, disclose, brands, idem, view_name,
                 request: gr.Request):
        """One post per ticked account; one refused is said by name and the others still go."""
        who = hooks.account(request)
        if not short_id:
            raise InvalidRequest("Choose one of your shorts to post.", "Make one in the Create tab first.")
        if not ticked:
            raise InvalidRequest("Tick the accounts to post to.", "Connect one in Accounts above first.")
        local = f"{_day(day_value)}T{_time_of_day(time_text)}"
        own = {"title": title_text or "", "caption": caption_text or "", "hashtags": (tags or "").split()}
        form = ScheduleForm(
            short_id=short_id, accounts=tuple(ticked), local_time=local, timezone=zone_name or "",
            text=own if edited(title_text, caption_text, tags, filled) else None,
            synthetic_media=bool(ai_value), privacy=privacy_value or "public",
            made_for_kids={"yes": True, "no": False}.get(kids_value), share_to_feed=bool(feed),
            tiktok=TikTokChoice(tt_level or None, bool(comment), bool(duet), bool(stitch), bool(disclose),
                                tuple(brands or ())))
        platforms = hooks.platforms(who)
        outcomes = schedule_all(lambda spec, k: hooks.schedule(who, spec, k), form, platforms, idem or uuid.uuid4().hex)
        refused = [o.connection_id for o in outcomes if o.post is None]
        # after a press, only the refused accounts stay ticked (fix them and press again); the next press is new
        left = gr.CheckboxGroup(value=refused) if refused else gr.update()
        named = next((s["title"] for s in hooks.my_shorts(who) if s["id"] == short_id), "")
        return (outcome_html(outcomes, local.replace("T", " at "), form.timezone, named), uuid.uuid4().hex, left,
                *drawn(who, view_name, local[:10], zone_name, platforms))

    @plain_errors
    def redraw(view_name, anchor_text, zone_name, request: gr.Request):
        return drawn(hooks.account(request), view_name, anchor_text, zone_name, keep_pick=True)

    def stepper(step: int):
        @plain_errors
        def go_to(view_name, anchor_text, zone_name, request: gr.Request):
            z = _zone(zone_name)
            target = _today(z) if step == 0 else shift(view_name, _anchor(anchor_text, z), step)
            return drawn(hooks.account(request), view_name, target.isoformat(), zone_name)

        return go_to

    def _move(who, post_id: str, local: str, zone_name: str, view_name: str, anchor_text: str):
        post = hooks.reschedule(who, post_id, local, zone_name)
        words = f"✓ Moved “{title_of(post)}” to {local.replace('T', ' at ')} ({zone_name})."
        return (f'<p class="cal-ok" role="status">{html.escape(words)}</p>',
                *drawn(who, view_name, anchor_text, zone_name))

    @plain_errors
    def dropped(view_name, anchor_text, zone_name, evt: gr.EventData, request: gr.Request):
        """A chip dropped on another day or hour (the page sends the post and its new wall time)."""
        data = evt._data if isinstance(evt._data, dict) else {}
        post_id, to = str(data.get("post", ""))[:40], str(data.get("to", ""))[:16]
        local = f"{_day(to[:10])}T{_time_of_day(to[11:16])}"
        return _move(hooks.account(request), post_id, local, zone_name, view_name, anchor_text)

    @plain_errors
    def moved_by_hand(post_id, day_value, time_text, view_name, anchor_text, zone_name, request: gr.Request):
        if not post_id:
            raise InvalidRequest("Choose the post to move.", "Pick it in the list, or click its chip.")
        local = f"{_day(day_value)}T{_time_of_day(time_text)}"
        return _move(hooks.account(request), post_id, local, zone_name, view_name, anchor_text)

    @plain_errors
    def cancelled(post_id, view_name, anchor_text, zone_name, request: gr.Request):
        if not post_id:
            raise InvalidRequest("Choose the post to cancel.", "Pick it in the list, or click its chip.")
        who = hooks.account(request)
        post = hooks.cancel_post(who, post_id)
        words = f"Cancelled “{title_of(post)}”: it will not be posted."
        return (f'<p class="cal-ok" role="status">{html.escape(words)}</p>',
                *drawn(who, view_name, anchor_text, zone_name))

    @plain_errors
    def picked_chip(zone_name, evt: gr.EventData, request: gr.Request):
        data = evt._data if isinstance(evt._data, dict) else {}
        return when_of(str(data.get("post", ""))[:40], zone_name, request, from_chip=True)

    def when_of(post_id, zone_name, request: gr.Request, from_chip: bool = False):
        """A post picked: its date and time in the shown zone, to change."""
        if not post_id:
            return gr.update(), gr.update(), gr.update()
        try:
            post = hooks.post(hooks.account(request), post_id)
        except StudioError as exc:
            raise gr.Error(f"{exc.message} {for_ui(exc)}".strip()) from None
        at = local_of(post, _zone(zone_name))
        if not movable(post):
            if from_chip:
                return gr.update(), gr.update(), gr.update()
            raise gr.Error("This post is not waiting any more, so it cannot be moved.")
        return gr.update(value=post_id) if from_chip else gr.update(), at.date().isoformat(), f"{at:%H:%M}"

    @plain_errors
    def slots_of(account_id, request: gr.Request):
        return ", ".join(hooks.slots(hooks.account(request)).get(account_id or "", []))

    @plain_errors
    def saved_slots(account_id, text, ticked, request: gr.Request):
        """An account's preset times saved; the form offers them at once when that account is ticked."""
        if not account_id:
            raise InvalidRequest("Choose the account whose preset times these are.")
        who = hooks.account(request)
        times = [t for t in (text or "").replace(";", ",").split(",") if t.strip()]
        kept = hooks.set_slots(who, account_id, times)
        slots = hooks.slots(who)
        return accounts_html(hooks.platforms(who), slots), ", ".join(kept), offered_slots(slots, ticked)

    # -- wiring ------------------------------------------------------------------------------------------------
    demo.load(None, js=OPEN_AFTER_CONNECT_JS)
    shown = [cal, pick, timer, anchor]
    where = [view, anchor, zone]
    tab.select(opened, [zone, query, view, anchor, day, short, targets],
               [zone, query, notice, accounts_box, form_box, accounts, slot_account, slot_text, targets, short, day,
                *shown],
               js=OPENED_JS, api_visibility="private")
    for changed in (short.change, targets.change):  # chosen by the creator, or set when the tab opens
        changed(prefill, [short, targets, title, caption, hashtags, prefilled],
                [slot_pick, title, caption, hashtags, prefilled], api_visibility="private")
        changed(options_shown, [short, targets, tt_privacy], [yt_box, ig_box, tt_box, tt_about, tt_privacy,
                *tt_allow], api_visibility="private", show_progress_on=[tt_about])
    tt_disclose.change(lambda on: gr.CheckboxGroup(visible=True) if on else gr.CheckboxGroup(visible=False, value=[]),
                       tt_disclose, tt_brands, api_visibility="private")
    for changed in (tt_disclose.change, tt_brands.change, tt_privacy.change):
        changed(tiktok_terms, [tt_disclose, tt_brands, tt_privacy], tt_terms, api_visibility="private",
                show_progress="hidden")
    slot_pick.input(lambda chosen: chosen or gr.update(), slot_pick, at, api_visibility="private")
    # a refusal shows once, by the part that was pressed (not over the calendar too)
    go.click(schedule, [short, targets, day, at, zone, title, caption, hashtags, prefilled, ai, privacy, kids, ig_feed,
                        tt_privacy, *tt_allow, tt_disclose, tt_brands, key, view],
             [said, key, targets, *shown], api_visibility="private", show_progress_on=[said])
    for trigger in (view.input, zone.input, refresh.click, timer.tick):
        trigger(redraw, where, shown, api_visibility="private", show_progress="hidden")
    for button, step in ((prev, -1), (today, 0), (after, 1)):
        button.click(stepper(step), where, shown, api_visibility="private", show_progress="hidden")
    cal.move(dropped, where, [moved, *shown], api_visibility="private", show_progress_on=[moved])
    cal.pick(picked_chip, zone, [pick, move_day, move_at], api_visibility="private", show_progress="hidden")
    pick.input(when_of, [pick, zone], [pick, move_day, move_at], api_visibility="private", show_progress="hidden")
    move.click(moved_by_hand, [pick, move_day, move_at, *where], [moved, *shown], api_visibility="private",
               show_progress_on=[moved])
    drop.click(cancelled, [pick, *where], [moved, *shown], api_visibility="private", show_progress_on=[moved])
    slot_account.input(slots_of, slot_account, slot_text, api_visibility="private")
    save_slots.click(saved_slots, [slot_account, slot_text, targets], [accounts, slot_text, slot_pick],
                     api_visibility="private")
