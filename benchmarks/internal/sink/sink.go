// Package sink holds the minimal local servers the comparisons send to: one
// that speaks Alguna's API (POST /events for batching, and every call of
// the SDK for the per-call comparison) and one that speaks PostHog's
// capture API (POST /batch/). Each decodes every request body
// fully into typed structs, counts what it received, and answers its own
// protocol's success, so that every client pays a comparable server cost.
//
// The sinks run in a separate process (see Start), so that the allocations,
// heap and CPU profile measured in the benchmark process are the client's
// alone.
package sink

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// EnvVar is the environment variable that, set to "1", makes Main serve the
// sinks instead of returning.
const EnvVar = "ALGUNA_BENCH_SINK"

// statsPath answers a sink's counters as JSON. It is outside both protocols'
// paths.
const statsPath = "/__stats"

// Stats counts what one sink received and accepted.
type Stats struct {
	// Requests is every request the sink answered with success.
	Requests int64 `json:"requests"`
	// Events is every event decoded from those requests.
	Events int64 `json:"events"`
	// Bytes is the request bodies' size as sent on the wire.
	Bytes int64 `json:"bytes"`
	// CPU is the user and system CPU time the whole sink process has used.
	CPU time.Duration `json:"cpu_ns"`
}

// Sub returns s minus before, the traffic of one measurement.
func (s Stats) Sub(before Stats) Stats {
	return Stats{
		Requests: s.Requests - before.Requests, Events: s.Events - before.Events,
		Bytes: s.Bytes - before.Bytes, CPU: s.CPU - before.CPU,
	}
}

// ProcessCPU returns the user and system CPU time this process has used.
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type counters struct {
	requests, events, bytes atomic.Int64
}

func (c *counters) add(events int, bytes int64) {
	c.requests.Add(1)
	c.events.Add(int64(events))
	c.bytes.Add(bytes)
}

func (c *counters) serveStats(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(Stats{
		Requests: c.requests.Load(), Events: c.events.Load(), Bytes: c.bytes.Load(), CPU: ProcessCPU(),
	})
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// body returns the request body, decompressed when the client gzipped it,
// and a counter of its size on the wire. Neither client compresses in the
// versions compared, but a sink that could not read gzip would make a
// configuration change look like a failure.
func body(r *http.Request) (io.Reader, *countingReader, error) {
	cr := &countingReader{r: r.Body}
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(cr)
		if err != nil {
			return nil, nil, err
		}
		return zr, cr, nil
	}
	return cr, cr, nil
}

// algunaEvent is an event as POST /events carries it.
type algunaEvent struct {
	UniqueID   string         `json:"uniqueId"`
	Account    string         `json:"account"`
	EventName  string         `json:"eventName"`
	Timestamp  time.Time      `json:"timestamp"`
	Properties map[string]any `json:"properties"`
}

type accountParams struct {
	Name  string `json:"name"`
	Email string `json:"email"`
	Alias string `json:"alias"`
}

