"""What the Analytics tab needs in the page: the scoped styles of its words (Gradio's ``css_template``) and, for the
whole page, plots that fit the screen (a figure is 720 px wide; on a phone it is shown at the column's width)."""

# page-wide (studio.ui.UI_CSS): a gr.Plot's matplotlib image is drawn at its own size unless told otherwise
PLOT_CSS = """
.an-plot img {max-width: min(100%, 480px); height: auto; display: block; margin: 0 auto}
.an-plot {min-height: 0}
.an-plots {align-items: flex-start}
#an-section .wrap {gap: 6px}
#an-top {align-items: flex-end}
"""

ANALYTICS_CSS = """
.an-said {margin: 4px 0 8px; line-height: 1.45}
.an-meta {margin: 2px 0; font-size: 0.9em; opacity: 0.8}
.an-exps {display: flex; flex-direction: column; gap: 10px}
.an-exp {border-left: 4px solid #0072B2; border-radius: 6px; padding: 6px 10px;
  background: var(--background-fill-secondary); overflow-wrap: anywhere}
.an-exp h4 {margin: 0 0 2px; font-size: 1.05em}
.an-verdict {margin: 4px 0 0}
.an-verdict.an-lead {font-weight: 600}
.an-reasons {padding-left: 1.3em; margin: 6px 0}
.an-reasons li {margin: 0 0 12px}
.an-reasons h4 {margin: 0 0 2px; font-size: 1.05em}
.an-num {margin: 0 0 2px; font-variant-numeric: tabular-nums}
.an-tip {margin: 2px 0 0; opacity: 0.9}
.an-num, .an-tip {display: block}
"""

# the Import section: the file picker as a button, the first rows as a small table that scrolls inside its own box
IMPORT_CSS = """
.an-pick {display: block; position: relative; cursor: pointer}
.an-pick input[type=file] {position: absolute; inset: 0; width: 100%; height: 100%; opacity: 0; cursor: pointer}
.an-pick-btn {display: block; text-align: center; padding: 12px; border-radius: 8px; font-weight: 600;
  border: 2px dashed var(--border-color-primary); background: var(--background-fill-secondary)}
.an-pick:focus-within .an-pick-btn {outline: 2px solid #0072B2; outline-offset: 2px}
.an-meta {margin: 6px 0 0; font-size: 0.9em; opacity: 0.8}
.an-refused {margin: 6px 0; padding: 8px 10px; border-left: 4px solid #D55E00; border-radius: 6px;
  background: var(--background-fill-secondary); overflow-wrap: anywhere}
.an-stored {font-weight: 600}
.an-said {overflow-wrap: anywhere}
.an-imp-notes {margin: 4px 0 8px; padding-left: 1.2em; font-size: 0.92em; overflow-wrap: anywhere}
.an-imp-notes li {margin: 0 0 3px}
.an-imp-rows {max-width: 100%; overflow-x: auto}
.an-imp-rows table {border-collapse: collapse; border: none; font-size: 0.85em; width: 100%; margin: 0}
.an-imp-rows caption {text-align: left; font-size: 1em; opacity: 0.8; padding-bottom: 4px}
.an-imp-rows th, .an-imp-rows td {padding: 4px 5px; border-style: solid; border-width: 0 0 1px 0;
  border-color: var(--border-color-primary); text-align: left; vertical-align: top}
.an-imp-rows td:nth-child(n+3), .an-imp-rows th:nth-child(n+3) {text-align: right; white-space: nowrap}
.an-imp-rows td:first-child {min-width: 6.5em; overflow-wrap: anywhere}
"""
