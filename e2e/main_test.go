package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const (
	// buildTimeout bounds compiling the example, which on a cold build cache
	// compiles the whole SDK.
	buildTimeout = 3 * time.Minute
	// startTimeout bounds the wait for the app to print its URLs.
	startTimeout = 30 * time.Second
	// stopTimeout bounds the app's graceful shutdown after SIGINT.
	stopTimeout = 20 * time.Second
	// artifactsDir receives screenshots and the app's log.
	artifactsDir = "artifacts"
)

// The suite's shared state, set up by TestMain.
var (
	// skipReason is why the browser tests cannot run here; empty when they
	// can.
	skipReason string
	// app is the running example.
	app *appProcess
	// browserCtx is the chromedp context of the one Chromium the tests share;
	// every test opens its own browser context in it.
	browserCtx context.Context
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) (code int) {
	chromium := os.Getenv("E2E_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	if _, err := os.Stat(chromium); err != nil {
		if ciSet() {
			fmt.Fprintf(os.Stderr, "e2e: Chromium is required when CI is set, but %s is missing (%v); install it with: apt-get install -y --no-install-recommends chromium\n", chromium, err)
			return 1
		}
		skipReason = fmt.Sprintf("Chromium not found at %s: install Debian's chromium package or set E2E_CHROMIUM (with CI set, this fails instead)", chromium)
		return m.Run()
	}

	// Screenshots and logs are this run's only.
	if err := os.RemoveAll(artifactsDir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	if err := os.MkdirAll(artifactsDir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	tmp, err := os.MkdirTemp("", "alguna-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer func() { _ = os.RemoveAll(tmp) }()

	bin := filepath.Join(tmp, "trial-to-upgrade")
	if err := buildExample(bin); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	app, err = startApp(bin, filepath.Join(artifactsDir, "app.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer func() {
		if err := app.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: the example did not stop cleanly on SIGINT: %v (its log: %s)\n", err, app.logPath)
			code = 1
		}
	}()

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true), // the tests run as root
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(filepath.Join(tmp, "chromium-profile")),
		chromedp.WindowSize(1000, 900),
	)
	defer cancelAlloc() // waits for Chromium to exit
	var cancelBrowser context.CancelFunc
	browserCtx, cancelBrowser = chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	// Start Chromium now, so that a browser that cannot start fails once,
	// clearly, rather than in every test.
	if err := chromedp.Do(browserCtx); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: starting %s: %v\n", chromium, err)
		return 1
	}

	return m.Run()
}

// ciSet reports whether the tests run in CI, where a missing browser is a
// failure rather than a reason to skip.
func ciSet() bool {
	v := strings.ToLower(os.Getenv("CI"))
	return v != "" && v != "0" && v != "false"
}

// requireBrowser skips the test when TestMain found no browser.
func requireBrowser(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// buildExample compiles examples/trial-to-upgrade to bin. The example is a
// package of the root module, so it is built from the repository's root,
// with the root module's own go.mod and go.sum.
func buildExample(bin string) error {
	root, err := filepath.Abs("..")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./examples/trial-to-upgrade")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the example: %w\n%s", err, out)
	}
	return nil
}

// appProcess is the example running with -serve: the app and, inside the
// same process, the fake Alguna it talks to.
type appProcess struct {
	// URL is where the browser reaches the app.
	URL string
	// FakeURL is the fake Alguna's address: its API and its hosted pages.
	FakeURL string
	// APIKey authenticates with the fake's API.
	APIKey string

	logPath string
	cmd     *exec.Cmd
	exited  chan error
}

// startApp runs bin with -serve on a free port and waits until it has printed
// the app's and the fake's URLs. Everything the process prints goes to
// logPath.
func startApp(bin, logPath string) (*appProcess, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	out := &lockedWriter{w: logFile}
	lines := &lineWatcher{out: out, lines: make(chan string, 16)}

	cmd := exec.Command(bin, "-serve", "-v", "-addr", "127.0.0.1:0")
	// Without ALGUNA_API_KEY and the rest, the example runs the fake: the
	// tests never reach a real Alguna from a developer's shell.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ALGUNA_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Stdout = lines
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		return nil, fmt.Errorf("starting the example: %w", err)
	}
	p := &appProcess{logPath: logPath, cmd: cmd, exited: make(chan error, 1)}
	go func() {
		err := cmd.Wait()
		_ = logFile.Close()
		p.exited <- err
	}()

	deadline := time.NewTimer(startTimeout)
	defer deadline.Stop()
	for p.URL == "" || p.FakeURL == "" || p.APIKey == "" {
		select {
		case line := <-lines.lines:
			if rest, ok := strings.CutPrefix(line, "app: "); ok {
				p.URL = firstField(rest)
			}
			if rest, ok := strings.CutPrefix(line, "fake Alguna: "); ok {
				p.FakeURL = firstField(rest)
				if _, key, ok := strings.Cut(rest, "API key "); ok {
					p.APIKey = firstField(key)
				}
			}
		case err := <-p.exited:
			return nil, fmt.Errorf("the example exited before printing its URLs: %w (its log: %s)", err, logPath)
		case <-deadline.C:
			_ = cmd.Process.Kill()
			return nil, fmt.Errorf("the example printed no URLs within %s (its log: %s)", startTimeout, logPath)
		}
	}
	return p, nil
}

// stop sends SIGINT, as Ctrl-C would, and returns the exit error: nil when
// the example shut down cleanly and exited 0.
func (p *appProcess) stop() error {
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		if errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("it exited during the tests: %w", <-p.exited)
		}
		return err
	}
	select {
	case err := <-p.exited:
		return err
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		return fmt.Errorf("still running %s after SIGINT, so killed: %w", stopTimeout, <-p.exited)
	}
}

func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// lineWatcher passes what a process prints on to out and sends every
// complete line to lines, dropping lines nobody reads.
type lineWatcher struct {
	out     io.Writer
	lines   chan string
	partial []byte
}

func (w *lineWatcher) Write(b []byte) (int, error) {
	w.partial = append(w.partial, b...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		select {
		case w.lines <- string(w.partial[:i]):
		default:
		}
		w.partial = w.partial[i+1:]
	}
	return w.out.Write(b)
}

// lockedWriter lets the process's stdout and stderr share one log file.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(b)
}
