package benchmarks

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/alguna/alguna-go/benchmarks/internal/sink"
)

// seenRequest is a request as the server received it.
type seenRequest struct {
	method, uri string
	header      http.Header
	body        string
}

// recorder serves the Alguna sink in this process and keeps the last
// request it received.
type recorder struct {
	mu   sync.Mutex
	last *seenRequest
	next http.Handler
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	rc.last = &seenRequest{method: r.Method, uri: r.URL.RequestURI(), header: r.Header.Clone(), body: string(data)}
	rc.mu.Unlock()
	r.Body = io.NopCloser(strings.NewReader(string(data)))
	rc.next.ServeHTTP(w, r)
}

func (rc *recorder) take(t *testing.T) *seenRequest {
	t.Helper()
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.last == nil {
		t.Fatal("no request arrived")
	}
	r := rc.last
	rc.last = nil
	return r
}

// perCall are the values that differ from one call to the next by design:
// an event's uniqueId and timestamp.
var perCall = regexp.MustCompile(`"(uniqueId|timestamp)":"[^"]*"`)

// TestCallsSendTheSameRequest checks what the per-call comparison rests
// on: for every call, the SDK and the hand-written client send the same
// method, path, query, headers and body, and both accept the sink's
// answer. Idempotency-Keys are random on both sides, so they are compared
// by form; an event's uniqueId and timestamp likewise.
func TestCallsSendTheSameRequest(t *testing.T) {
	rec := &recorder{next: sink.Alguna()}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	c := newBenchClient(t, srv.URL, srv.Client())
	h := newHandClient(srv.URL, srv.Client())
	seen := map[string]bool{}
	for _, cc := range callCases {
		t.Run(cc.name, func(t *testing.T) {
			got, err := cc.sdk(ctx, c)
			if err != nil || got != cc.want {
				t.Fatalf("SDK: answer %q, %v; want %q", got, err, cc.want)
			}
			sdkReq := rec.take(t)
			got, err = cc.hand(ctx, h)
			if err != nil || got != cc.want {
				t.Fatalf("hand-written: answer %q, %v; want %q", got, err, cc.want)
			}
			handReq := rec.take(t)

			route := sdkReq.method + " " + strings.SplitN(sdkReq.uri, "?", 2)[0]
			if seen[route] {
				t.Errorf("%s is measured twice", route)
			}
			seen[route] = true
			if sdkReq.method != handReq.method || sdkReq.uri != handReq.uri {
				t.Errorf("SDK sent %s %s, hand-written %s %s", sdkReq.method, sdkReq.uri, handReq.method, handReq.uri)
			}
			if a, b := perCall.ReplaceAllString(sdkReq.body, `"$1":"…"`), perCall.ReplaceAllString(handReq.body, `"$1":"…"`); a != b {
				t.Errorf("bodies differ:\nSDK:          %s\nhand-written: %s", sdkReq.body, handReq.body)
			}
			for _, r := range []*seenRequest{sdkReq, handReq} {
				key := r.header.Get("Idempotency-Key")
				wantKey := (r.method == http.MethodPost || r.method == http.MethodPatch) && r.uri != "/events"
				if _, err := uuid.Parse(key); wantKey && err != nil {
					t.Errorf("Idempotency-Key %q is not a UUID", key)
				}
				if !wantKey && key != "" {
					t.Errorf("%s %s carries Idempotency-Key %q", r.method, r.uri, key)
				}
				r.header.Del("Idempotency-Key")
				if strings.Contains(r.body, `"uniqueId"`) {
					// Content-Length varies with the timestamp's digits.
					r.header.Del("Content-Length")
				}
			}
			if a, b := headerLines(sdkReq.header), headerLines(handReq.header); a != b {
				t.Errorf("headers differ:\nSDK:\n%s\nhand-written:\n%s", a, b)
			}
		})
	}
	if len(seen) != len(callCases) {
		t.Errorf("%d calls measured, %d distinct routes", len(callCases), len(seen))
	}
}

func headerLines(h http.Header) string {
	var b strings.Builder
	_ = h.Write(&b) // sorted by key
	return b.String()
}
