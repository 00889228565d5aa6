package alguna

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jarcoal/httpmock"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

func TestNewClientErrors(t *testing.T) {
	tests := []struct {
		name string
		key  string
		opts []Option
		want string
	}{
		{"empty key", "", nil, "API key is empty"},
		{"blank key", " \t", nil, "API key is empty"},
		{"key with a line break", "sk_1\r\nX: y", nil, "line breaks"},
		{"base URL empty", testKey, []Option{WithBaseURL("")}, "WithBaseURL"},
		{"base URL without scheme", testKey, []Option{WithBaseURL("api.alguna.io")}, "not an http or https URL"},
		{"base URL not http", testKey, []Option{WithBaseURL("ftp://api.alguna.io")}, "not an http or https URL"},
		{"base URL without host", testKey, []Option{WithBaseURL("https://")}, "has no host"},
		{"base URL unparsable", testKey, []Option{WithBaseURL("http://[::1")}, "WithBaseURL"},
		{"base URL with query", testKey, []Option{WithBaseURL("https://api.alguna.io?x=1")}, "query or fragment"},
		{"checkout base URL not http", testKey, []Option{WithCheckoutBaseURL("billing.yourcompany.com")}, "WithCheckoutBaseURL"},
		{"negative retries", testKey, []Option{WithMaxRetries(-1)}, "must not be negative"},
		{"min wait over max wait", testKey, []Option{WithRetryWait(2*time.Second, time.Second)}, "exceeds the maximum"},
		{"negative min wait", testKey, []Option{WithRetryWait(-time.Second, time.Second)}, "must be positive"},
		{"zero max wait", testKey, []Option{WithRetryWait(0, 0)}, "must be positive"},
		{"zero min wait", testKey, []Option{WithRetryWait(0, time.Second)}, "must be positive"},
		{"nil HTTP client", testKey, []Option{WithHTTPClient(nil)}, "HTTP client is nil"},
		{"nil logger", testKey, []Option{WithLogger(nil)}, "logger is nil"},
		{"user agent with a line break", testKey, []Option{WithUserAgent("app\r\nX: y")}, "line breaks"},
		{"first bad option of several", testKey, []Option{WithMaxRetries(1), WithMaxRetries(-2), WithLogger(nil)}, "got -2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := NewClient(tt.key, tt.opts...)
			require.Error(t, err)
			require.Nil(t, c)
			require.Contains(t, err.Error(), tt.want)
			require.True(t, strings.HasPrefix(err.Error(), "alguna: "), err.Error())
		})
	}
}

func TestNewClientDefaults(t *testing.T) {
	c, err := NewClient(" "+testKey+" ", nil)
	require.NoError(t, err)
	require.Equal(t, "Bearer "+testKey, c.authorization())
	require.Equal(t, DefaultBaseURL, c.baseURL)
	require.Equal(t, defaultMaxRetries, c.retry.maxRetries)
	require.Equal(t, "alguna-go/"+Version, c.userAgent)
	require.NotSame(t, http.DefaultClient, c.httpClient)
	// The Batcher keeps four requests in flight to one host by default; the
	// pool must keep at least that many connections alive between them.
	tr, ok := c.httpClient.Transport.(*http.Transport)
	require.True(t, ok)
	require.NotSame(t, http.DefaultTransport, tr)
	require.GreaterOrEqual(t, tr.MaxIdleConnsPerHost, 4)
	require.NotNil(t, c.Accounts)
	require.NotNil(t, c.Credits)
	require.NotNil(t, c.Checkout)
	require.NotNil(t, c.Events)
	require.NotNil(t, c.Portal)
}

// A base URL with a path prefix keeps it, with or without a trailing slash.
func TestBaseURLWithPath(t *testing.T) {
	for _, base := range []string{testBase + "/v1", testBase + "/v1/"} {
		c, mock := newMockClient(t, WithBaseURL(base))
		rec := recordJSON(mock, http.StatusOK, guideAccountResponse)
		_, err := c.Accounts.Get(testCtx(t), "acc_abc123")
		require.NoError(t, err)
		require.Equal(t, "/v1/accounts/acc_abc123", rec.only(t).Path)
	}
}

