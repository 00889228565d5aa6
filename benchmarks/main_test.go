package benchmarks

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	"github.com/alguna/alguna-go/benchmarks/internal/sink"
)

// sinks are the servers every comparison sends to, in their own process.
var sinks *sink.Process

func TestMain(m *testing.M) {
	sink.Main() // serves and exits when this process is the sink
	var err error
	sinks, err = sink.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	if err := sinks.Stop(); err != nil && code == 0 {
		fmt.Fprintln(os.Stderr, "sink process:", err)
		code = 1
	}
	os.Exit(code)
}

// inFlight is the number of requests every client may have in flight at
// once: the Batcher's Concurrency, the wire-limit loop's goroutines, and,
// for posthog-go, whose concurrency cannot be configured, its transport's
// MaxConnsPerHost.
const inFlight = 4

// newTransport returns the transport each client gets, a fresh one per
// client and identical for all: keep-alive, at most inFlight connections,
// and room to keep them all idle, so that no client pays for reconnecting
// where another does not.
func newTransport() *http.Transport {
	return &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        inFlight,
		MaxIdleConnsPerHost: inFlight,
		MaxConnsPerHost:     inFlight,
		IdleConnTimeout:     90 * time.Second,
	}
}

// readSink reads a sink's counters or fails the benchmark.
func readSink(b *testing.B, baseURL string) sink.Stats {
	b.Helper()
	s, err := sink.Read(b.Context(), baseURL)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// heapPeak samples the bytes held by heap objects (live and not yet swept)
// every millisecond until stopped, and reports the largest value seen.
type heapPeak struct {
	stop chan struct{}
	done sync.WaitGroup
	peak uint64
}

const heapMetric = "/memory/classes/heap/objects:bytes"

func startHeapPeak() *heapPeak {
	runtime.GC()
	h := &heapPeak{stop: make(chan struct{})}
	h.done.Add(1)
	go func() {
		defer h.done.Done()
		s := []metrics.Sample{{Name: heapMetric}}
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			h.peak = max(h.peak, s[0].Value.Uint64())
			select {
			case <-t.C:
			case <-h.stop:
				metrics.Read(s)
				h.peak = max(h.peak, s[0].Value.Uint64())
				return
			}
		}
	}()
	return h
}

// Stop ends sampling and returns the peak in bytes.
func (h *heapPeak) Stop() uint64 {
	close(h.stop)
	h.done.Wait()
	return h.peak
}
