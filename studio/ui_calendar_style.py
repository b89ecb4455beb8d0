"""What the Calendar tab's HTML parts need in the page: their scoped styles (Gradio's ``css_template``) and the
script that lets a chip be dragged (``js_on_load`` of the calendar). The markup is studio.ui_calendar_html."""

# drag a waiting post's chip onto another day (month) or hour (week): the post moves there, keeping its minutes.
# A click or Enter on a chip picks it in the "move or cancel" form.
DRAG_JS = """
let dragged = null;
const clean = () => {
    element.querySelectorAll(".drop-here").forEach(x => x.classList.remove("drop-here"));
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
};
const slotOf = e => e.target instanceof Element ? e.target.closest("[data-slot]") : null;
element.addEventListener("dragstart", e => {
    const chip = e.target instanceof Element ? e.target.closest(".chip.movable") : null;
    if (!chip) return;
    dragged = chip;
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", chip.dataset.id);
    chip.classList.add("dragging");
});
element.addEventListener("dragend", clean);
element.addEventListener("dragover", e => {
    const slot = slotOf(e);
    if (!slot || !dragged) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = "move";
    element.querySelectorAll(".drop-here").forEach(x => { if (x !== slot) x.classList.remove("drop-here"); });
    slot.classList.add("drop-here");
});
element.addEventListener("drop", e => {
    const slot = slotOf(e);
    if (!slot || !dragged) return;
    e.preventDefault();
    const where = slot.dataset.slot, time = dragged.dataset.time;
    const to = where.length === 10 ? where + "T" + time : where + ":" + time.slice(3);
    const post = dragged.dataset.id, from = dragged.dataset.at;
    clean();
    if (to !== from) trigger("move", {post: post, to: to});
});
const pick = chip => trigger("pick", {post: chip.dataset.id});
element.addEventListener("click", e => {
    if (!(e.target instanceof Element) || e.target.closest("a")) return;
    const chip = e.target.closest(".chip");
    if (chip) pick(chip);
});
element.addEventListener("keydown", e => {
    const chip = e.target instanceof Element ? e.target.closest(".chip") : null;
    if (chip && (e.key === "Enter" || e.key === " ")) { e.preventDefault(); pick(chip); }
});
"""

# a platform's mark (its abbreviation on its own colour), in every part that names platforms
PF_CSS = """
.pf {display: inline-block; min-width: 1.9em; padding: 0 3px; margin-right: 2px; border-radius: 4px; color: #fff;
  font-size: 0.85em; font-weight: 700; line-height: 1.35; text-align: center; letter-spacing: 0.02em;
  vertical-align: 0.05em; text-decoration: none}
.pf-youtube {background: #cc0000}
.pf-instagram {background: #c13584}
.pf-facebook {background: #1877f2}
.pf-tiktok {background: #111; box-shadow: inset 0 -2px #25f4ee}
"""

