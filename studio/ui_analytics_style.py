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
