package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// scenarioTimeout bounds one test's browsing, so that a page that never shows
// what the test waits for fails the test instead of hanging it.
const scenarioTimeout = 60 * time.Second

// browser is one test's tab, in a browser context of its own: it shares no
// cookies with the other tests.
type browser struct {
	t   *testing.T
	ctx context.Context
}

// newBrowser opens a fresh browser context with one tab. It is closed when
// the test ends.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	requireBrowser(t)
	tabCtx, closeTab := chromedp.NewContext(browserCtx, chromedp.WithNewBrowserContext())
	// Open the tab with its own context: the tab lives as long as the
	// context of its first action, and the timeout below must not close it
	// before a failing test has saved what it shows.
	if err := chromedp.Do(tabCtx); err != nil {
		closeTab()
		t.Fatalf("opening a tab: %v", err)
	}
	ctx, cancel := context.WithTimeout(tabCtx, scenarioTimeout)
	t.Cleanup(func() {
		cancel()
		if t.Failed() {
			saveFailure(tabCtx, t)
		}
		closeTab()
	})
	return &browser{t: t, ctx: ctx}
}

// saveFailure keeps what the tab showed when the test failed, next to the
// app's log, for whoever reads the CI output.
func saveFailure(tabCtx context.Context, t *testing.T) {
	ctx, cancel := context.WithTimeout(tabCtx, 5*time.Second)
	defer cancel()
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	path := filepath.Join(artifactsDir, "failed-"+t.Name()+".png")
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		if err := os.WriteFile(path, png, 0o644); err == nil {
			t.Logf("the tab showed %s when the test failed: %s", loc, path)
		}
	}
	t.Logf("the app's log: %s", app.logPath)
}

// do runs actions that return nothing, failing the test on an error.
func (b *browser) do(actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	require.NoError(b.t, chromedp.Do(b.ctx, actions...))
}

// open loads url and waits for the page to load.
func (b *browser) open(url string) {
	b.t.Helper()
	b.load(chromedp.Navigate(url))
}

// click clicks the element with the given id and waits for the page it leads
// to, through any redirects, to load.
func (b *browser) click(id string) {
	b.t.Helper()
	b.load(chromedp.Click(chromedp.ID(id)))
}

// load runs an action that navigates and waits until the new page has
// loaded; the final response must be a 200.
func (b *browser) load(action chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, action)
	require.NoError(b.t, err)
	require.NotNil(b.t, resp, "no page loaded")
	require.EqualValues(b.t, 200, resp.Status, "%s answered %d %s", resp.URL, resp.Status, resp.StatusText)
}

// location is the URL of the page the tab shows.
func (b *browser) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(b.t, err)
	return loc
}

// text waits for the element matching the CSS selector to be visible and
// returns its text.
func (b *browser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
	require.NoError(b.t, err, "reading %s on %s", sel, b.location())
	return strings.TrimSpace(s)
}

// attr waits for the element matching the CSS selector and returns one of
// its attributes.
func (b *browser) attr(sel, name string) string {
	b.t.Helper()
	res, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	require.NoError(b.t, err, "reading %s of %s on %s", name, sel, b.location())
	require.True(b.t, res.Exists, "%s has no attribute %s", sel, name)
	return res.Value
}

// waitVisible waits until the element matching the CSS selector is visible,
// across page loads.
func (b *browser) waitVisible(sel string) {
	b.t.Helper()
	require.NoError(b.t, chromedp.Do(b.ctx, chromedp.WaitVisible(chromedp.CSS(sel))), "waiting for %s on %s", sel, b.location())
}

// count returns how many elements of the loaded page match the CSS selector.
func (b *browser) count(sel string) int {
	b.t.Helper()
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](fmt.Sprintf("document.querySelectorAll(%q).length", sel)))
	require.NoError(b.t, err)
	return n
}

// screenshot saves the whole page as artifacts/name.png.
func (b *browser) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100: PNG
	require.NoError(b.t, err)
	path := filepath.Join(artifactsDir, name+".png")
	require.NoError(b.t, os.WriteFile(path, png, 0o644))
	b.t.Logf("screenshot: %s", path)
}

// fetchResult is what the page's fetch call answered.
type fetchResult struct {
	Status int            `json:"status"`
	Body   map[string]any `json:"body"`
}

// fetchJSON makes a request from the page, with its cookies, asking for JSON,
// as the app's own scripts would.
func (b *browser) fetchJSON(method, path string) fetchResult {
	b.t.Helper()
	js := fmt.Sprintf(`fetch(%q, {method: %q, headers: {Accept: "application/json"}})
		.then(async r => ({status: r.status, body: await r.json()}))`, path, method)
	res, err := chromedp.Run(b.ctx, chromedp.Evaluate[fetchResult](js, chromedp.EvalAwaitPromise))
	require.NoError(b.t, err, "%s %s", method, path)
	return res
}

// phoneWidth is the narrowest screen the hosted pages are checked on: an
// iPhone SE or mini, in CSS pixels.
const phoneWidth = 375

// minEdgeMargin is the least room, in CSS pixels, that text and controls
// keep from the left and right edges of a phone's screen.
const minEdgeMargin = 12

// onPhone makes the tab a phone's screen, phoneWidth wide, at twice the
// pixel density so that its screenshots are sharp.
func (b *browser) onPhone() {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(phoneWidth, 812, chromedp.EmulateMobile, chromedp.EmulateTouch, chromedp.EmulateScale(2)))
}