func TestAPIErrors(t *testing.T) {
	sentinels := []error{ErrBadRequest, ErrUnauthorized, ErrNotFound, ErrConflict, ErrUnprocessable, ErrRateLimited, ErrServer}
	tests := []struct {
		name     string
		status   int
		header   http.Header
		body     string
		want     Error // Body is checked against body
		text     string
		sentinel error
	}{
		{
			name: "400 with the documented detail", status: 400,
			body:     `{"status": 400, "detail": "Validation failed: name is required"}`,
			want:     Error{StatusCode: 400, Message: "Validation failed: name is required"},
			text:     "alguna: 400 Bad Request: Validation failed: name is required",
			sentinel: ErrBadRequest,
		},
		{
			name: "401 with message and X-Request-Id", status: 401,
			header:   http.Header{"X-Request-Id": {"req_123"}},
			body:     `{"message": "invalid API key"}`,
			want:     Error{StatusCode: 401, Message: "invalid API key", RequestID: "req_123"},
			text:     "alguna: 401 Unauthorized: invalid API key [request req_123]",
			sentinel: ErrUnauthorized,
		},
		{
			name: "403 with an error string and Request-Id", status: 403,
			header:   http.Header{"Request-Id": {"req_456"}},
			body:     `{"error": "forbidden"}`,
			want:     Error{StatusCode: 403, Message: "forbidden", RequestID: "req_456"},
			text:     "alguna: 403 Forbidden: forbidden [request req_456]",
			sentinel: ErrUnauthorized,
		},
		{
			name: "404 with an error object", status: 404,
			body:     `{"error": {"message": "account not found", "code": "account_not_found"}}`,
			want:     Error{StatusCode: 404, Message: "account not found", Code: "account_not_found"},
			text:     "alguna: 404 Not Found: account not found (code account_not_found)",
			sentinel: ErrNotFound,
		},
		{
			name: "409 with a top-level code", status: 409,
			header:   http.Header{"X-Request-Id": {"req_a"}, "Request-Id": {"req_b"}},
			body:     `{"message": "request in progress", "code": "idempotency_conflict"}`,
			want:     Error{StatusCode: 409, Message: "request in progress", Code: "idempotency_conflict", RequestID: "req_a"},
			text:     "alguna: 409 Conflict: request in progress (code idempotency_conflict) [request req_a]",
			sentinel: ErrConflict,
		},
		{
			name: "422 with a numeric code", status: 422,
			body:     `{"detail": "amount must be positive", "code": 4221}`,
			want:     Error{StatusCode: 422, Message: "amount must be positive", Code: "4221"},
			text:     "alguna: 422 Unprocessable Entity: amount must be positive (code 4221)",
			sentinel: ErrUnprocessable,
		},
		{
			name: "429 with a plain-text body", status: 429,
			body:     "slow down\n",
			want:     Error{StatusCode: 429, Message: "slow down"},
			text:     "alguna: 429 Too Many Requests: slow down",
			sentinel: ErrRateLimited,
		},
		{
			name: "500 with no body", status: 500,
			want:     Error{StatusCode: 500},
			text:     "alguna: 500 Internal Server Error",
			sentinel: ErrServer,
		},
		{
			name: "501 is a server error", status: 501,
			body:     `{"detail": {"message": "not here"}}`,
			want:     Error{StatusCode: 501, Message: "not here"},
			text:     "alguna: 501 Not Implemented: not here",
			sentinel: ErrServer,
		},
		{
			name: "502 with a long HTML page keeps only the body", status: 502,
			body:     "<html>" + strings.Repeat("bad gateway ", 40) + "</html>",
			want:     Error{StatusCode: 502},
			text:     "alguna: 502 Bad Gateway",
			sentinel: ErrServer,
		},
		{
			name: "599 with an unknown shape", status: 599,
			body:     `{"oops": true}`,
			want:     Error{StatusCode: 599},
			text:     "alguna: 599",
			sentinel: ErrServer,
		},
		{
			name: "418 matches no sentinel", status: 418,
			body: `{"detail": "teapot"}`,
			want: Error{StatusCode: 418, Message: "teapot"},
			text: "alguna: 418 I'm a teapot: teapot",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, mock := newMockClient(t, WithMaxRetries(0))
			rec := record(mock, jsonResponder(tt.status, tt.body, tt.header))

			acc, err := c.Accounts.Get(testCtx(t), "acc_abc123")
			require.Nil(t, acc)
			var apiErr *Error
			require.ErrorAs(t, err, &apiErr)
			want := tt.want
			want.Method, want.Path = "GET", "/accounts/acc_abc123"
			require.Equal(t, "application/json", apiErr.Header.Get("Content-Type"), "the answer's headers are kept")
			for k, vs := range tt.header {
				require.Equal(t, vs, apiErr.Header[k])
			}
			want.Header = apiErr.Header
			want.Body = []byte(tt.body)
			if tt.body == "" {
				want.Body = []byte{}
			}
			require.Equal(t, &want, apiErr)
			require.Equal(t, strings.Replace(tt.text, "alguna: ", "alguna: GET /accounts/acc_abc123: ", 1), err.Error())
			for _, s := range sentinels {
				require.Equal(t, errors.Is(tt.sentinel, s), errors.Is(err, s), "errors.Is(err, %v)", s)
			}
			require.False(t, errors.Is(err, ErrInvalidResponse))
			require.Len(t, rec.requests(), 1)
		})
	}
}