CAL_CSS = PF_CSS + """
.cal {font-size: 15px}
.cal-head {display: flex; flex-wrap: wrap; align-items: baseline; gap: 4px 12px; margin-bottom: 6px}
.cal-head h3 {margin: 0; font-size: 1.15em}
.cal-zone, .cal-hint {font-size: 0.9em; opacity: 0.8; margin: 0 0 6px}
.cal-scroll {overflow-x: auto; border: 1px solid var(--border-color-primary); border-radius: 8px}
.cal-grid {display: grid; grid-template-columns: 3.4em repeat(7, minmax(7.2em, 1fr))}
.cal-grid > div {border-bottom: 1px solid var(--border-color-primary); min-width: 0}
.cal-slot {border-left: 1px solid var(--border-color-primary); min-height: 30px; padding: 2px}
.cal-hour, .cal-corner {position: sticky; left: 0; z-index: 1; background: var(--background-fill-primary);
  font-size: 0.8em; padding: 3px 4px 0 2px; font-variant-numeric: tabular-nums}
.cal-day {font-weight: 600; font-size: 0.9em; padding: 6px 4px; text-align: center;
  background: var(--background-fill-secondary)}
.cal-day.today, .cal-day.today span, .cal-cell.today .cal-date {color: var(--color-accent)}
.cal-slot.today {background: rgba(127, 127, 127, 0.06)}
.cal-month-grid {display: grid; grid-template-columns: repeat(7, minmax(0, 1fr));
  border: 1px solid var(--border-color-primary); border-radius: 8px; overflow: hidden}
.cal-cell {min-height: 84px; padding: 3px; border-top: 1px solid var(--border-color-primary);
  border-left: 1px solid var(--border-color-primary); min-width: 0}
.cal-cell.other {opacity: 0.55}
.cal-date {display: block; font-size: 0.85em; font-weight: 600}
.drop-here {outline: 2px dashed var(--color-accent); outline-offset: -2px; background: rgba(127, 127, 127, 0.12)}
.chip {display: block; margin: 2px 0; padding: 3px 5px; border-radius: 6px; border-left: 4px solid;
  font-size: 0.82em; line-height: 1.25; overflow: hidden; overflow-wrap: anywhere; cursor: pointer}
.chip.movable {cursor: grab}
.chip.dragging {opacity: 0.5}
.chip:focus-visible {outline: 2px solid var(--color-accent)}
.chip-time {font-weight: 700; font-variant-numeric: tabular-nums}
.chip-platform {opacity: 0.85}
.chip-title {display: block; white-space: nowrap; overflow: hidden; text-overflow: ellipsis}
.chip-status {display: block; font-weight: 600}
.chip-links {display: block}
.chip-msg {display: -webkit-box; -webkit-line-clamp: 3; -webkit-box-orient: vertical; overflow: hidden;
  font-size: 0.95em; margin-top: 1px}
.st-scheduled {border-color: #2563eb; background: rgba(37, 99, 235, 0.12)}
.st-publishing {border-color: #d97706; background: rgba(217, 119, 6, 0.16)}
.st-posted {border-color: #16a34a; background: rgba(22, 163, 74, 0.14)}
.st-failed, .st-reconnect {border-color: #dc2626; background: rgba(220, 38, 38, 0.14)}
.st-unconfirmed {border-color: #ea580c; background: rgba(234, 88, 12, 0.16)}
.st-waiting {border-color: #7c3aed; background: rgba(124, 58, 237, 0.13)}
.st-cancelled {border-color: #9ca3af; background: rgba(156, 163, 175, 0.12); text-decoration: line-through}
.cal-month .chip-platform {display: none}
.cal-list {list-style: none; padding: 0; margin: 12px 0 0}
.cal-list li {border-left-width: 4px; border-left-style: solid; border-radius: 6px; padding: 6px 8px; margin: 6px 0;
  overflow-wrap: anywhere}
.cal-list time {font-weight: 700; font-variant-numeric: tabular-nums}
.cal-list .badge {font-weight: 600; white-space: nowrap}
.cal-msg {display: block; margin: 4px 0 0; font-size: 0.92em}
.cal-empty {opacity: 0.8}
.cal-day .dow, .cal-day .dom {white-space: nowrap}
/* a phone: the whole week fits the screen; a chip is its time and status mark (the list under the grid has the
   words, and a tap on a chip picks it to move) */
@media (max-width: 600px) {
  .cal-grid {grid-template-columns: 1.7em repeat(7, minmax(0, 1fr))}
  .cal-hour {font-size: 0.8em; padding: 3px 0 0 2px}
  .cal-hour .mm {display: none}
  .cal-day {padding: 4px 0; font-size: 0.85em}
  .cal-day .dow, .cal-day .dom {display: block}
  .cal-day.today {text-decoration: underline; text-underline-offset: 3px}
  .today-word {display: none}
  .cal-slot {padding: 1px 0}
  /* a chip: the platform's mark and the status mark, the time under them (four posts at one hour stay apart) */
  .chip, .cal-month .chip {display: flex; flex-wrap: wrap; justify-content: center; align-items: center; gap: 1px;
    margin: 1px 0; padding: 2px 1px; border-left-width: 3px; font-size: 0.75em; border-radius: 4px}
  .chip-platform, .chip-title, .chip-status .words, .chip-links, .chip-msg {display: none}
  .chip .pf {order: 0; min-width: 0; margin: 0; padding: 0 2px; font-size: 1em}
  .chip-status {order: 1; font-size: 1.1em; line-height: 1}
  .chip-time {order: 2; flex-basis: 100%; text-align: center; white-space: nowrap; letter-spacing: -0.03em}
  .cal-cell {min-height: 60px; padding: 2px}
}
"""

ACCOUNTS_CSS = PF_CSS + """
.acct-platform {margin: 0 0 12px}
.acct-platform h3 {margin: 0 0 6px}
.acct-notes {margin: 0 0 8px 1.1em; padding: 0; font-size: 0.92em}
.acct-notes li {margin: 2px 0}
.acct-list {list-style: none; margin: 0 0 8px; padding: 0}
.acct {padding: 6px 8px; margin: 4px 0; border-radius: 6px; border-left: 4px solid; overflow-wrap: anywhere}
.acct-ok {border-color: #16a34a; background: rgba(22, 163, 74, 0.12)}
.acct-bad {border-color: #dc2626; background: rgba(220, 38, 38, 0.14); font-size: 1.05em}
.acct-off {padding: 6px 8px; border-radius: 6px; background: rgba(217, 119, 6, 0.16)}
.acct-btn {display: inline-block; margin: 4px 0; padding: 8px 14px; border-radius: 8px; font-weight: 600;
  text-decoration: none; background: var(--button-primary-background-fill);
  color: var(--button-primary-text-color) !important}
"""

NOTICE_CSS = """
.cal-ok, .cal-bad {padding: 8px 10px; border-radius: 8px; margin: 0 0 8px; border-left: 4px solid}
.cal-ok {border-color: #16a34a; background: rgba(22, 163, 74, 0.12)}
.cal-bad {border-color: #dc2626; background: rgba(220, 38, 38, 0.14)}
"""

FORM_CSS = PF_CSS + """
.cal-pf-head {margin: 4px 0 0; font-size: 1.05em}
.tt-who {margin: 0 0 4px; font-size: 1.05em}
.tt-notes {margin: 4px 0 0 1.1em; padding: 0; font-size: 0.92em}
p {margin: 4px 0}
a {padding: 0 !important; margin: 0 !important}
"""