// clickExpecting clicks the element with the given id and waits for the
// page it leads to, which must answer status: a form refused with 422,
// say.
func (b *browser) clickExpecting(id string, status int) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(chromedp.ID(id)))
	require.NoError(b.t, err)
	require.NotNil(b.t, resp, "no page loaded")
	require.EqualValues(b.t, status, resp.Status, "%s answered %d %s", resp.URL, resp.Status, resp.StatusText)
}

// pageLayout is how the loaded page sits on the screen, measured in it.
type pageLayout struct {
	// InnerWidth is the viewport's width; ScrollWidth is the page's, which
	// exceeds it when the page scrolls sideways.
	InnerWidth  float64 `json:"innerWidth"`
	ScrollWidth float64 `json:"scrollWidth"`
	// Left and Right are the room between the screen's edges and the
	// nearest thing drawn on the page: a line of text, a control or image,
	// or a box with a background, border or shadow. LeftOf and RightOf
	// name what is nearest.
	Left    float64 `json:"left"`
	Right   float64 `json:"right"`
	LeftOf  string  `json:"leftOf"`
	RightOf string  `json:"rightOf"`
}

// measureLayout measures the page's sideways scrolling and how near to the
// screen's edges what it draws comes. Boxes that draw nothing, such as a
// wrapper with padding, are not counted: they may span the screen. Neither
// is the body's background, which is meant to.
func (b *browser) measureLayout() pageLayout {
	b.t.Helper()
	const js = `(() => {
		const describe = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
			(typeof el.className === "string" && el.className.trim() ? "." + el.className.trim().split(/\s+/).join(".") : "");
		const painted = el => {
			const cs = getComputedStyle(el);
			if (cs.visibility !== "visible") return false;
			const bg = cs.backgroundColor !== "rgba(0, 0, 0, 0)" && cs.backgroundColor !== "transparent";
			const border = ["Top", "Right", "Bottom", "Left"].some(side =>
				parseFloat(cs["border" + side + "Width"]) > 0 && cs["border" + side + "Style"] !== "none");
			return bg || border || cs.boxShadow !== "none" ||
				/^(input|button|select|textarea|img|svg|canvas|video)$/i.test(el.tagName);
		};
		const out = {innerWidth: window.innerWidth, scrollWidth: document.documentElement.scrollWidth,
			left: Infinity, right: Infinity, leftOf: "", rightOf: ""};
		const add = (r, what) => {
			if (r.width === 0 || r.height === 0) return;
			if (r.left < out.left) { out.left = r.left; out.leftOf = what; }
			if (window.innerWidth - r.right < out.right) { out.right = window.innerWidth - r.right; out.rightOf = what; }
		};
		const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_ELEMENT | NodeFilter.SHOW_TEXT);
		for (let n = walker.nextNode(); n; n = walker.nextNode()) {
			if (n.nodeType === Node.TEXT_NODE) {
				if (!n.textContent.trim()) continue;
				const range = document.createRange();
				range.selectNodeContents(n);
				for (const r of range.getClientRects()) add(r, "text of " + describe(n.parentElement));
			} else if (painted(n)) {
				add(n.getBoundingClientRect(), describe(n));
			}
		}
		return out;
	})()`
	l, err := chromedp.Run(b.ctx, chromedp.Evaluate[pageLayout](js))
	require.NoError(b.t, err)
	return l
}

// rect is an element's box on the screen.
type rect struct {
	Left  float64 `json:"left"`
	Right float64 `json:"right"`
}

// rectOf returns the box of the element matching the CSS selector.
func (b *browser) rectOf(sel string) rect {
	b.t.Helper()
	r, err := chromedp.Run(b.ctx, chromedp.Evaluate[rect](fmt.Sprintf(
		`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return {left: r.left, right: r.right}; })()`, sel)))
	require.NoError(b.t, err, "measuring %s", sel)
	return r
}

// requireFitsPhone checks the loaded page on a phone's screen: it does not
// scroll sideways, nothing in it comes nearer than minEdgeMargin to either
// edge, and the element matching the CSS selector, the page's form or
// main card, keeps at least that margin too.
func (b *browser) requireFitsPhone(sel string) {
	b.t.Helper()
	b.waitVisible(sel)
	l := b.measureLayout()
	where := b.location()
	require.EqualValues(b.t, phoneWidth, l.InnerWidth, "%s: the viewport is not a phone's; the page may have zoomed out to fit something wide", where)
	require.LessOrEqual(b.t, l.ScrollWidth, l.InnerWidth, "%s scrolls sideways: %v px wide on a %v px screen", where, l.ScrollWidth, l.InnerWidth)
	require.GreaterOrEqual(b.t, l.Left, float64(minEdgeMargin), "%s: %s is %v px from the left edge", where, l.LeftOf, l.Left)
	require.GreaterOrEqual(b.t, l.Right, float64(minEdgeMargin), "%s: %s is %v px from the right edge", where, l.RightOf, l.Right)
	r := b.rectOf(sel)
	require.GreaterOrEqual(b.t, r.Left, float64(minEdgeMargin), "%s: %s is %v px from the left edge", where, sel, r.Left)
	require.GreaterOrEqual(b.t, l.InnerWidth-r.Right, float64(minEdgeMargin), "%s: %s is %v px from the right edge", where, sel, l.InnerWidth-r.Right)
	b.t.Logf("%s on a %v px screen: %s is %v px from the edges; nearest the left, %s at %v px; nearest the right, %s at %v px",
		where, l.InnerWidth, sel, min(r.Left, l.InnerWidth-r.Right), l.LeftOf, l.Left, l.RightOf, l.Right)
}
