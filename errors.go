package alguna

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// Error is a non-2xx answer from the API, after any retries.
type Error struct {
	// Method and Path name the call that failed ("POST", "/accounts/acc_1"):
	// the concrete path, without its query string, which can hold an email
	// or an alias.
	Method string
	Path   string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Code is the machine-readable error code, when the API sends one.
	Code string
	// Message is the human-readable explanation, from the body's "detail",
	// "message" or "error".
	Message string
	// RequestID identifies the request in Alguna's logs; quote it to support.
	RequestID string
	// Body is the raw body of the answer, always kept.
	Body []byte
	// Header is the answer's headers (a 429's Retry-After, say).
	Header http.Header
}

// Error describes the failure: the call, its status, message, code and
// request id.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("alguna: ")
	if e.Method != "" {
		b.WriteString(e.Method)
		b.WriteString(" ")
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(strconv.Itoa(e.StatusCode))
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" ")
		b.WriteString(t)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Code != "" {
		b.WriteString(" (code ")
		b.WriteString(e.Code)
		b.WriteString(")")
	}
	if e.RequestID != "" {
		b.WriteString(" [request ")
		b.WriteString(e.RequestID)
		b.WriteString("]")
	}
	return b.String()
}

// Is lets errors.Is match an *Error against the sentinel of its status class,
// for example errors.Is(err, alguna.ErrNotFound).
func (e *Error) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.StatusCode == http.StatusBadRequest
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrConflict:
		return e.StatusCode == http.StatusConflict
	case ErrUnprocessable:
		return e.StatusCode == http.StatusUnprocessableEntity
	case ErrRateLimited:
		return e.StatusCode == http.StatusTooManyRequests
	case ErrServer:
		return e.StatusCode >= 500 && e.StatusCode <= 599
	}
	return false
}

// Retryable reports whether the SDK retries an answer of this status: 408,
// 409, 429 and 5xx other than 501. Repeating the same call later (with the
// same idempotency key) may succeed; other answers will not change.
func (e *Error) Retryable() bool { return retryableStatus(e.StatusCode) }

// Temporary is Retryable.
//
// Deprecated: use Retryable. Go retired the Temporary idiom (see
// net.Error); Temporary will be removed in a later release.
func (e *Error) Temporary() bool { return e.Retryable() }

// Sentinels that an *Error matches with errors.Is, by status.
var (
	ErrBadRequest      = errors.New("alguna: bad request")         // 400
	ErrUnauthorized    = errors.New("alguna: unauthorized")        // 401, 403
	ErrNotFound        = errors.New("alguna: not found")           // 404
	ErrConflict        = errors.New("alguna: conflict")            // 409
	ErrUnprocessable   = errors.New("alguna: unprocessable")       // 422
	ErrRateLimited     = errors.New("alguna: rate limited")        // 429
	ErrServer          = errors.New("alguna: server error")        // 5xx
	ErrInvalidResponse = errors.New("alguna: unexpected response") // a 2xx body that is not the expected JSON
)

// errNoClient is what a Client not made by NewClient answers.
var errNoClient = errors.New("alguna: the client was not created with NewClient; use alguna.NewClient")

// newError reads an answer the API refused with. body is the error's own
// copy.
func newError(c call, resp *http.Response, body []byte) *Error {
	e := &Error{Method: c.method, Path: c.path, StatusCode: resp.StatusCode, Body: body, Header: resp.Header.Clone()}
	e.RequestID = requestID(resp.Header)
	var fields struct {
		Detail  json.RawMessage `json:"detail"`
		Message json.RawMessage `json:"message"`
		Error   json.RawMessage `json:"error"`
		Code    json.RawMessage `json:"code"`
	}
	if json.Unmarshal(body, &fields) == nil {
		for _, raw := range []json.RawMessage{fields.Detail, fields.Message, fields.Error} {
			if msg, code := errorText(raw); msg != "" {
				e.Message = msg
				if e.Code == "" {
					e.Code = code
				}
				break
			}
		}
		if c := jsonScalar(fields.Code); c != "" {
			e.Code = c
		}
	}
	if e.Message == "" {
		if text := strings.TrimSpace(string(body)); text != "" && !bytes.HasPrefix(body, []byte("{")) && len(text) <= 200 {
			e.Message = text
		}
	}
	return e
}

// requestID is the answer's request id, under either of the names APIs
// use for it.
func requestID(h http.Header) string {
	if id := h.Get("X-Request-Id"); id != "" {
		return id
	}
	return h.Get("Request-Id")
}

// errorText reads a message out of a string, or out of an object such as
// {"message": "...", "code": "..."}.
func errorText(raw json.RawMessage) (msg, code string) {
	if s := jsonScalar(raw); s != "" {
		return s, ""
	}
	var obj struct {
		Message string          `json:"message"`
		Detail  string          `json:"detail"`
		Code    json.RawMessage `json:"code"`
	}
	if json.Unmarshal(raw, &obj) != nil {
		return "", ""
	}
	msg = obj.Message
	if msg == "" {
		msg = obj.Detail
	}
	return msg, jsonScalar(obj.Code)
}

// jsonScalar renders a JSON string or number as text.
func jsonScalar(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

// permanentError is a failure to reach the API that no retry can mend,
// such as a request the transport cannot send or a certificate that does
// not verify.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// ValidationError reports problems found before any request was sent: the
// call was not made.
type ValidationError struct {
	Problems []string
}

// Error lists every problem.
func (e *ValidationError) Error() string {
	return "alguna: invalid request: " + strings.Join(e.Problems, "; ")
}

// joinValidation merges the problems of several *ValidationErrors joined
// with errors.Join into one, so that the caller sees them all in one list.
func joinValidation(err error) error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return err
	}
	var all []string
	for _, e := range joined.Unwrap() {
		var ve *ValidationError
		if !errors.As(e, &ve) {
			return err
		}
		all = append(all, ve.Problems...)
	}
	return &ValidationError{Problems: all}
}

func invalid(problems ...string) error {
	return &ValidationError{Problems: problems}
}

// problems collects validation failures so a caller sees all of them at once.
type problems []string

func (p *problems) add(format string, args ...any) {
	*p = append(*p, fmt.Sprintf(format, args...))
}

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return &ValidationError{Problems: p}
}