func TestErrorTemporary(t *testing.T) {
	for code, want := range map[int]bool{400: false, 401: false, 404: false, 408: true, 409: true, 422: false, 429: true, 500: true, 501: false, 503: true} {
		require.Equal(t, want, (&Error{StatusCode: code}).Temporary(), "status %d", code)
	}
}

// A 2xx answer that is not what the call expects is an error wrapping
// ErrInvalidResponse, never a zero value.
func TestInvalidResponses(t *testing.T) {
	one := decimal.NewFromInt(1)
	type result struct {
		value any
		err   error
	}
	calls := map[string]func(ctx context.Context, c *Client) result{
		"create": func(ctx context.Context, c *Client) result {
			v, err := c.Accounts.Create(ctx, &AccountCreateParams{Name: "Acme"})
			return result{v, err}
		},
		"get": func(ctx context.Context, c *Client) result {
			v, err := c.Accounts.Get(ctx, "acc_1")
			return result{v, err}
		},
		"update": func(ctx context.Context, c *Client) result {
			v, err := c.Accounts.Update(ctx, "acc_1", &AccountUpdateParams{Name: String("x")})
			return result{v, err}
		},
		"lookup": func(ctx context.Context, c *Client) result {
			v, err := c.Accounts.Lookup(ctx, "crm-1")
			return result{v, err}
		},
		"list": func(ctx context.Context, c *Client) result {
			v, err := c.Accounts.List(ctx, nil)
			return result{v, err}
		},
		"grant": func(ctx context.Context, c *Client) result {
			v, err := c.Credits.Grant(ctx, "acc_1", &CreditGrantParams{CreditType: CreditTypeUnits, Amount: one})
			return result{v, err}
		},
		"balance": func(ctx context.Context, c *Client) result {
			v, err := c.Credits.Balance(ctx, "acc_1", CreditTypeUnits)
			return result{v, err}
		},
		"availability": func(ctx context.Context, c *Client) result {
			v, err := c.Credits.Availability(ctx, "acc_1", CreditTypeUnits, one)
			return result{v, err}
		},
		"checkout": func(ctx context.Context, c *Client) result {
			v, err := c.Checkout.CreateSession(ctx, &CheckoutSessionParams{AccountID: "acc_1"})
			return result{v, err}
		},
		"portal": func(ctx context.Context, c *Client) result {
			v, err := c.Portal.CreateSession(ctx, &PortalSessionParams{AccountID: "acc_1"})
			return result{v, err}
		},
		"ingest": func(ctx context.Context, c *Client) result {
			v, err := c.Events.Ingest(ctx, []Event{guideEvent()})
			// Ingest hands back what completed before the failure: nothing.
			if v != nil && len(v.Ingested) == 0 && len(v.Failed) == 0 {
				return result{nil, err}
			}
			return result{v, err}
		},
	}
	bodies := map[string]string{
		"not JSON":       `<html>ok</html>`,
		"empty":          ``,
		"JSON null":      `null`,
		"wrong type":     `[1, 2]`,
		"empty object":   `{}`,
		"foreign object": `{"status": "ok", "result": {"id": "x", "balance": "1", "available": true}}`,
		"wrong field types": `{"id": 1, "accountId": 2, "available": "yes", "balance": true, "url": 3,
			"sessionUrl": 4, "data": {}, "items": 5, "ingested": "x", "pageCount": "1"}`,
	}
	for callName, call := range calls {
		for bodyName, body := range bodies {
			t.Run(callName+"/"+bodyName, func(t *testing.T) {
				for _, status := range []int{http.StatusOK, http.StatusCreated} {
					c, mock := newMockClient(t)
					recordJSON(mock, status, body)
					res := call(testCtx(t), c)
					require.ErrorIs(t, res.err, ErrInvalidResponse)
					require.Contains(t, res.err.Error(), "unexpected response")
					var apiErr *Error
					require.False(t, errors.As(res.err, &apiErr))
					require.Zero(t, res.value)
				}
			})
		}
	}
}