type account struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email,omitempty"`
	Alias     string    `json:"alias,omitempty"`
	Currency  string    `json:"currency"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Alguna returns the handler of the Alguna sink: POST /events decodes the
// array of events and answers with every uniqueId ingested; POST /accounts
// decodes the parameters and answers 201 with the new account; every other
// call of the SDK is answered as api.go describes.
func Alguna() http.Handler {
	var c counters
	var accounts atomic.Int64
	created := time.Date(2025, 3, 9, 15, 3, 17, 0, time.UTC)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /events", func(w http.ResponseWriter, r *http.Request) {
		in, cr, err := body(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var events []algunaEvent
		if err := json.NewDecoder(in).Decode(&events); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		ids := make([]string, len(events))
		for i, e := range events {
			if e.UniqueID == "" || e.Account == "" || e.EventName == "" || e.Timestamp.IsZero() {
				http.Error(w, fmt.Sprintf("event %d is incomplete", i), http.StatusUnprocessableEntity)
				return
			}
			ids[i] = e.UniqueID
		}
		c.add(len(events), cr.n)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(struct {
			Ingested []string `json:"ingested"`
			Failed   []string `json:"failed"`
		}{ids, []string{}})
	})
	mux.HandleFunc("POST /accounts", c.api(true, func(_ *http.Request, body []byte) (int, any) {
		var p accountParams
		if err := decodeBody(body, &p); err != nil {
			return refuse(http.StatusBadRequest, "body: %v", err)
		}
		if p.Name == "" {
			return refuse(http.StatusBadRequest, "Validation failed: name is required")
		}
		n := accounts.Add(1)
		return http.StatusCreated, account{
			ID: fmt.Sprintf("acc_%08d", n), Name: p.Name, Email: p.Email, Alias: p.Alias,
			Currency: "USD", CreatedAt: created, UpdatedAt: created,
		}
	}))
	registerAPI(mux, &c)
	mux.HandleFunc("GET "+statsPath, func(w http.ResponseWriter, _ *http.Request) { c.serveStats(w) })
	return mux
}

// posthogMessage is one message of PostHog's /batch/ body.
type posthogMessage struct {
	Type             string         `json:"type"`
	UUID             string         `json:"uuid"`
	Library          string         `json:"library"`
	LibraryVersion   string         `json:"library_version"`
	Timestamp        time.Time      `json:"timestamp"`
	DistinctID       string         `json:"distinct_id"`
	Event            string         `json:"event"`
	Properties       map[string]any `json:"properties"`
	SendFeatureFlags bool           `json:"send_feature_flags"`
}

// PostHog returns the handler of the PostHog sink: POST /batch/ decodes the
// body and answers 200 {"status":1}, which is all posthog-go reads.
func PostHog() http.Handler {
	var c counters
	mux := http.NewServeMux()
	mux.HandleFunc("POST /batch/", func(w http.ResponseWriter, r *http.Request) {
		in, cr, err := body(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var b struct {
			APIKey string           `json:"api_key"`
			Batch  []posthogMessage `json:"batch"`
		}
		if err := json.NewDecoder(in).Decode(&b); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for i, m := range b.Batch {
			if m.Event == "" || m.DistinctID == "" || m.Timestamp.IsZero() {
				http.Error(w, fmt.Sprintf("message %d is incomplete", i), http.StatusBadRequest)
				return
			}
		}
		c.add(len(b.Batch), cr.n)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":1}`)
	})
	mux.HandleFunc("GET "+statsPath, func(w http.ResponseWriter, _ *http.Request) { c.serveStats(w) })
	return mux
}

// Addrs are the base URLs of a running pair of sinks.
type Addrs struct {
	Alguna  string `json:"alguna"`
	PostHog string `json:"posthog"`
}

// Main serves the sinks when EnvVar is "1": it prints their Addrs as one
// JSON line on stdout, serves until stdin closes (the parent exited or is
// done), and exits. Otherwise it returns at once. Call it first in TestMain.
func Main() {
	if os.Getenv(EnvVar) != "1" {
		return
	}
	a := httptest.NewServer(Alguna())
	p := httptest.NewServer(PostHog())
	if err := json.NewEncoder(os.Stdout).Encode(Addrs{Alguna: a.URL, PostHog: p.URL}); err != nil {
		os.Exit(1)
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	a.Close()
	p.Close()
	os.Exit(0)
}

// Process is a running sink process.
type Process struct {
	Addrs
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// Start runs the current executable as a sink process (it must call Main
// first thing) and waits for its addresses.
func Start() (*Process, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe) //nolint:gosec,noctx // G204: this very executable; Stop ends it
	cmd.Env = append(os.Environ(), EnvVar+"=1")
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err == nil {
		err = json.Unmarshal(line, &p.Addrs)
	}
	if err == nil && (p.Alguna == "" || p.PostHog == "") {
		err = errors.New("sink process sent no addresses")
	}
	if err != nil {
		_ = p.Stop()
		return nil, fmt.Errorf("starting sink process: %w", err)
	}
	return p, nil
}

// Stop ends the sink process and waits for it.
func (p *Process) Stop() error {
	_ = p.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		return <-done
	}
}

// Read fetches the counters of the sink at baseURL.
func Read(ctx context.Context, baseURL string) (Stats, error) {
	var s Stats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, baseURL+statsPath, nil)
	if err != nil {
		return s, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return s, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("sink stats: %s", resp.Status)
	}
	err = json.NewDecoder(resp.Body).Decode(&s)
	return s, err
}
