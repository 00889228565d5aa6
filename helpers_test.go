package alguna

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	testKey  = "sk_test_9f8e7d6c5b4a"
	testBase = "https://api.alguna.test"
)

// newMockClient returns a client whose requests go to an httpmock transport.
// Retry waits return at once, so retry tests never sleep.
func newMockClient(t *testing.T, opts ...Option) (*Client, *httpmock.MockTransport) {
	t.Helper()
	mock := httpmock.NewMockTransport()
	all := append([]Option{
		WithBaseURL(testBase),
		WithHTTPClient(&http.Client{Transport: mock}),
	}, opts...)
	c, err := NewClient(testKey, all...)
	require.NoError(t, err)
	c.retry.clock = &waits{}
	return c, mock
}

// recorded is one request as the transport saw it.
type recorded struct {
	Method   string
	Path     string // escaped, exactly as sent
	RawQuery string
	Header   http.Header
	Body     []byte
}

// recorder keeps every request that reaches the mock and answers them with
// its responders in turn, repeating the last one.
type recorder struct {
	mu         sync.Mutex
	reqs       []recorded
	responders []httpmock.Responder
}

// record registers a recorder as the mock's only responder.
func record(mock *httpmock.MockTransport, responders ...httpmock.Responder) *recorder {
	r := &recorder{responders: responders}
	mock.RegisterNoResponder(r.respond)
	return r
}

// recordJSON answers every request with status and body.
func recordJSON(mock *httpmock.MockTransport, status int, body string) *recorder {
	return record(mock, jsonResponder(status, body, nil))
}

func jsonResponder(status int, body string, header http.Header) httpmock.Responder {
	return func(*http.Request) (*http.Response, error) {
		resp := httpmock.NewStringResponse(status, body)
		resp.Header.Set("Content-Type", "application/json")
		for k, vs := range header {
			resp.Header[k] = vs
		}
		return resp, nil
	}
}

func (r *recorder) respond(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
	}
	r.mu.Lock()
	n := len(r.reqs)
	r.reqs = append(r.reqs, recorded{
		Method:   req.Method,
		Path:     req.URL.EscapedPath(),
		RawQuery: req.URL.RawQuery,
		Header:   req.Header.Clone(),
		Body:     body,
	})
	resp := r.responders[min(n, len(r.responders)-1)]
	r.mu.Unlock()
	return resp(req)
}

func (r *recorder) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.reqs...)
}

func (r *recorder) only(t *testing.T) recorded {
	t.Helper()
	reqs := r.requests()
	require.Len(t, reqs, 1, "requests sent")
	return reqs[0]
}

// requireHeaders checks the complete header set of an SDK request.
func requireHeaders(t *testing.T, req recorded, userAgent string) {
	t.Helper()
	want := []string{"Accept", "Authorization", "User-Agent"}
	hasBody := len(req.Body) > 0
	// Every write carries an idempotency key but POST /events, whose
	// events are idempotent by uniqueId.
	writes := (req.Method == http.MethodPost || req.Method == http.MethodPatch) && req.Path != "/events"
	if hasBody {
		want = append(want, "Content-Type")
	}
	if writes {
		want = append(want, "Idempotency-Key")
	}
	sort.Strings(want)
	var got []string
	for k := range req.Header {
		got = append(got, k)
	}
	sort.Strings(got)
	require.Equal(t, want, got, "header names")
	require.Equal(t, []string{"Bearer " + testKey}, req.Header.Values("Authorization"))
	require.Equal(t, []string{"application/json"}, req.Header.Values("Accept"))
	require.Equal(t, []string{userAgent}, req.Header.Values("User-Agent"))
	if hasBody {
		require.Equal(t, []string{"application/json"}, req.Header.Values("Content-Type"))
	}
	if writes {
		key := req.Header.Get("Idempotency-Key")
		require.NotEmpty(t, key)
		require.LessOrEqual(t, len(key), maxIdempotencyKey)
	}
	require.Empty(t, req.Header.Values("Alguna-Version"))
}

// closeTracker is a response body that reports whether it was closed.
type closeTracker struct {
	io.Reader
	mu     sync.Mutex
	closed bool
}

func newCloseTracker(s string) *closeTracker {
	return &closeTracker{Reader: bytes.NewReader([]byte(s))}
}

func (c *closeTracker) Close() error {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	return nil
}

func (c *closeTracker) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// syncBuffer is a bytes.Buffer safe for the concurrent writes of a logger.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func nan() float64 { return math.NaN() }
func inf() float64 { return math.Inf(1) }

// wireCase is one call, what it must put on the wire (method, escaped path,
// query, headers, exact JSON body) and how it must decode the answer.
type wireCase struct {
	name     string
	call     func(ctx context.Context, c *Client) (any, error)
	response string
	method   string
	path     string
	query    string // raw, exactly as go-querystring encodes it
	body     string // empty: no body
	want     any
}

func runWire(t *testing.T, tests []wireCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mock := newMockClient(t)
			rec := recordJSON(mock, http.StatusOK, tt.response)

			got, err := tt.call(testCtx(t), c)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)

			req := rec.only(t)
			require.Equal(t, tt.method, req.Method)
			require.Equal(t, tt.path, req.Path)
			require.Equal(t, tt.query, req.RawQuery)
			if tt.body == "" {
				require.Empty(t, req.Body)
			} else {
				require.JSONEq(t, tt.body, string(req.Body))
			}
			requireHeaders(t, req, "alguna-go/"+Version)
		})
	}
}

// validationCase is a call refused before sending, with the problems it
// must name, in order.
type validationCase struct {
	name string
	call func(ctx context.Context, c *Client) error
	want []string // substrings, one per expected problem, in order
}

func runValidation(t *testing.T, tests []validationCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mock := newMockClient(t)
			rec := recordJSON(mock, http.StatusOK, `{}`)

			err := tt.call(testCtx(t), c)
			var ve *ValidationError
			require.ErrorAs(t, err, &ve)
			require.Len(t, ve.Problems, len(tt.want), "problems: %q", ve.Problems)
			for i, want := range tt.want {
				require.Contains(t, ve.Problems[i], want)
			}
			require.True(t, strings.HasPrefix(err.Error(), "alguna: invalid request: "), err.Error())
			require.Empty(t, rec.requests(), "no request may be sent")
			require.Zero(t, mock.GetTotalCallCount())
		})
	}
}