// A 204 with no body is no answer at all for a call that expects one.
func TestNoContentAnswerIsInvalid(t *testing.T) {
	c, mock := newMockClient(t)
	recordJSON(mock, http.StatusNoContent, "")
	_, err := c.Portal.CreateSession(testCtx(t), &PortalSessionParams{AccountID: "acc_1"})
	require.ErrorIs(t, err, ErrInvalidResponse)
}

func TestValidationErrorText(t *testing.T) {
	err := error(&ValidationError{Problems: []string{"a is required", "b is bad"}})
	require.Equal(t, "alguna: invalid request: a is required; b is bad", err.Error())
}

func TestLoggerNeverSeesAPIKeyOnFailure(t *testing.T) {
	var buf syncBuffer
	c, mock := newMockClient(t, WithMaxRetries(0), WithLogger(slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	record(mock, jsonResponder(http.StatusUnauthorized, `{"detail": "bad key `+testKey+`"}`, http.Header{"X-Request-Id": {"req_9"}}))
	_, err := c.Accounts.Get(testCtx(t), "acc_1")
	require.ErrorIs(t, err, ErrUnauthorized)
	out := buf.String()
	require.Contains(t, out, `"msg":"alguna: request failed"`)
	require.Contains(t, out, `"status":401`)
	require.Contains(t, out, `"request_id":"req_9"`)
	require.NotContains(t, out, testKey)
}

// Answers are read into pooled buffers; an *Error must keep its body intact
// after later calls reuse them.
func TestErrorBodySurvivesLaterCalls(t *testing.T) {
	c, mock := newMockClient(t, WithMaxRetries(0))
	first := `{"status": 404, "detail": "account acc_1 not found"}`
	mock.RegisterResponder(http.MethodGet, testBase+"/accounts/acc_1", httpmock.NewStringResponder(404, first))
	mock.RegisterResponder(http.MethodGet, testBase+"/accounts/acc_2",
		httpmock.NewStringResponder(200, `{"id": "acc_2", "name": "`+strings.Repeat("x", len(first))+`"}`))
	_, err := c.Accounts.Get(testCtx(t), "acc_1")
	var apiErr *Error
	require.ErrorAs(t, err, &apiErr)
	for range 10 {
		_, err := c.Accounts.Get(testCtx(t), "acc_2")
		require.NoError(t, err)
	}
	require.Equal(t, first, string(apiErr.Body))
}

// A refusal of the request itself (a 404 from a lookup) is logged at Info:
// the caller handles it, and a sign-up looks up a new user's alias every
// time. A failure of the service, retries spent, is a Warn.
func TestFailureLogLevels(t *testing.T) {
	for _, tc := range []struct {
		status int
		level  string
	}{{404, "INFO"}, {422, "INFO"}, {401, "INFO"}, {503, "WARN"}, {429, "WARN"}} {
		var buf syncBuffer
		c, mock := newMockClient(t, WithMaxRetries(1), WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
		recordJSON(mock, tc.status, `{}`)
		_, err := c.Accounts.Get(testCtx(t), "acc_1")
		require.Error(t, err)
		var last map[string]any
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			require.NoError(t, json.Unmarshal([]byte(line), &last))
		}
		require.Equal(t, "alguna: request failed", last["msg"], "status %d", tc.status)
		require.Equal(t, tc.level, last["level"], "status %d", tc.status)
	}
}
