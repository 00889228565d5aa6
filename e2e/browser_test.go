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
